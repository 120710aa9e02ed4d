// The signed transaction envelope, byte for byte as salus.ledger.transaction builds it:
// signature (64 bytes, Ed25519) || payload, where payload is the RFC 8785 canonical JSON
// of {"v": 1, chain, contract, method, args, signer, nonce, time}.
import canonicalize from "canonicalize";

export const ENVELOPE_VERSION = 1;

export function payload({ chain, contract, method, args, signer, nonce, time }) {
  for (const [name, value] of Object.entries({ nonce, time })) {
    // Past 2^53 a JavaScript number is no longer the integer it was meant to be.
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative integer below 2^53`);
    }
  }
  const envelope = { v: ENVELOPE_VERSION, chain, contract, method, args, signer, nonce, time };
  return new TextEncoder().encode(canonicalize(envelope));
}

// Sign with a member key from keys.js; returns the wire bytes POST /v1/tx takes (base64).
export async function signTransaction(key, fields) {
  const body = payload({ ...fields, signer: key.did });
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, body));
  const wire = new Uint8Array(signature.length + body.length);
  wire.set(signature);
  wire.set(body, signature.length);
  return wire;
}
