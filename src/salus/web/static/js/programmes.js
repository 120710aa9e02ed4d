// A rewards programme's page: its public terms and catalogue (GET /v1/rewards/programmes,
// no token), and for its sponsor's admins and rewards officers (and regulators) its totals
// (GET /v1/rewards/programmes/{id}/totals). Anyone else signed in is shown the node's
// refusal with its code and reason. `?programme=` opens one; a signed-in sponsor's own
// programmes come first.
import { ApiError, request, withQuery } from "./api.js";
import { signedIn } from "./layout.js";
import { EVENTS, catalogueTable, money, plural, termPairs } from "./rewards_view.js";
import { $, cell, el, show, verdict } from "./ui.js";

let session = null;
let programmes = new Map();

async function listAll() {
  const all = [];
  let after;
  for (let n = 0; n < 20; n++) {
    const page = await request(withQuery("/v1/rewards/programmes", { limit: 1000, after }));
    all.push(...page.programmes);
    if (!page.next) break;
    after = page.next;
  }
  return all;
}

async function totals(p) {
  const status = $("totals-status");
  $("totals-view").hidden = true;
  $("totals-section").hidden = false;
  if (!session) {
    status.className = "";
    status.replaceChildren("Totals are for the sponsor's admins and rewards officers: ",
                           el("a", { href: "/ui/" }, "sign in"), " with your key.");
    return;
  }
  status.className = "";
  status.textContent = "Loading the totals…";
  let t;
  try {
    t = await session.get(`/v1/rewards/programmes/${encodeURIComponent(p.id)}/totals`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    verdict(false, `The node refused the totals: ${e.code}: ${e.reason}`, "totals-status");
    return;
  }
  show($("totals"), [
    ["Patients enrolled", `${t.enrolled} (and ${t.left} who left)`],
    ["Awards", `${t.awards}: ${t.points.awarded} points worth ${money(t.cents.awarded)} (net of reversals)`],
    ["Redemptions", `${t.redemptions}: ${t.points.redeemed} points, items worth ${money(t.cents.redeemed)}`],
    ["Expired, reversed", `${t.points.expired} and ${t.points.reversed} points`],
    ["Outstanding", plural(t.points.outstanding, "point")],
  ]);
  const body = $("breakdown").tBodies[0];
  body.replaceChildren();
  for (const [event, n] of Object.entries(t.by_event)) {
    const row = body.insertRow();
    cell(row, `Awards for ${EVENTS[event] ?? event}`);
    cell(row, String(n));
  }
  for (const [item, n] of Object.entries(t.by_item)) {
    const row = body.insertRow();
    cell(row, `Redemptions of ${item}`);
    cell(row, String(n));
  }
  verdict(true, `Totals of ${t.programme} (version ${t.version}), as the ledger has them now.`, "totals-status");
  $("totals-view").hidden = false;
}

async function open(id) {
  const p = programmes.get(id);
  if (!p) return;
  show($("terms"), termPairs(p));
  $("catalogue").replaceChildren(catalogueTable(p, `What points buy in ${p.id}: in-kind items only`));
  $("terms-h").textContent = `Terms of ${p.id}`;
  $("terms-section").hidden = false;
  await totals(p);
}

async function main() {
  session = await signedIn();
  let org = null;
  if (session) org = (await session.member().catch(() => null))?.org ?? null;
  const all = await listAll();
  // the sponsor's own first, then the others, each in id order
  all.sort((a, b) => (b.sponsor === org) - (a.sponsor === org) || a.id.localeCompare(b.id));
  programmes = new Map(all.map((p) => [p.id, p]));
  const select = $("programme");
  select.replaceChildren(...all.map((p) => el("option", { value: p.id }, `${p.id} (${p.sponsor})`)));
  if (!all.length) {
    $("list-status").textContent = "No programme has been published.";
    return;
  }
  $("list-status").textContent = `${plural(all.length, "programme")} published.`;
  const wanted = new URLSearchParams(location.search).get("programme");
  if (wanted && programmes.has(wanted)) select.value = wanted;
  select.addEventListener("change", () => open(select.value));
  await open(select.value);
}

main().catch((e) => {
  $("list-status").className = "bad";
  $("list-status").textContent = e instanceof ApiError ? `The node refused: ${e.code}: ${e.reason}`
                                                       : `Something went wrong: ${e.message}`;
});
