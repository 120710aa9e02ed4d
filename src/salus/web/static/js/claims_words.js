// Claims in words, for the three claims pages (payer review, provider requests, the
// patient's claims). The CARC descriptions and reasons come from the node
// (GET /v1/claims/vocabulary: salus.claims.rules.CARC_MEANINGS and REASON_WORDS), so
// there is one table of them; the X12 review actions are named here (X12 code list 306).
import { request } from "./api.js";
import { when } from "./ui.js";

let vocabulary = null;

export async function words() {
  vocabulary ??= await request("/v1/claims/vocabulary");
  return vocabulary;
}

//: X12 306 review actions, as Da Vinci PAS answers them, in words.
export const ACTIONS = {
  A1: "approved",
  A2: "approved in part (fewer units)",
  A3: "denied",
  A4: "pended: waiting for a person at the insurer",
  A6: "modified",
  C: "cancelled or withdrawn",
};

// The review action of a ledger line (the request's status ends a live one), as
// salus.claims.submission.answer gives it.
export function actionOf(status, line, asked) {
  if (status === "cancelled" || status === "replaced") return "C";
  switch (line.outcome) {
    case "approved": return "A1";
    case "modified": return asked !== undefined && line.units < asked ? "A2" : "A6";
    case "denied": return "A3";
    case "pended": return "A4";
    default: return null;
  }
}

export function actionText(code) {
  return code ? `${code}: ${ACTIONS[code]}` : "not decided yet";
}

export function carcText(code, vocab) {
  if (!code) return "";
  return `CARC ${code}: ${vocab.carc[code] ?? "a code this node does not describe"}`;
}

export function reasonText(reason, vocab) {
  if (!reason) return "";
  return vocab.reasons[reason]?.words ?? reason.replaceAll("_", " ");
}

// Integer cents as money, without a float: 123456 -> "1,234.56".
export function money(cents, currency = "USD") {
  if (cents === null || cents === undefined) return "—";
  const whole = BigInt(cents);
  const units = (whole / 100n).toLocaleString("en-US");
  const rest = String(whole % 100n).padStart(2, "0");
  return `${units}.${rest}${currency ? ` ${currency}` : ""}`;
}

// A FHIR Money's value as integer cents, from its decimal digits (never through a float
// product: "10.5" -> 1050).
export function centsOf(moneyValue) {
  if (moneyValue === undefined || moneyValue === null) return null;
  const [whole, frac = ""] = String(moneyValue.value ?? moneyValue).split(".");
  return Number(BigInt(whole) * 100n + BigInt((frac + "00").slice(0, 2)));
}

// When a request is due and whether it is or was late, in words.
export function dueText(req, now = Date.now()) {
  if (req.due === null || req.due === undefined) return "no due time (a claim)";
  const extended = req.extended ? ", extended once" : "";
  if (req.decided_time !== null && req.decided_time !== undefined) {
    return `${when(req.due)}${extended}: decided ${req.late ? "late" : "in time"}`;
  }
  if (now > req.due) return `${when(req.due)}${extended}: overdue, late`;
  const hours = Math.floor((req.due - now) / 3_600_000);
  return `${when(req.due)}${extended}: ${Math.floor(hours / 24)} d ${hours % 24} h left`;
}

export function serviceText(item) {
  const dates = item.end && item.end !== item.date ? `${item.date} to ${item.end}` : item.date;
  const units = `${item.units} unit${item.units === 1 ? "" : "s"}`;
  return `${item.code}, ${units}${dates ? `, ${dates}` : ""}${item.place ? `, place ${item.place}` : ""}`;
}

export const useText = (use) => (use === "claim" ? "claim" : "prior authorisation request");
export const shortId = (id) => `${String(id).slice(0, 12)}…`;
