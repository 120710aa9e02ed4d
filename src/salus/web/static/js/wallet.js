// A member's credentials wallet in this browser: their issued credentials, kept in
// IndexedDB under their did (a browser may hold several people's wallets; each sees only
// their own). The credentials are the holder's documents, not secrets; they are sent only
// to be verified, and only the holder's key, in WebCrypto, signs a presentation of them.

const DB = "salus-wallet";
const STORE = "credentials";

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(mode, act) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const req = act(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

// Keys are [holder, credential id]; an array sorts after every string, so this range is
// exactly one holder's entries.
const holderRange = (holder) => IDBKeyRange.bound([holder], [holder, []]);

export const list = (holder) => store("readonly", (s) => s.getAll(holderRange(holder)));
export const put = (holder, credential) => store("readwrite", (s) => s.put(credential,
                                                                           [holder, credential.id]));
export const remove = (holder, id) => store("readwrite", (s) => s.delete([holder, id]));
