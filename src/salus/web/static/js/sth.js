// Signed tree heads (RFC 9162 section 4.10, Salus's form: salus.ledger.log.sth): Ed25519
// over the RFC 8785 JSON of {chain_id, root_hash (hex), timestamp, tree_size}, checked
// against the did:key the reader trusts, never one the node names for itself.
import canonicalize from "canonicalize";
import { base64 } from "@scure/base";

import { verifySignature } from "./keys.js";

export class STHError extends Error {
  constructor(message) {
    super(message);
    this.name = "STHError";
  }
}

export function signedBytes({ chain_id, tree_size, root_hash, timestamp }) {
  return new TextEncoder().encode(canonicalize({ chain_id, root_hash, timestamp, tree_size }));
}

export async function verifySth(sth, signerDid, chainId = undefined) {
  if (chainId !== undefined && sth.chain_id !== chainId) {
    throw new STHError(`the tree head is for chain ${sth.chain_id}, not ${chainId}`);
  }
  if (!Number.isSafeInteger(sth.tree_size) || !Number.isSafeInteger(sth.timestamp) ||
      typeof sth.root_hash !== "string" || typeof sth.chain_id !== "string") {
    throw new STHError("the tree head is malformed");
  }
  let valid;
  try {
    valid = await verifySignature(signerDid, base64.decode(sth.signature), signedBytes(sth));
  } catch (e) {
    throw new STHError(`cannot check the signature: ${e.message}`);
  }
  if (!valid) {
    throw new STHError("tree head signature does not verify under the given key");
  }
}
