// Data Integrity proofs, cryptosuite eddsa-jcs-2022 (W3C vc-di-eddsa v1.0, section 3.3),
// made in the browser exactly as salus.credentials.data_integrity.add_proof makes them:
// Ed25519 over SHA-256(JCS(proof options)) || SHA-256(JCS(document)), the signature as a
// multibase base58btc proofValue. The key is a WebCrypto key (keys.js): it never leaves.
import canonicalize from "canonicalize";
import { base58 } from "@scure/base";

export const PROOF_TYPE = "DataIntegrityProof";
export const CRYPTOSUITE = "eddsa-jcs-2022";
// salus.canonical.MAX_DEPTH: the nodes read nothing nested deeper.
const MAX_DEPTH = 64;

export class ProofError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProofError";
  }
}

// The verification method of a did:key: the did, then its key as the fragment.
export const verificationMethod = (did) => `${did}#${did.slice("did:key:".length)}`;

// What a proof signs must read back as the same JSON in Python: no numbers JavaScript
// cannot hold exactly (Salus's JSON has integers only), no lone surrogates, no deeper
// nesting than the nodes read. Anything else would be signed as other bytes than meant.
export function assertFaithful(value, depth = 0) {
  if (depth > MAX_DEPTH) throw new ProofError(`nested deeper than ${MAX_DEPTH} levels`);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new ProofError(`${value} is not an integer JavaScript holds exactly`);
    }
  } else if (typeof value === "string") {
    if (!value.isWellFormed()) throw new ProofError("a string holds a lone surrogate");
  } else if (Array.isArray(value)) {
    for (const v of value) assertFaithful(v, depth + 1);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      assertFaithful(k, depth + 1);
      assertFaithful(v, depth + 1);
    }
  } else if (typeof value !== "boolean" && value !== null) {
    throw new ProofError(`a ${typeof value} is not JSON`);
  }
}

// SHA-256 of a JSON value's JCS (RFC 8785) bytes.
export const jcsSha256 = async (value) => new Uint8Array(
  await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalize(value))));

// Sections 3.3.4-3.3.5: the proof configuration's hash, then the document's.
export async function hashData(options, document) {
  assertFaithful(options);
  assertFaithful(document);
  const data = new Uint8Array(64);
  data.set(await jcsSha256(options));
  data.set(await jcsSha256(document), 32);
  return data;
}

// Section 3.3.1 (Create Proof): a copy of `document` with an eddsa-jcs-2022 proof by
// `key` ({did, privateKey}). `created` is an ISO 8601 time, as the Python side writes it.
export async function addProof(document, key, { created, proofPurpose = "assertionMethod",
                                                 challenge, domain } = {}) {
  if ("proof" in document) throw new ProofError("the document already carries a proof");
  if (typeof created !== "string") throw new ProofError("a proof needs its creation time");
  const options = { type: PROOF_TYPE, cryptosuite: CRYPTOSUITE, created,
                    verificationMethod: verificationMethod(key.did), proofPurpose };
  if (challenge !== undefined) options.challenge = challenge;
  if (domain !== undefined) options.domain = domain;
  if ("@context" in document) options["@context"] = document["@context"];  // 3.3.1 step 2
  const signature = new Uint8Array(await crypto.subtle.sign(
    "Ed25519", key.privateKey, await hashData(options, document)));
  return { ...document, proof: { ...options, proofValue: `z${base58.encode(signature)}` } };
}
