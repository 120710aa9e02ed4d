// What the rewards pages share: money from integer cents (never a float), the words for
// events, item kinds and entries, and a programme's terms as a definition list and tables.
import { cell, el } from "./ui.js";

// "$7.50" from 750 (integer cents): string arithmetic, no floating point.
export function money(cents) {
  const c = Math.trunc(Number(cents));
  const sign = c < 0 ? "-" : "";
  const a = Math.abs(c);
  return `${sign}$${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

export const EVENTS = { appointment_kept: "a kept appointment", survey_completed: "a completed survey" };
export const KINDS = { merchandise: "merchandise", parking: "parking", meal: "a meal",
                       health_supply: "a health supply", education: "education" };
export const ENTRIES = { award: "Award", redemption: "Redemption", expiry: "Expiry", reversal: "Reversal" };
export const REASONS = { entered_in_error: "entered in error", wrong_patient: "wrong patient",
                         event_not_kept: "the event did not happen", duplicate_event: "a duplicate event",
                         record_erased: "the record was erased" };
//: How each kind of entry moves the balance (salus.rewards.statement.SIGN).
export const SIGN = { award: 1, redemption: -1, expiry: -1, reversal: -1 };

export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function date(ms) {
  return typeof ms === "number" ? new Date(ms).toISOString().slice(0, 10) : "—";
}

// A programme's terms, in words, as [name, value] pairs for show().
export function termPairs(p) {
  const events = p.events.map((e) => `${EVENTS[e.kind] ?? e.kind}: ${plural(e.points, "point")} (${money(e.points * p.point_cents)})`);
  return [
    ["Sponsor", p.sponsor],
    ["Rewards", events.join("; ")],
    ["A point is worth", `${money(p.point_cents)} of retail value`],
    ["Caps", `${money(p.item_cap_cents)} an item, ${money(p.annual_cap_cents)} a year per patient (retail value)`],
    ["Points expire", `${plural(p.expiry_days, "day")} after their award`],
    ["Whose records count", p.custodians === "any" ? "every custodian's, alike (with your consent)" : `${p.sponsor}'s own`],
    ["Terms", `version ${p.version}, published ${date(p.time)} (block ${p.height})`],
  ];
}

// The catalogue as a table; `action(item)` (optional) gives each row's last cell.
export function catalogueTable(p, caption, action = null) {
  const head = ["Item", "Code", "What it is", "Points", "Retail value"];
  if (action) head.push("Redeem");
  const table = el("table", { class: "rewards-table" }, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))));
  const body = table.createTBody();
  for (const item of p.catalogue) {
    const row = body.insertRow();
    row.dataset.item = item.id;
    cell(row, item.id);
    cell(row, item.code, true);
    cell(row, KINDS[item.kind] ?? item.kind);
    cell(row, String(item.points));
    cell(row, money(item.retail_cents));
    if (action) row.insertCell().append(action(item));
  }
  return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption }, table);
}
