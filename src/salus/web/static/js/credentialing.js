// The credentialing office's side of the flow, made in the browser exactly as
// salus.credentials.credentialing makes it: request_dossier's request (a fresh challenge
// for the office's domain), and assess's report on the node's verification of the
// physician's answer, signed here by the office's key (eddsa-jcs-2022).
import { base64urlnopad, hex } from "@scure/base";
import { addProof, jcsSha256 } from "./data_integrity.js";
import { checkRequest, REQUEST_TYPE, RequestError } from "./presentation.js";

export const REPORT_TYPE = "SalusCredentialingReport";
// The label the CLI's `salus credentialing verify --anchor` gives the report's anchor.
export const ANCHOR_LABEL = "credentialing-report";

// salus.credentials.types.TYPES, in its order (no route serves them; tests/test_web_office.py
// checks the two lists agree).
export const KNOWN_TYPES = [
  "DegreeCredential", "LicenseCredential", "BoardCertificationCredential", "CMECredential",
  "ProcedureLogCredential", "EPAAssessmentCredential", "MalpracticeHistoryCredential",
  "HospitalPrivilegesCredential",
];

// Python's sorted(set(...)) of strings; the type names are ASCII, where JavaScript's
// default order (UTF-16 code units) is Python's (code points).
const sortedSet = (values) => [...new Set(values)].sort();

// request_dossier: what the office sends the physician, as `did` (the office's key).
export function requestDossier(did, domain, types, created = new Date().toISOString()) {
  const unknown = sortedSet(types.filter((t) => !KNOWN_TYPES.includes(t)));
  if (unknown.length || types.length === 0) {
    throw new RequestError(`request known credential types (${sortedSet(KNOWN_TYPES).join(", ")})`
                           + (unknown.length ? `; unknown: ${unknown.join(", ")}` : ""));
  }
  if (!domain) throw new RequestError("a request names the office's domain");
  // secrets.token_urlsafe(24): 24 random bytes, base64url without padding.
  const challenge = base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(24)));
  return { type: REQUEST_TYPE, id: `urn:uuid:${crypto.randomUUID()}`, challenge, domain,
           types: sortedSet(types), requester: did, created };
}

// assess's first checks: a well-formed request this office's key made (another office's
// request is refused: its challenge was not this office's to judge with).
export function ownRequest(request, did) {
  checkRequest(request);
  if (request.requester !== did) {
    throw new RequestError("this request was made by another office's key");
  }
  return request;
}

// assess's report on `result` (the node's verification of the presentation against the
// request's challenge and domain), signed by `key` ({did, privateKey}).
export async function assess(request, result, key, now = new Date().toISOString()) {
  ownRequest(request, key.did);
  const verified = new Set((result.dossier?.credentials ?? []).filter((c) => c.ok).map((c) => c.type));
  const missing = sortedSet(request.types.filter((t) => !verified.has(t)));
  const report = { type: REPORT_TYPE, id: `urn:uuid:${crypto.randomUUID()}`,
                   request: request.id, requested_types: request.types, holder: result.holder,
                   complete: result.ok === true && missing.length === 0, missing_types: missing,
                   verified_at: now, presentation: result };
  return addProof(report, key, { created: now });
}

// What `--anchor` puts on the ledger: SHA-256 of the signed report's JCS bytes, in hex.
export const reportHash = async (report) => hex.encode(await jcsSha256(report));
