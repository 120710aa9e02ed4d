// A block as the explorer shows it, checked in the browser: its header hashes to the
// block's hash (SHA-256 of the header's RFC 8785 bytes, salus.ledger.block), the trusted
// signer signed those bytes, and the transactions listed are the ones the header commits
// to (their leaf hashes' RFC 9162 root is the header's tx_root).
import canonicalize from "canonicalize";
import { base64, hex } from "@scure/base";

import { verifySignature } from "./keys.js";
import { fromHex, merkleRoot } from "./merkle.js";

export class BlockError extends Error {
  constructor(message) {
    super(message);
    this.name = "BlockError";
  }
}

export async function verifyBlock(block, signerDid) {
  const header = block?.header;
  if (!header || typeof header !== "object" || !Array.isArray(block.txs)) {
    throw new BlockError("the block is malformed");
  }
  const bytes = new TextEncoder().encode(canonicalize(header));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  if (hex.encode(digest) !== block.hash) throw new BlockError("the header does not hash to the block's hash");
  let valid;
  try {
    valid = await verifySignature(signerDid, base64.decode(block.signature), bytes);
  } catch (e) {
    throw new BlockError(`cannot check the signature: ${e.message}`);
  }
  if (!valid) throw new BlockError("the block's signature does not verify under the trusted signer");
  if (header.tx_count !== block.txs.length) {
    throw new BlockError(`the header counts ${header.tx_count} transactions, the block lists ${block.txs.length}`);
  }
  let root;
  try {
    root = await merkleRoot(block.txs.map((t) => fromHex(t.tx_id)));
  } catch (e) {
    throw new BlockError(`a transaction id is malformed: ${e.message}`);
  }
  if (hex.encode(root) !== header.tx_root) {
    throw new BlockError("the transactions listed are not the ones the header commits to");
  }
}
