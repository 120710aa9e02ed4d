// OAuth2 client assertions (RFC 7523, as SMART Backend Services uses them) signed in the
// browser: a JWT with alg EdDSA (RFC 8037) over the member's key, the claims
// salus.identity.assertion.client_assertion makes, for the token endpoint the node
// advertises. The key never leaves WebCrypto.
import { base64urlnopad, hex } from "@scure/base";

export const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const part = (value) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(value)));

const randomHex = (bytes) => hex.encode(crypto.getRandomValues(new Uint8Array(bytes)));

// `now` in seconds; the assertion lives `lifetime` seconds and can be used once (jti).
export async function clientAssertion(key, tokenUrl, now = Math.floor(Date.now() / 1000),
                                      lifetime = 60) {
  const header = { alg: "EdDSA", typ: "JWT", kid: key.did };
  const claims = { iss: key.did, sub: key.did, aud: tokenUrl, iat: now, exp: now + lifetime,
                   jti: randomHex(16) };
  const input = `${part(header)}.${part(claims)}`;
  const signature = await crypto.subtle.sign("Ed25519", key.privateKey,
                                             new TextEncoder().encode(input));
  return `${input}.${base64urlnopad.encode(new Uint8Array(signature))}`;
}
