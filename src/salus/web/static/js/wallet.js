// A member's credentials wallet in this browser: their issued credentials, kept in
// IndexedDB under their did (a browser may hold several people's wallets; each sees only
// their own). The credentials are the holder's documents, not secrets; they are sent only
// to be verified, and only the holder's key, in WebCrypto, signs a presentation of them.

import { objectStore } from "./idb.js";

const DB = "salus-wallet";
const STORE = "credentials";

const store = objectStore(DB, STORE);

// Keys are [holder, credential id]; an array sorts after every string, so this range is
// exactly one holder's entries.
const holderRange = (holder) => IDBKeyRange.bound([holder], [holder, []]);

export const list = (holder) => store("readonly", (s) => s.getAll(holderRange(holder)));
export const put = (holder, credential) => store("readwrite", (s) => s.put(credential,
                                                                           [holder, credential.id]));
export const remove = (holder, id) => store("readwrite", (s) => s.delete([holder, id]));
