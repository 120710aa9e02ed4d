// The patient's rewards page: her statement (GET /v1/rewards/statement: every entry with
// its sponsor and transaction id, the balance recomputed), each programme's catalogue and
// redemption, and the programmes she may join (GET /v1/rewards/programmes, public).
// Enrolling, leaving and redeeming are rewards.enrol / leave / redeem transactions signed
// with her key in this browser; the node decides, and a refusal shows its code and reason.
import { ApiError } from "./api.js";
import { requireSession } from "./layout.js";
import { ENTRIES, EVENTS, REASONS, SIGN, catalogueTable, date, money, plural, termPairs } from "./rewards_view.js";
import { $, cell, el, show, verdict } from "./ui.js";

let session = null;
let me = null;  // her member id (statements are filed under it, whichever key signs)

async function act(method, args, done) {
  for (const b of document.querySelectorAll("#rewards button")) b.disabled = true;
  try {
    await session.call("rewards", method, args);
    verdict(true, done, "action-status");
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    verdict(false, `Refused by the node: ${e.code}: ${e.reason}. Nothing changed.`, "action-status");
  } finally {
    await load();
  }
}

// What an entry was for, in words.
function what(e) {
  if (e.kind === "award") return `${EVENTS[e.event] ?? e.event} (record ${e.record} at ${e.custodian})`;
  if (e.kind === "redemption") return `${e.item} (${e.code})`;
  if (e.kind === "expiry") return `points of an award expired on ${date(e.expired_at)}`;
  return `an award reversed: ${REASONS[e.reason] ?? e.reason}`;
}

function statementTable(p) {
  const caption = `Your statement in ${p.programme}, oldest first: each entry, its points, your balance after it, and its transaction on the ledger`;
  const table = el("table", { class: "rewards-table statement" }, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...["Date", "Entry", "For", "Points", "Balance", "Transaction"]
      .map((h) => el("th", { scope: "col" }, h)))));
  const body = table.createTBody();
  let balance = 0;
  for (const e of p.entries) {
    balance += SIGN[e.kind] * e.points;
    const row = body.insertRow();
    row.dataset.kind = e.kind;
    cell(row, date(e.time));
    cell(row, ENTRIES[e.kind] ?? e.kind);
    cell(row, what(e));
    cell(row, `${SIGN[e.kind] > 0 ? "+" : "−"}${e.points}`);
    cell(row, String(balance));
    row.insertCell().append(el("code", { title: e.tx }, `${e.tx.slice(0, 12)}…`));
  }
  if (!p.entries.length) {
    const row = body.insertRow();
    const td = row.insertCell();
    td.colSpan = 6;
    td.textContent = "No entries yet.";
  }
  return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption }, table);
}

function programmeCard(p, terms) {
  const heading = `${p.programme} (${p.sponsor})`;
  const id = `prog-${p.programme}`;
  const facts = el("dl", {});
  show(facts, [
    ["Balance", `${plural(p.balance, "point")}`],
    ["Awarded, redeemed, expired, reversed", `${p.awarded}, ${p.redeemed}, ${p.expired}, ${p.reversed}`],
    ["Recomputed from the ledger", p.consistent ? "✔ equals the balance the contract keeps" : "✘ differs from the balance the contract keeps"],
    ["Soonest to expire", p.live.length ? p.live.map((l) => `${l.points} on ${date(l.expires)}`).join("; ") : "—"],
    ["You are", p.enrolled ? "enrolled: new events earn points" : "not enrolled: no new awards; your points stay yours"],
  ]);
  const catalogue = terms ?? { catalogue: p.catalogue };
  const redeem = (item) => el("button", { type: "button", "data-redeem": item.id,
    "aria-label": `Redeem ${item.id} for ${item.points} points`,
    onclick: () => act("redeem", { programme: p.programme, item: item.id },
                       `Redeemed ${item.id} for ${plural(item.points, "point")}: ask ${p.sponsor} for it with this page's statement.`) },
    `${item.points} points`);
  const membership = p.enrolled
    ? el("button", { type: "button", "data-leave": p.programme,
                     onclick: () => act("leave", { programme: p.programme }, `You left ${p.programme}; your points stay yours.`) },
         `Leave ${p.programme}`)
    : el("button", { type: "button", "data-enrol": p.programme,
                     onclick: () => act("enrol", { programme: p.programme }, `You joined ${p.programme} again.`) },
         `Join ${p.programme} again`);
  return el("article", { class: "card", "aria-labelledby": id, "data-programme": p.programme },
    el("h3", { id }, heading), facts,
    el("h4", {}, "Statement"), statementTable(p),
    el("h4", {}, "Catalogue"),
    catalogueTable(catalogue, `What your points buy in ${p.programme}: in-kind items only`, redeem),
    membership);
}

function openCard(p) {
  const id = `open-${p.id}`;
  const facts = el("dl", {});
  show(facts, termPairs(p));
  return el("article", { class: "card", "aria-labelledby": id, "data-programme": p.id },
    el("h3", { id }, `${p.id} (${p.sponsor})`), facts,
    catalogueTable(p, `What points buy in ${p.id}`),
    el("button", { type: "button", "data-enrol": p.id,
                   onclick: () => act("enrol", { programme: p.id }, `You joined ${p.id}.`) },
       `Join ${p.id}`));
}

async function programmes() {
  const all = [];
  let after = "";
  for (let n = 0; n < 20; n++) {
    const page = await session.get("/v1/rewards/programmes", { params: { limit: 1000, after: after || undefined } });
    all.push(...page.programmes);
    if (!page.next) break;
    after = page.next;
  }
  return all;
}

async function load() {
  const [statement, all] = await Promise.all([
    session.get("/v1/rewards/statement", { params: { patient: me } }),
    programmes()]);
  const terms = new Map(all.map((p) => [p.id, p]));
  const joined = new Set(statement.programmes.map((p) => p.programme));
  $("mine").replaceChildren(...statement.programmes.map((p) => programmeCard(p, terms.get(p.programme))));
  const total = statement.programmes.reduce((n, p) => n + p.balance, 0);
  $("mine-status").textContent = statement.programmes.length
    ? `${plural(statement.programmes.length, "programme")}, ${plural(total, "point")} in all.`
    : "You have not joined a programme yet.";
  const open = all.filter((p) => !joined.has(p.id));
  $("open").replaceChildren(...open.map(openCard));
  $("open-status").textContent = open.length ? "" : "There is no other programme to join.";
}

async function main() {
  session = await requireSession();
  if (!session) return;
  const member = await session.member();
  if (member?.kind !== "patient") {
    $("page-status").replaceChildren("This page is for patients, and the key signed in here is ",
      member ? "an organisation member's. " : "no member's yet. ",
      el("a", { href: "/ui/pages/programmes" }, "Rewards programmes"), " shows every programme's terms.");
    return;
  }
  me = member.id;
  await load();
  $("page-status").textContent = "";
  $("rewards").hidden = false;
}

main().catch((e) => {
  $("page-status").className = "bad";
  $("page-status").textContent = e instanceof ApiError ? `The node refused: ${e.code}: ${e.reason}`
                                                       : `Something went wrong: ${e.message}`;
});
