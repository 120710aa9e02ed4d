// The ledger explorer: what anyone may see without a token (tree heads, blocks' codes,
// proofs), and an inclusion check done here, not taken on the node's word.
import { fromHex, ProofError, verifyInclusion } from "./merkle.js";
import { STHError, verifySth } from "./sth.js";
import { request } from "./api.js";
import { BlockError, verifyBlock } from "./block.js";
import { Session } from "./session.js";
import { $, cell, el, show, verdict, when } from "./ui.js";

// A signed-in viewer sees what the read rules give them (a transaction's envelope when
// they signed it, or audit); anyone else what the public sees.
const session = await Session.resume().catch(() => null);
const readJson = (path) => (session ? session.get(path) : request(path));

function link(text, hash) {
  return el("a", { href: `#${hash}` }, text);
}

async function load() {
  const status = await request("/v1/status");
  $("chain").textContent = `Chain ${status.chain_id}: height ${status.height}, ${status.log_size} log entries`;
  if (!$("anchor").value) $("anchor").value = status.orderer;
  const sth = await request("/v1/log/sth");
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
    const block = await request(`/v1/blocks/${h}`);
    const row = body.insertRow();
    row.insertCell().append(link(String(h), `block=${h}`));
    cell(row, new Date(block.header.time).toISOString());
    const txs = row.insertCell();
    if (!block.txs.length) txs.append("—");
    for (const t of block.txs) {
      txs.append(el("code", {}, link(`${t.tx_id.slice(0, 12)}…`, `tx=${t.tx_id}`), ` ${t.code}`),
                 el("br"));
    }
  }
  return sth;
}

async function showBlock(height) {
  const block = await request(`/v1/blocks/${height}`);
  const h = block.header;
  show($("block-facts"), [["Height", h.height], ["Time", when(h.time)], ["Hash", block.hash],
                          ["Previous", h.prev_hash], ["Transactions", h.tx_count],
                          ["Transactions root", h.tx_root], ["State hash", h.state_hash],
                          ["Log size after", h.log_size], ["Log root after", h.log_root],
                          ["Signed by", block.signer]]);
  const body = $("block-txs").tBodies[0];
  body.replaceChildren();
  for (const t of block.txs) {
    const row = body.insertRow();
    cell(row, String(t.leaf_index));
    row.insertCell().append(el("code", {}, link(t.tx_id, `tx=${t.tx_id}`)));
    cell(row, t.reason ? `${t.code}: ${t.reason}` : t.code);
  }
  try {
    await verifyBlock(block, $("anchor").value.trim());
    verdict(true, "signed by the trusted signer; its transactions are the ones its header commits to", "block-verdict");
  } catch (e) {
    if (!(e instanceof BlockError)) throw e;
    verdict(false, e.message, "block-verdict");
  }
  $("block-view").hidden = false;
  $("block-h").focus();
}

async function showTx(txId) {
  const doc = await readJson(`/v1/tx/${txId}`);
  const r = doc.receipt;
  const facts = [["Id", r.tx_id], ["Code", r.reason ? `${r.code}: ${r.reason}` : r.code],
                 ["Block", r.height], ["Leaf index", r.leaf_index]];
  const env = doc.envelope;
  if (env) {
    facts.push(["Signer", env.signer], ["Contract", env.contract], ["Method", env.method],
               ["Signed at", when(env.time)]);
  }
  show($("tx-facts"), facts);
  $("tx-args").hidden = !env;
  $("tx-args").textContent = env ? JSON.stringify(env.args, null, 2) : "";
  $("tx-note").textContent = env ? "Arguments (you may see them: you signed it, or you audit the ledger):"
    : "Who signed it, the contract, the method and the arguments are shown only to its signer, auditors and peer operators (sign in as one of them to see them).";
  $("tx-verify").dataset.tx = r.tx_id;
  $("tx-view").hidden = false;
  $("tx-h").focus();
}

async function route() {
  const [kind, value] = location.hash.slice(1).split("=");
  $("block-view").hidden = kind !== "block";
  $("tx-view").hidden = kind !== "tx";
  try {
    if (kind === "block" && /^[0-9]{1,15}$/.test(value)) await showBlock(Number(value));
    if (kind === "tx" && /^[0-9a-f]{64}$/.test(value)) await showTx(value);
  } catch (e) {
    $("chain").textContent = e.message;
  }
}

async function fetchProof(txId, sth) {
  const proof = await request(`/v1/log/proof?hash=${txId}&tree_size=${sth.tree_size}`);
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
load().then((s) => { sth = s; return route(); })
  .catch((e) => { $("chain").textContent = `Cannot reach the node: ${e.message}`; });
addEventListener("hashchange", route);

$("tx-verify").addEventListener("click", () => {
  $("tx-id").value = $("tx-verify").dataset.tx;
  $("fetch-proof").requestSubmit();
});

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
