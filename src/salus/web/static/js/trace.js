// Trace a pack: its chain of custody (GET /v1/supply/trace), drawn as a timeline of the
// events the signed-in member's organisation may read, each with its CBV 2.0 hash and the
// ledger's record of it; its state, lot and expiry (and the lot's recall, from the public
// recall board); and its aggregation as a tree. A refusal shows the node's code and
// clears everything shown before.
import { request } from "./api.js";
import { requireSession } from "./layout.js";
import { day, human, itemName, scanned, short, term } from "./supply_view.js";
import { $, el, verdict, when } from "./ui.js";

let session = null;
let download = null;

function facts(pairs) {
  $("facts").replaceChildren(...pairs.flatMap(([name, value]) => [el("dt", {}, name),
                                                                  el("dd", {}, value)]));
}

// The lot's recall, if the board has one (public: no token).
async function recallOf(state) {
  if (state.kind !== "pack") return null;
  const board = await request(`/v1/supply/recalls?gtin=${encodeURIComponent(state.gtin)}&lot=${encodeURIComponent(state.lot)}`);
  return board.recalls[0] ?? null;
}

function status(state, recall) {
  const today = Number(new Date().toISOString().slice(0, 10).replaceAll("-", ""));
  const words = [human(state.status)];
  if (recall) words.push(`lot recalled (${human(recall.reason)}, by ${recall.org}, ${when(recall.time)})`);
  if (state.kind === "pack" && state.expiry < today) words.push("expired");
  const bad = recall || state.expiry < today || !["active", "in_transit", "dispensed"].includes(state.status);
  return el("span", { class: bad ? "bad" : "" }, words.join("; "));
}

function showItem(doc, recall) {
  const s = doc.state;
  const pairs = [["What", itemName(doc.digital_link)], ["Status", status(s, recall)]];
  if (s.kind === "pack") pairs.push(["GTIN", s.gtin], ["Lot", s.lot], ["Expiry", day(s.expiry)]);
  pairs.push(["Owner", s.owner ?? "—"], ["Held by", s.possessor ?? "—"]);
  if (s.shipped_to) pairs.push(["Shipped to", s.shipped_to]);
  pairs.push(["Digital Link", el("code", {}, doc.digital_link)], ["Item key", short(doc.item)]);
  facts(pairs);
}

// One node of the tree: its name (its identifier if an event you may read names it, else
// its item key), kind and status.
function node(key, kind, names, current, extra = []) {
  const name = names[key] ? itemName(names[key]) : `${kind === "pack" ? "Pack" : "Case or pallet"}, item ${key.slice(0, 12)}…`;
  const label = el("span", { class: current ? "current" : "" }, name,
                   current ? el("strong", {}, " · this item") : null, ...extra);
  return el("li", { "data-item": key, "aria-current": current ? "true" : null }, label);
}

function contents(children, names) {
  if (!children.length) return null;
  return el("ul", {}, children.map((c) => {
    const li = node(c.item, c.kind, names, false, [` (${human(c.status)})`]);
    const below = contents(c.children, names);
    if (below) li.append(below);
    return li;
  }));
}

function showTree(doc) {
  const { containers, contents: inside } = doc.hierarchy;
  const names = { ...doc.names, [doc.item]: doc.digital_link };
  let innermost = null;
  let root = null;
  for (const c of containers) {  // outermost first
    const li = node(c.item, c.kind, names, false);
    if (innermost) innermost.append(el("ul", {}, li)); else root = li;
    innermost = li;
  }
  const self = node(doc.item, doc.state.kind, names, true);
  const below = contents(inside, names);
  if (below) self.append(below);
  if (innermost) innermost.append(el("ul", {}, self)); else root = self;
  $("tree").replaceChildren(el("ul", { class: "tree" }, root));
}

function eventLine(step) {
  const e = step.event;
  // a TransactionEvent is the sale (DSCSA transaction information and statement)
  const kind = e.type === "TransactionEvent" ? "sale" : human(term(e.bizStep ?? e.type));
  const what = [kind, e.action ? ` (${e.type}, ${e.action})` : ` (${e.type})`];
  const facts = [];
  if (e.disposition) facts.push(`disposition: ${human(term(e.disposition))}`);
  const n = (e.epcList ?? e.childEPCs ?? e.outputEPCList ?? []).length;
  if (n) facts.push(`${n} item${n === 1 ? "" : "s"}`);
  if (e.errorDeclaration) facts.push(`declared in error (${human(term(e.errorDeclaration.reason))})`);
  const ledger = step.on_ledger
    ? el("p", { class: "ok" }, `✔ On the ledger: recorded by ${step.ledger.org} as ${human(step.ledger.action)}, block ${step.ledger.height}`)
    : el("p", { class: "bad" }, "✘ Not on the ledger: this event's hash was never recorded");
  return el("li", { "data-hash": step.hash, class: step.on_ledger ? "checked" : "unchecked" },
    el("p", { class: "when" }, el("time", { datetime: e.eventTime }, when(Date.parse(e.eventTime)))),
    el("p", {}, el("strong", {}, what), ` by ${step.org}`),
    facts.length ? el("p", { class: "muted" }, facts.join(" · ")) : null,
    ledger,
    el("p", { class: "hash" }, "Event hash (CBV 2.0) ", el("code", {}, step.hash)));
}

function showEvents(doc) {
  const steps = doc.events;
  const checked = steps.filter((s) => s.on_ledger).length;
  $("events-note").textContent = steps.length
    ? `${steps.length} event${steps.length === 1 ? "" : "s"} you may read, oldest first; ${checked} of them checked against the ledger. Events of this item your organisation may not read are not shown.`
    : "No event of this item is yours to read.";
  $("timeline").replaceChildren(...steps.map(eventLine));
  if (download) URL.revokeObjectURL(download);
  download = URL.createObjectURL(new Blob([JSON.stringify(doc.document, null, 1) + "\n"],
                                          { type: "application/ld+json" }));
  $("download").href = download;
  $("download").hidden = steps.length === 0;
}

async function trace(item) {
  $("result").hidden = true;
  $("trace-status").textContent = "Asking the node…";
  $("trace-status").className = "";
  try {
    const doc = await session.get("/v1/supply/trace", { params: { item } });
    const recall = await recallOf(doc.state);
    showItem(doc, recall);
    showTree(doc);
    showEvents(doc);
    $("result").hidden = false;
    verdict(true, `${itemName(doc.digital_link)}: ${doc.events.length} event(s) shown.`, "trace-status");
  } catch (e) {
    for (const id of ["facts", "tree", "timeline"]) $(id).replaceChildren();
    verdict(false, `Refused by the node: ${e.message}`, "trace-status");
  }
}

$("trace-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const item = scanned($("item").value);
  // the identifier is not put in the page's address: a serial stays out of history
  if (session && item) trace(item);
});

async function start() {
  session = await requireSession();
  if (session) $("item").focus();  // ready for the scanner
}

start();
