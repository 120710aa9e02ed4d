// Talking to the node: one error type for every refusal, whichever shape the node gave it
// ({"error": {code, reason}}, a FHIR OperationOutcome from the records routes, or an
// RFC 7807 problem with Salus's `code` from the EPCIS routes).

export class ApiError extends Error {
  constructor(code, reason, status = 0) {
    super(`${code}: ${reason}`);
    this.name = "ApiError";
    this.code = code;
    this.reason = reason;
    this.status = status;
  }
}

export async function errorOf(response) {
  const body = await response.json().catch(() => null);
  if (body?.resourceType === "OperationOutcome") {
    const text = (body.issue ?? []).map((i) => i.diagnostics ?? i.code).join("; ");
    const code = /^([A-Z_]+):/.exec(text)?.[1] ?? "FHIR_ERROR";
    return new ApiError(code, text.replace(/^[A-Z_]+: /, ""), response.status);
  }
  if (body?.error?.code) return new ApiError(body.error.code, body.error.reason, response.status);
  if (typeof body?.code === "string" && "detail" in body) {
    const reasons = [body.detail, ...(Array.isArray(body.errors) ? body.errors : [])];
    return new ApiError(body.code, reasons.map(String).join("; "), response.status);
  }
  return new ApiError("HTTP_ERROR", response.statusText || "no answer", response.status);
}

// A JSON request to the node; `init` as fetch's. Throws ApiError on any failure.
export async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { accept: "application/json",
                                                      ...(init.headers ?? {}) } });
  } catch (e) {
    throw new ApiError("UNREACHABLE", `cannot reach the node (${e.message})`);
  }
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

// A path with its query: undefined and null values are left out.
export function withQuery(path, params = {}) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(name, String(v));
  }
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}
