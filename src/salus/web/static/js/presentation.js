// A holder's answer to a credentialing request, made in the browser as the Python wallet
// makes it (salus.credentials.wallet.Wallet.respond, presentation.present): a
// VerifiablePresentation of the credentials the holder chose, signed by the holder's key
// (proof purpose authentication) over the request's challenge and domain.
import { addProof, ProofError } from "./data_integrity.js";

export const VC_CONTEXT = "https://www.w3.org/ns/credentials/v2";
export const PRESENTATION_TYPE = "VerifiablePresentation";
export const REQUEST_TYPE = "SalusDossierRequest";  // salus.credentials.credentialing
export const MAX_CREDENTIALS = 500;  // salus.credentials.presentation.MAX_CREDENTIALS

export class RequestError extends Error {
  constructor(message) {
    super(message);
    this.name = "RequestError";
  }
}

// salus.credentials.credentialing.check_request: the request, or RequestError.
export function checkRequest(request) {
  const text = (k) => typeof request?.[k] === "string" && request[k] !== "";
  if (request === null || typeof request !== "object" || request.type !== REQUEST_TYPE ||
      !["challenge", "domain", "requester", "id"].every(text) ||
      !Array.isArray(request.types) || request.types.length === 0 ||
      !request.types.every((t) => typeof t === "string")) {
    throw new RequestError(`not a ${REQUEST_TYPE} (id, challenge, domain, types, requester)`);
  }
  return request;
}

// The credential's type past VerifiableCredential (the wallet's `type[1]`).
export const credentialType = (credential) =>
  Array.isArray(credential?.type) ? credential.type[1] ?? null : null;

// A presentation of `credentials` by `key` ({did, privateKey}) for one verifier.
export async function present(credentials, key, { challenge, domain, created }) {
  if (!challenge || !domain) {
    throw new ProofError("a presentation is made for a verifier's challenge and domain");
  }
  if (credentials.length === 0 || credentials.length > MAX_CREDENTIALS) {
    throw new ProofError(`choose 1 to ${MAX_CREDENTIALS} credentials to present`);
  }
  const strangers = credentials.filter((c) => c?.credentialSubject?.id !== key.did);
  if (strangers.length) {
    throw new ProofError(`${strangers.length} of the chosen credentials are not about ${key.did}`);
  }
  const doc = { "@context": [VC_CONTEXT], type: [PRESENTATION_TYPE], holder: key.did,
                verifiableCredential: credentials };
  return addProof(doc, key, { created, proofPurpose: "authentication", challenge, domain });
}

// A request's answer: the chosen credentials (by id) out of `held`.
export function respond(request, held, chosenIds, key, created = new Date().toISOString()) {
  const req = checkRequest(request);
  const chosen = held.filter((c) => chosenIds.includes(c.id));
  return present(chosen, key, { challenge: req.challenge, domain: req.domain, created });
}
