// One IndexedDB object store, opened for each use and closed after: `store(mode, act)`
// runs `act(objectStore)`, which returns a request, and resolves to its result.
export function objectStore(name, storeName) {
  const open = () => new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(storeName);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return async (mode, act) => {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const req = act(db.transaction(storeName, mode).objectStore(storeName));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
  };
}
