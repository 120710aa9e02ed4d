// A signed-in member: their key, kept in this browser's IndexedDB as a non-extractable
// WebCrypto key (the seed never leaves the page that imported it, and never reaches any
// server); bearer tokens from client assertions it signs; transactions it signs.
import { base64 } from "@scure/base";
import { ApiError, errorOf, request, withQuery } from "./api.js";
import { ASSERTION_TYPE, clientAssertion } from "./assertion.js";
import { signTransaction } from "./envelope.js";
import { objectStore } from "./idb.js";
import { importKeyFile } from "./keys.js";

const DB = "salus";
const STORE = "keys";
const SLOT = "member";
//: the scopes the Python SDK asks for by default (salus.client.SalusClient.scope)
const SCOPE = "system/*.cruds";

const keystore = objectStore(DB, STORE);

export class Session {
  constructor(key) {
    this.key = key;
    this.did = key.did;
    this._token = null;
    this._nonce = 0;
    this._chain = null;
  }

  // The member whose key this browser holds, or null.
  static async resume() {
    const key = await keystore("readonly", (s) => s.get(SLOT));
    return key ? new Session(key) : null;
  }

  // Import a key file (the parsed JSON); it replaces any key held before.
  static async signIn(doc) {
    const key = await importKeyFile(doc);
    await keystore("readwrite", (s) => s.put(key, SLOT));
    return new Session(key);
  }

  static async signOut() {
    await keystore("readwrite", (s) => s.delete(SLOT));
  }

  // A bearer token for this member, from an assertion whose audience is the token
  // endpoint the node advertises, which must be on this page's origin (as the SDK checks).
  async token() {
    if (this._token && this._token.until > Date.now() + 10_000) return this._token.value;
    const config = await request("/.well-known/smart-configuration");
    const endpoint = new URL(config.token_endpoint ?? "", location.href);
    if (endpoint.origin !== location.origin) {
      throw new ApiError("AUDIENCE_MISMATCH", `the node advertises its token endpoint at ${endpoint.origin}, not at this page's ${location.origin}: open the web application at the node's public URL`);
    }
    const assertion = await clientAssertion(this.key, endpoint.href);
    const doc = await request(endpoint.pathname, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: SCOPE,
                                  client_assertion_type: ASSERTION_TYPE,
                                  client_assertion: assertion }),
    });
    this._token = { value: doc.access_token, until: Date.now() + doc.expires_in * 1000 };
    return doc.access_token;
  }

  async headers(extra = {}) {
    return { authorization: `Bearer ${await this.token()}`, ...extra };
  }

  // GET a member-only path; `purpose` sets X-Purpose-Of-Use (the FHIR routes).
  async get(path, { params, purpose } = {}) {
    const headers = await this.headers(purpose ? { "x-purpose-of-use": purpose } : {});
    return request(withQuery(path, params), { headers });
  }

  async post(path, body) {
    return request(path, { method: "POST", body: JSON.stringify(body),
                           headers: await this.headers({ "content-type": "application/json" }) });
  }

  async chainId() {
    this._chain ??= (await request("/v1/status")).chain_id;
    return this._chain;
  }

  // Sign a transaction here and submit it; resolves to the receipt once committed, or
  // throws ApiError with the node's code when it is refused or invalid.
  async call(contract, method, args = {}) {
    // Strictly increasing, above anything this key used before (as the SDK: microseconds).
    this._nonce = Math.max(this._nonce + 1, Date.now() * 1000);
    const wire = await signTransaction(this.key, {
      chain: await this.chainId(), contract, method, args, nonce: this._nonce, time: Date.now(),
    });
    const doc = await request("/v1/txs?wait=true", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ txs: [base64.encode(wire)] }),
    });
    const receipt = doc.receipts[0];
    if (receipt.status !== "committed" || receipt.code !== "VALID") {
      throw new ApiError(receipt.code ?? receipt.status, receipt.reason || receipt.status);
    }
    return receipt;
  }

  // This member's record on the ledger, or null for a key no one has enrolled yet.
  async member() {
    try {
      return await this.get(`/v1/members/${encodeURIComponent(this.did)}`);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.code === "NOT_A_MEMBER")) return null;
      throw e;
    }
  }

  // Server-sent events from `path` (EventSource cannot send a bearer token, so this reads
  // the stream with fetch). Calls onEvent({event, id, data}) per event until `signal`
  // aborts; resolves when the stream ends.
  async stream(path, onEvent, signal) {
    const response = await fetch(path, { signal, headers: await this.headers(
      { accept: "text/event-stream" }) });
    if (!response.ok) throw await errorOf(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = {};
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split("\n");
      buffer = lines.pop();
      for (const raw of lines) {
        const line = raw.replace(/\r$/, "");
        if (line === "") {
          if (event.event) onEvent(event);
          event = {};
        } else if (line.startsWith("event:")) event.event = line.slice(6).trim();
        else if (line.startsWith("id:")) event.id = line.slice(3).trim();
        else if (line.startsWith("data:")) event.data = JSON.parse(line.slice(5));
      }
    }
  }
}
