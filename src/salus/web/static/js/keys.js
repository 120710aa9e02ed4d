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

// Whether `signature` is `did`'s Ed25519 signature of `bytes`; KeyFileError when the did
// names no Ed25519 key.
export async function verifySignature(did, signature, bytes) {
  const key = await crypto.subtle.importKey("raw", publicKeyFromDid(did), { name: "Ed25519" },
                                            false, ["verify"]);
  return crypto.subtle.verify("Ed25519", key, signature, bytes);
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
  if (seed.length !== 32) throw new KeyFileError("the key file's ed25519_seed must be 32 bytes");
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

// did:key of an X25519 public key (multicodec 0xec 0x01): a member's encryption key.
export function didFromX25519(raw) {
  if (raw.length !== 32) throw new KeyFileError("an X25519 public key is 32 bytes");
  const bytes = new Uint8Array(34);
  bytes.set(Uint8Array.of(0xec, 0x01));
  bytes.set(raw, 2);
  return `did:key:z${base58.encode(bytes)}`;
}

// PKCS #8 wrapping of a raw X25519 private key (RFC 8410, OID 1.3.101.110).
const PKCS8_X25519 = Uint8Array.of(
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);

async function x25519Did(secret) {
  const pkcs8 = new Uint8Array(PKCS8_X25519.length + 32);
  pkcs8.set(PKCS8_X25519);
  pkcs8.set(secret, PKCS8_X25519.length);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, true,
                                            ["deriveBits"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return didFromX25519(base64urlnopad.decode(jwk.x));
}

// A new key file, as `salus keys new` writes it: a random Ed25519 seed, and the X25519
// secret derived from it as salus.identity.keys.Identity.from_seed does
// (SHA-256 of "x25519" || seed). The caller must get it saved before using the key.
export async function createKeyFile() {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const tagged = new Uint8Array(6 + 32);
  tagged.set(new TextEncoder().encode("x25519"));
  tagged.set(seed, 6);
  const secret = new Uint8Array(await crypto.subtle.digest("SHA-256", tagged));
  const doc = { type: KEY_FILE_TYPE, ed25519_seed: base64.encode(seed),
                x25519_secret: base64.encode(secret) };
  const { did } = await importKeyFile(doc);
  return { type: KEY_FILE_TYPE, did, encryption_did: await x25519Did(secret),
           ed25519_seed: doc.ed25519_seed, x25519_secret: doc.x25519_secret };
}
