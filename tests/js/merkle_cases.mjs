// Runs RFC 9162 proof cases (JSON on stdin) through the browser's verifier module, in
// Node's WebCrypto, and prints each verdict: tests/test_web_merkle.py compares them with
// the Python verifier's.
import { fromHex, leafHash, verifyConsistency, verifyInclusion } from "../../src/salus/web/static/js/merkle.js";

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

async function run(c) {
  try {
    if (c.kind === "leaf") return { ok: true, hash: toHex(await leafHash(fromHex(c.data))) };
    if (c.kind === "inclusion") {
      await verifyInclusion(BigInt(c.index), BigInt(c.size), fromHex(c.leaf),
                            c.path.map(fromHex), fromHex(c.root));
    } else {
      await verifyConsistency(BigInt(c.first), BigInt(c.second), fromHex(c.first_root),
                              fromHex(c.second_root), c.proof.map(fromHex));
    }
    return { ok: true };
  } catch (e) {
    if (e.name !== "ProofError") throw e;
    return { ok: false, error: e.message };
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const verdicts = [];
for (const c of JSON.parse(input)) verdicts.push(await run(c));
process.stdout.write(JSON.stringify(verdicts));
