// Member keys in the browser: a Salus key file's Ed25519 seed becomes a WebCrypto key
// that cannot be exported again, and a public key its did:key.
import { base58, base64, base64urlnopad } from "@scure/base";

// did:key for Ed25519: multibase base58btc ("z") of the multicodec 0xed 0x01 and the key.
const ED25519_PUB = Uint8Array.of(0xed, 0x01);
// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): what WebCrypto imports.
const PKCS8_ED25519 = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);

export const KEY_FILE_TYPE = "salus-key/1"; // salus.identity.keys.KEY_FILE_TYPE

export class KeyFileError extends Error {
  constructor(message) {
    super(message);
    this.name = "KeyFileError";
  }
}

export function didFromPublicKey(raw) {
  if (raw.length !== 32) throw new KeyFileError("an Ed25519 public key is 32 bytes");
  const bytes = new Uint8Array(34);
  bytes.set(ED25519_PUB);
  bytes.set(raw, 2);
  return `did:key:z${base58.encode(bytes)}`;
}

// The Ed25519 public key a did:key names; KeyFileError if it names none.
export function publicKeyFromDid(did) {
  if (typeof did !== "string" || !did.startsWith("did:key:z")) {
    throw new KeyFileError("not an Ed25519 did:key");
  }
  let bytes;
  try {
    bytes = base58.decode(did.slice("did:key:z".length));
  } catch {
    throw new KeyFileError("the did:key is not base58btc");
  }
  if (bytes.length !== 34 || bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1]) {
    throw new KeyFileError("not an Ed25519 did:key");
  }
  return bytes.slice(2);
}

// A key file (`salus keys new`) → {did, privateKey}: the private key is not extractable.
// The did is derived from the seed and must equal the file's, else the file is refused.
export async function importKeyFile(doc) {
  if (doc === null || typeof doc !== "object" || doc.type !== KEY_FILE_TYPE) {
    throw new KeyFileError(`not a Salus key file (expected type ${KEY_FILE_TYPE})`);
  }
  let seed;
  try {
    seed = base64.decode(doc.ed25519_seed);
  } catch {
    throw new KeyFileError("the key file has no valid ed25519_seed");
  }
  if (seed.length !== 32) throw new KeyFileError("ed25519_seed must be 32 bytes");
  const pkcs8 = new Uint8Array(PKCS8_ED25519.length + 32);
  pkcs8.set(PKCS8_ED25519);
  pkcs8.set(seed, PKCS8_ED25519.length);
  // Extractable only for this one step: the public key is read off the private one.
  const once = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", once);
  const did = didFromPublicKey(base64urlnopad.decode(jwk.x));
  if (doc.did !== undefined && doc.did !== did) {
    throw new KeyFileError("the key file's did does not match its seed");
  }
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false,
                                                   ["sign"]);
  return { did, privateKey };
}
