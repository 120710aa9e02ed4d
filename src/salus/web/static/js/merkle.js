// RFC 9162 (Certificate Transparency 2.0) Merkle proofs, verified in the browser.
//
// The iterative algorithms of sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency),
// written from the RFC. Tree sizes and indices are BigInt: the algorithms shift and
// test bits, and JavaScript's bit operators work on 32 bits only. Hashes are
// Uint8Array; SHA-256 comes from WebCrypto, so every function here is async.

export class ProofError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProofError";
  }
}

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

// Section 2.1.1: leaves and interior nodes are hashed apart (0x00 / 0x01 prefixes).
export function leafHash(entry) {
  return sha256(Uint8Array.of(0), entry);
}

export function nodeHash(left, right) {
  return sha256(Uint8Array.of(1), left, right);
}

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const lsb = (n) => (n & 1n) === 1n;

// Section 2.1.3.2: the root that a leaf hash and its inclusion path imply.
export async function rootFromInclusion(index, size, leaf, path) {
  index = BigInt(index);
  size = BigInt(size);
  if (index < 0n || index >= size) {
    throw new ProofError(`leaf index ${index} is not in a tree of size ${size}`);
  }
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new ProofError("inclusion proof is longer than the tree is deep");
    if (lsb(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!lsb(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("inclusion proof is shorter than the tree is deep");
  return r;
}

export async function verifyInclusion(index, size, leaf, path, root) {
  if (!equal(await rootFromInclusion(index, size, leaf, path), root)) {
    throw new ProofError("inclusion proof does not lead to the tree head's root");
  }
}

// Section 2.1.4.2: the tree (first, firstRoot) is a prefix of (second, secondRoot).
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  first = BigInt(first);
  second = BigInt(second);
  if (first < 0n || first > second) {
    throw new ProofError(`cannot prove size ${first} consistent with size ${second}`);
  }
  if (first === second) {
    if (proof.length) throw new ProofError("a proof between equal sizes must be empty");
    if (!equal(firstRoot, secondRoot)) throw new ProofError("equal sizes with different roots");
    return;
  }
  if (first === 0n) {
    if (proof.length) throw new ProofError("the empty tree needs an empty proof");
    return;
  }
  if (!proof.length) throw new ProofError("consistency proof is empty");
  // Step 2: when first is a power of two, its root is a node of the path.
  const path = (first & (first - 1n)) === 0n ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1n;
  let sn = second - 1n;
  while (lsb(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError("consistency proof is longer than needed");
    if (lsb(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!lsb(fn) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("consistency proof is shorter than needed");
  if (!equal(fr, firstRoot)) throw new ProofError("consistency proof does not reproduce the first root");
  if (!equal(sr, secondRoot)) throw new ProofError("consistency proof does not reproduce the second root");
}

// Section 2.1.1: the Merkle Tree Hash of a list of leaf hashes (already hashed as leaves);
// the empty tree's is SHA-256 of nothing. Splits at the largest power of two below n.
export async function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await merkleRoot(leaves.slice(0, k)), await merkleRoot(leaves.slice(k)));
}

// Hex as the API serves hashes.
export function fromHex(hex) {
  if (typeof hex !== "string" || !/^([0-9a-f]{2})*$/.test(hex)) {
    throw new ProofError("not lowercase hex");
  }
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}
