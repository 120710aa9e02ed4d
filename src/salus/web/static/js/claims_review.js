// The payer's review page: the requests its claims officers and medical reviewers owe a
// decision on (GET /v1/claims/queue), each owed item with its service (from the payer's
// vault copy), the published rule that sent it here, and a decision form whose choices are
// the ones the rule allows (GET /v1/claims/rules: the contract's own CL7 functions), signed
// here as claims.decide with human_review true; appeals for reviewers who made no earlier
// decision; the phantom-billing list (GET /v1/claims/review), each flag resolved here as
// claims.resolve_phantom with what the reviewer found.
import { request } from "./api.js";
import {
  actionOf, actionText, carcText, dueText, money, reasonText, serviceText, shortId, useText, words,
} from "./claims_words.js";
import { requireSession } from "./layout.js";
import { currentRoles } from "./roles.js";
import { $, cell, el, verdict, when } from "./ui.js";

const REVIEWERS = ["claims_officer", "medical_reviewer"];
let session = null;
let member = null;
let vocab = null;
const tables = new Map();  // "payer/version" -> the rule set's choices

async function choicesOf(payer, version) {
  const key = `${payer}/${version}`;
  if (!tables.has(key)) {
    tables.set(key, (await request(`/v1/claims/rules?payer=${encodeURIComponent(payer)}&version=${version}`)).choices);
  }
  return tables.get(key);
}

// What the item may be granted: the billed amount pro rata, at most the rule's allowance
// a unit (as salus.claims.adjudicate computes it), in BigInt: cents x units can pass 2^53.
function amountFor(service, units, allowed) {
  const billed = BigInt(service.billed_cents ?? 0);
  let cents = (billed * BigInt(units)) / BigInt(service.units);
  if (allowed !== null && allowed !== undefined) {
    const most = BigInt(allowed) * BigInt(units);
    if (most < cents) cents = most;
  }
  return Number(cents);
}

function itemFieldset(req, line, service, choice, n) {
  const id = (what) => `d-${n}-${line.sequence}-${what}`;
  const radio = (value, text, disabled = false) => el("div", { class: "choice" },
    el("input", { type: "radio", name: `outcome-${line.sequence}`, value, id: id(value),
                  required: true, disabled }),
    el("label", { for: id(value) }, text));
  const reason = el("select", { id: id("reason"), name: `reason-${line.sequence}` });
  const units = el("input", { id: id("units"), name: `units-${line.sequence}`, type: "number",
                              min: 1, max: Math.max(1, service.units - 1), step: 1,
                              inputmode: "numeric" });
  const fill = (outcome) => {
    const map = outcome === "denied" ? choice.deny : outcome === "modified" ? choice.modify : {};
    reason.replaceChildren(...Object.entries(map).map(([r, carc]) => el("option", { value: r },
      `${reasonText(r, vocab)} (CARC ${carc})${choice.human_only.includes(r) ? ": medical reviewers only" : ""}`)));
  };
  const grantNote = choice.needs_reservation
    ? "Its rule requires authorisation: reserve the units (salus claims decide) before granting."
    : choice.grants ? "" : "Its rule covers nothing (or no rule matched): it may only be denied.";
  const grants = choice.grants && !choice.needs_reservation;
  const set = el("fieldset", { "data-item": line.sequence },
    el("legend", {}, `Item ${line.sequence}: ${service ? serviceText(service) : "service not readable here"}`),
    el("dl", {}, [
      ["Billed", service ? money(service.billed_cents, null) : "—"],
      ["Rule", line.rule ?? "none matched"],
      ["Why it is here", line.outcome === "pended" ? reasonText(line.reason, vocab)
        : line.outcome ? `appealed: ${actionText(actionOf(req.status, line, service?.units))}${line.carc ? `, ${carcText(line.carc, vocab)}` : ""}`
          : "not decided yet"],
      ["The rule allows", `${choice.units_max ?? "any number of"} units${choice.allowed_cents !== null ? `, ${money(choice.allowed_cents, null)} a unit` : ""}`],
    ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    grantNote ? el("p", { class: "note" }, grantNote) : null,
    radio("approved", `Approve all ${service?.units ?? ""} units`, !grants),
    radio("modified", "Approve fewer units", !grants || !Object.keys(choice.modify).length),
    radio("denied", "Deny"),
    el("label", { for: id("units") }, "Units to approve (when approving fewer)"), units,
    el("label", { for: id("reason") }, "Reason (when denying or approving fewer)"), reason);
  set.addEventListener("change", (event) => {
    if (event.target.type === "radio") fill(event.target.value);
  });
  set.decide = () => {
    const outcome = set.querySelector("input[type=radio]:checked")?.value;
    if (!outcome) throw new Error(`choose a decision for item ${line.sequence}`);
    const base = { sequence: line.sequence, outcome, rule: line.rule, reason: null, carc: null,
                   units: null, amount_cents: null };
    if (outcome === "denied") {
      return { ...base, reason: reason.value, carc: choice.deny[reason.value] };
    }
    const n = outcome === "approved" ? service.units : Number(units.value);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`item ${line.sequence}: units are a whole number from 1`);
    if (choice.units_max !== null && n > choice.units_max) {
      throw new Error(`item ${line.sequence}: the rule grants at most ${choice.units_max} units: approve fewer`);
    }
    if (outcome === "modified" && n >= service.units) {
      throw new Error(`item ${line.sequence}: approving fewer means fewer than the ${service.units} asked`);
    }
    const granted = { ...base, units: n, amount_cents: amountFor(service, n, choice.allowed_cents) };
    return outcome === "modified" ? { ...granted, reason: reason.value, carc: choice.modify[reason.value] }
                                  : granted;
  };
  return set;
}

async function card(req, n) {
  const choices = await choicesOf(req.payer, req.rules);
  const services = new Map((req.services?.items ?? []).map((s) => [s.ledger_item, s]));
  const status = el("p", { id: `decide-status-${n}`, role: "status", "aria-live": "polite" });
  const fieldsets = req.owed.map((seq) => {
    const line = req.lines[seq - 1];
    const choice = line.rule ? choices.rules[line.rule][req.use] : choices.unlisted[req.use];
    return itemFieldset(req, line, services.get(seq), choice, n);
  });
  const form = el("form", { class: "decision", "data-request": req.id }, fieldsets,
    el("button", { type: "submit" }, "Sign and record this decision"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const items = fieldsets.map((f) => f.decide());
      const receipt = await session.call("claims", "decide", { request: req.id, items, human_review: true });
      await load();
      verdict(true, `Decision recorded on the ledger (transaction ${receipt.tx_id.slice(0, 12)}…).`, "queue-status");
      $("queue-h").focus();
    } catch (e) {
      verdict(false, e.code ? `Refused by the node: ${e.message}` : `Not sent: ${e.message}`, status.id);
      button.disabled = false;
    }
  });
  const head = `${useText(req.use)} ${shortId(req.id)}${req.services?.identifier ? ` (the provider's ${req.services.identifier})` : ""}`;
  return el("li", { class: "card", "data-request": req.id, "aria-labelledby": `req-${n}` },
    el("h3", { id: `req-${n}` }, head),
    el("dl", {}, [
      ["Provider", req.provider], ["Priority", req.priority], ["Status", req.status],
      ["Submitted", when(req.time)], ["Due", dueText(req)],
      ["Rule set", el("code", { title: req.rules }, shortId(req.rules))],
    ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    form);
}

async function loadQueue() {
  const queue = await session.get("/v1/claims/queue", { params: { payer: $("payer").value.trim() } });
  const open = queue.requests.filter((r) => r.status !== "appealed");
  const appeals = queue.requests.filter((r) => r.status === "appealed"
                                                && !r.reviewers.includes(member.id));
  $("queue").replaceChildren(...await Promise.all(open.map((r, n) => card(r, n))));
  $("appeals").replaceChildren(...await Promise.all(appeals.map((r, n) => card(r, open.length + n))));
  $("queue-status").className = "";
  $("queue-status").textContent = open.length
    ? `${open.length} request(s) owe a decision at ${queue.payer}.` : `Nothing owes a decision at ${queue.payer}.`;
  $("appeals-status").textContent = appeals.length ? `${appeals.length} appeal(s) for you to decide.`
                                                   : "No appeal for you to decide.";
}

function resolveButtons(flag, service) {
  const label = service ? serviceText(service) : `item ${flag.sequence}`;
  const button = (finding, text) => el("button", {
    type: "button", "data-finding": finding, "aria-label": `${text}: ${label}, claim ${shortId(flag.request)}`,
    onclick: async (event) => {
      for (const b of event.target.parentElement.querySelectorAll("button")) b.disabled = true;
      try {
        await session.call("claims", "resolve_phantom", { request: flag.request, sequence: flag.sequence, finding });
        await loadPhantom();
        verdict(true, `Recorded for ${label}: ${text.toLowerCase()}. The patient is told.`, "phantom-action");
      } catch (e) {
        verdict(false, `Refused by the node: ${e.message}`, "phantom-action");
        for (const b of event.target.parentElement.querySelectorAll("button")) b.disabled = false;
      }
    } }, text);
  return el("div", { class: "actions" },
    button("confirmed", "Not rendered as billed"), button("unfounded", "Records show it was rendered"));
}

async function loadPhantom() {
  const body = $("phantom").tBodies[0];
  const page = await session.get("/v1/claims/review", { params: { payer: $("payer").value.trim() } });
  body.replaceChildren();
  for (const flag of page.flags) {
    const service = (flag.services?.items ?? []).find((s) => s.ledger_item === flag.sequence);
    const line = flag.claim.lines[flag.sequence - 1];
    const row = body.insertRow();
    row.dataset.request = flag.request;
    cell(row, when(flag.time));
    cell(row, shortId(flag.request), true);
    cell(row, flag.claim.provider);
    cell(row, service ? serviceText(service) : `item ${flag.sequence}`);
    cell(row, service ? money(service.billed_cents, null) : "—");
    cell(row, [actionText(actionOf(flag.claim.status, line, service?.units)),
               carcText(line.carc, vocab)].filter(Boolean).join(", "));
    row.insertCell().append(resolveButtons(flag, service));
  }
  $("phantom-status").textContent = page.flags.length
    ? `${page.flags.length} service(s) flagged.` : "No patient has flagged a service.";
}

async function load() {
  for (const id of ["queue", "appeals"]) $(id).replaceChildren();
  $("phantom").tBodies[0].replaceChildren();
  await Promise.all([
    loadQueue().catch((e) => verdict(false, `Refused by the node: ${e.message}`, "queue-status")),
    loadPhantom().catch((e) => verdict(false, `Refused by the node: ${e.message}`, "phantom-status")),
  ]);
}

async function start() {
  session = await requireSession();
  if (!session) return;
  [member, vocab] = await Promise.all([session.member(), words()]);
  const roles = currentRoles(member);
  const role = REVIEWERS.find((r) => roles.has(r));
  $("role-note").textContent = role
    ? `You are ${role.replaceAll("_", " ")} of ${member.org}${role === "medical_reviewer" ? "" : ": a denial for medical necessity is a medical reviewer's"}.`
    : "This page is for a payer's claims officers and medical reviewers: you hold neither role, and the node will refuse you the queue.";
  $("role-note").className = role ? "" : "bad";
  $("payer").value = member?.org ?? "";
  $("scope").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  await load();
}

start().catch((e) => verdict(false, e.message, "queue-status"));
