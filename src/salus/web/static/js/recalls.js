// The recall board: the public list of recalled lots (GET /v1/supply/recalls, no token);
// for a signed-in member, the supply notices of their organisation as they commit (GET
// /v1/supply/events: a recall says how many of its packs they hold), the suspect packs
// under investigation they may read with their deadlines (GET /v1/supply/investigations),
// and the recall form (supply.recall, signed here). Every refusal shows the node's code.
import { request, withQuery } from "./api.js";
import { signedIn } from "./layout.js";
import { gtin14, human, short } from "./supply_view.js";
import { $, cell, el, verdict, when } from "./ui.js";

let session = null;
let boardNext = null;

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function loadBoard(more = false) {
  const body = $("board").tBodies[0];
  try {
    const page = await request(withQuery("/v1/supply/recalls",
                                         { limit: 100, after: more ? boardNext : undefined }));
    if (!more) body.replaceChildren();
    for (const r of page.recalls) {
      const row = body.insertRow();
      row.dataset.lot = r.lot_id;
      cell(row, when(r.time));
      cell(row, r.gtin, true);
      cell(row, r.lot, true);
      cell(row, human(r.reason));
      cell(row, r.owner);
      cell(row, r.org);
      cell(row, String(r.height));
    }
    boardNext = page.next;
    $("board-more").hidden = !boardNext;
    $("board-status").className = "";
    $("board-status").textContent = body.rows.length
      ? `${plural(body.rows.length, "lot")} recalled.` : "No lot has been recalled.";
  } catch (e) {
    verdict(false, `The node did not answer: ${e.message}`, "board-status");
  }
}

// -- live notices ---------------------------------------------------------------------
function held(d) {
  const parts = [];
  if (d.packs) parts.push(`${plural(d.packs, "pack")} of it in your possession`);
  if (d.shipped) parts.push(`${plural(d.shipped, "pack")} you shipped, in transit`);
  if (d.incoming) parts.push(`${plural(d.incoming, "pack")} on their way to you`);
  return parts;
}

function notice(ev) {
  const d = ev.data;
  if (ev.event === "supply_recalled") {
    const mine = held(d);
    const holders = Object.entries(d.holders ?? {}).map(([org, c]) =>
      `${org}: ${c.packs} held, ${c.shipped} shipped, ${c.incoming} incoming`);
    return el("li", { class: mine.length ? "concerns" : "", "data-kind": ev.event, "data-lot": d.lot },
      el("strong", {}, `Recall: lot ${d.lot_number} of GTIN ${d.gtin}`),
      ` (${human(d.reason)}), by ${d.recalled_by}, ${when(d.time)}. `,
      mine.length ? el("span", { class: "bad" }, `It concerns you: ${mine.join("; ")}.`)
                  : "You hold none of its packs.",
      holders.length ? el("span", {}, ` Holders: ${holders.join("; ")}.`) : null);
  }
  if (ev.event === "supply_reported") {
    return el("li", { class: "concerns", "data-kind": ev.event, "data-item": d.item },
      el("strong", {}, `A pack reported ${human(d.status)}`), ` by ${d.org}`,
      d.brand_owner ? ` (brand owner ${d.brand_owner})` : "",
      d.due ? `: investigation due ${when(d.due)}. ` : ". ", "Item ", short(d.item));
  }
  return el("li", { "data-kind": ev.event, "data-item": d.item },
    el("strong", {}, `Investigation closed: ${human(d.finding)}`), d.late ? " (late)" : "",
    ". Item ", short(d.item));
}

function onNotice(ev) {
  if (ev.event === "ready") {
    verdict(true, `Listening for ${ev.data.org}'s notices from block ${ev.data.height}.`, "notices-status");
    return;
  }
  if (ev.event === "closed") {
    verdict(false, `The node ended the feed: ${ev.data.code}: ${ev.data.reason}`, "notices-status");
    return;
  }
  if (!ev.event.startsWith("supply_")) return;
  $("notices").prepend(notice(ev));
  if (ev.event === "supply_recalled") loadBoard();
  else loadSuspects();
}

async function follow() {
  const stop = new AbortController();
  addEventListener("pagehide", () => stop.abort());
  while (!stop.signal.aborted) {
    try {
      await session.stream("/v1/supply/events", onNotice, stop.signal);
      $("notices-status").textContent = "The live feed closed; reconnecting…";
    } catch (e) {
      if (stop.signal.aborted) return;
      if (e.status === 401 || e.status === 403) {  // not for this member: say so, and stop
        verdict(false, `No notices for you: ${e.message}`, "notices-status");
        return;
      }
      $("notices-status").textContent = `The live feed was interrupted (${e.code ?? e.name}); reconnecting…`;
    }
    await sleep(3000);
  }
}

// -- suspect packs ----------------------------------------------------------------------
function remaining(found) {
  if (found.status !== "open") {
    return `closed ${human(found.finding)}${found.late ? " (late)" : ""}, ${when(found.closed_time)}`;
  }
  if (found.overdue) return "open, overdue";
  const minutes = Math.floor((found.due - found.as_of.time) / 60000);
  return `open, ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

async function loadSuspects() {
  const body = $("suspects").tBodies[0];
  const status = $("show-closed").checked ? "all" : "open";
  try {
    const page = await session.get("/v1/supply/investigations", { params: { status } });
    body.replaceChildren();
    for (const found of page.investigations) {
      const row = body.insertRow();
      row.dataset.item = found.item;
      row.className = found.overdue ? "bad" : "";
      row.insertCell().append(short(found.item));
      cell(row, found.gtin ? `${found.gtin}, lot ${found.lot}` : "—");
      cell(row, found.opened_by);
      cell(row, when(found.time));
      cell(row, when(found.due));
      cell(row, remaining(found));
    }
    $("suspects-wrap").hidden = body.rows.length === 0;
    verdict(true, body.rows.length ? `${plural(body.rows.length, "investigation")} you may read.`
                                   : `No ${status === "open" ? "open " : ""}investigation you may read.`,
            "suspects-status");
  } catch (e) {
    body.replaceChildren();
    $("suspects-wrap").hidden = true;
    verdict(false, `Refused by the node: ${e.message}`, "suspects-status");
  }
}

// -- the recall form --------------------------------------------------------------------
async function prepareForm() {
  const method = await request("/v1/contracts/supply/recall");
  $("recall-who").textContent = `Who may: ${method.who.replaceAll("`", "")}. Anyone else is refused by the node, and nothing changes.`;
  $("recall-reason").replaceChildren(...method.arguments.reason.enum.map(
    (code) => el("option", { value: code }, human(code))));
}

$("recall-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const args = { gtin: gtin14(form.get("gtin")), lot: String(form.get("lot")).trim(),
                 reason: form.get("reason") };
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    const receipt = await session.call("supply", "recall", args);
    verdict(true, `Lot ${args.lot} of GTIN ${args.gtin} recalled (${human(args.reason)}); transaction ${receipt.tx_id.slice(0, 12)}…`, "recall-status");
    await loadBoard();
  } catch (e) {
    verdict(false, `Refused by the node: ${e.message}`, "recall-status");
  } finally {
    button.disabled = false;
  }
});

$("board-more").addEventListener("click", () => loadBoard(true));
$("show-closed").addEventListener("change", () => loadSuspects());

async function start() {
  const board = loadBoard();
  session = await signedIn();
  if (!session) {
    const note = "Sign in with your key to see this: it is for supply operators and regulators.";
    for (const id of ["notices-status", "suspects-status", "recall-status"]) $(id).textContent = note;
    $("recall-form").hidden = true;
    $("show-closed").disabled = true;
    await board;
    return;
  }
  await Promise.all([board, prepareForm(), loadSuspects()]);
  follow();
}

start();
