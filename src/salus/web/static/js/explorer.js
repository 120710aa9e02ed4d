// The ledger explorer: what anyone may see without a token (tree heads, blocks' codes,
// proofs), and an inclusion check done here, not taken on the node's word.
import { fromHex, ProofError, verifyInclusion } from "./merkle.js";
import { STHError, verifySth } from "./sth.js";
import { request } from "./api.js";
import { $, cell, show, verdict } from "./ui.js";

const getJson = (path) => request(path);

async function load() {
  const status = await getJson("/v1/status");
  $("chain").textContent = `Chain ${status.chain_id}: height ${status.height}, ${status.log_size} log entries`;
  if (!$("anchor").value) $("anchor").value = status.orderer;
  const sth = await getJson("/v1/log/sth");
  show($("sth"), [["Tree size", sth.tree_size], ["Root hash", sth.root_hash],
                  ["Time", new Date(sth.timestamp).toISOString()], ["Signature", sth.signature]]);
  try {
    await verifySth(sth, $("anchor").value.trim(), status.chain_id);
    verdict(true, "signed by the trusted signer", "sth-verdict");
  } catch (e) {
    if (!(e instanceof STHError)) throw e;
    verdict(false, e.message, "sth-verdict");
  }
  const body = $("blocks").tBodies[0];
  body.replaceChildren();
  for (let h = status.height; h >= Math.max(0, status.height - 9); h--) {
    const block = await getJson(`/v1/blocks/${h}`);
    const row = body.insertRow();
    cell(row, String(h));
    cell(row, new Date(block.header.time).toISOString());
    const codes = block.txs.map((t) => `${t.tx_id.slice(0, 12)}… ${t.code}`).join("\n") || "—";
    cell(row, codes, true);
  }
  return sth;
}

async function fetchProof(txId, sth) {
  const proof = await getJson(`/v1/log/proof?hash=${txId}&tree_size=${sth.tree_size}`);
  return { leaf_hash: txId, leaf_index: proof.leaf_index, audit_path: proof.audit_path, sth };
}

async function check(text) {
  let p;
  try {
    p = JSON.parse(text);
  } catch {
    return verdict(false, "the proof is not JSON");
  }
  try {
    // The root is only as good as its signature: check the head first.
    await verifySth(p.sth, $("anchor").value.trim());
    await verifyInclusion(BigInt(p.leaf_index), BigInt(p.sth.tree_size), fromHex(p.leaf_hash),
                          p.audit_path.map(fromHex), fromHex(p.sth.root_hash));
    verdict(true, `included: leaf ${p.leaf_index} of ${p.sth.tree_size}, under a tree head signed by the trusted signer`);
  } catch (e) {
    if (!(e instanceof ProofError || e instanceof STHError || e instanceof TypeError ||
          e instanceof SyntaxError || e instanceof RangeError)) throw e;
    verdict(false, `not proven: ${e.message}`);
  }
}

let sth;
load().then((s) => { sth = s; }).catch((e) => { $("chain").textContent = `Cannot reach the node: ${e.message}`; });

$("fetch-proof").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const proof = await fetchProof($("tx-id").value.trim(), sth ?? await load());
    $("proof").value = JSON.stringify(proof, null, 1);
    await check($("proof").value);
  } catch (e) {
    verdict(false, e.message);
  }
});

$("check-proof").addEventListener("submit", (event) => {
  event.preventDefault();
  check($("proof").value);
});
