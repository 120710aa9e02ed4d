// JSON documents a person hands the credentials page (a credential, a presentation, a
// request): read from a file or the paste box, no larger than the node reads, and kept
// as the text written, so the node reads the bytes as written (strictly: duplicate keys,
// numbers), not JavaScript's reading of them.
import { ApiError, request } from "./api.js";

// salus.credentials.routes.MAX_BODY: the node reads no larger verification request.
export const MAX_BODY = 2 * 1024 * 1024;


// {name, text, doc}: the text, and what it parses to.
export function parse(name, text) {
  if (text.length > MAX_BODY) {
    throw new ApiError("TOO_LARGE", `${name} is larger than the ${MAX_BODY} bytes the node verifies`);
  }
  try {
    return { name, text, doc: JSON.parse(text) };
  } catch (e) {
    throw new ApiError("INVALID_JSON", `${name} is not JSON (${e.message})`);
  }
}

export async function readFile(file) {
  if (file.size > MAX_BODY) {
    throw new ApiError("TOO_LARGE", `${file.name} is ${file.size} bytes; the node verifies at most ${MAX_BODY}`);
  }
  return parse(file.name, await file.text());
}

// POST a JSON body (already text) to a public route.
export const post = (path, body) => request(path, { method: "POST", body,
                                                    headers: { "content-type": "application/json" } });
