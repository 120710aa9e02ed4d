// The provider's page: its requests and claims as the ledger holds them
// (GET /v1/claims/requests, each with its items from the provider's own vault copy), each
// item's decision in words (X12 306 review action, the reason, the CARC and its
// description), the due time and lateness, live updates (GET /v1/claims/events), and an
// appeal of denied or cut items, signed here (claims.appeal).
import {
  actionOf, actionText, carcText, dueText, money, reasonText, serviceText, shortId, useText, words,
} from "./claims_words.js";
import { requireSession } from "./layout.js";
import { currentRoles } from "./roles.js";
import { $, cell, el, verdict, when } from "./ui.js";

const STAFF = ["registrar", "clinician"];
const MAX_APPEALS = 2;  // salus.claims.contracts.layout.MAX_APPEALS
const APPEALABLE = new Set(["denied", "modified"]);
let session = null;
let vocab = null;

function granted(line) {
  if (line.units === null) return "—";
  const period = line.period ? `, ${line.period[0]} to ${line.period[1]}` : "";
  return `${line.units} unit${line.units === 1 ? "" : "s"}, ${money(line.amount_cents, null)}${period}`;
}

function itemsTable(req, n) {
  const services = new Map((req.services?.items ?? []).map((s) => [s.ledger_item, s]));
  const appealable = req.status === "decided" && req.appeals.length < MAX_APPEALS;
  const table = el("table", {},
    el("caption", {}, "Each item: the service, the decision, why, and what was granted"),
    el("thead", {}, el("tr", {}, ["Item", "Service", "Decision", "Reason", "Granted", "Appeal"]
      .map((h) => el("th", { scope: "col" }, h)))),
    el("tbody"));
  for (const line of req.lines) {
    const service = services.get(line.sequence);
    const row = table.tBodies[0].insertRow();
    row.dataset.item = line.sequence;
    cell(row, String(line.sequence));
    cell(row, service ? `${serviceText(service)}, billed ${money(service.billed_cents, null)}` : "—");
    cell(row, actionText(actionOf(req.status, line, service?.units)));
    cell(row, [reasonText(line.reason, vocab), carcText(line.carc, vocab)].filter(Boolean).join("; ") || "—");
    cell(row, granted(line));
    const box = row.insertCell();
    if (appealable && APPEALABLE.has(line.outcome)) {
      const id = `appeal-${n}-${line.sequence}`;
      box.append(el("input", { type: "checkbox", id, name: "item", value: line.sequence }),
                 el("label", { for: id, class: "inline" }, `Appeal item ${line.sequence}`));
    } else box.append("—");
  }
  return table;
}

function appealForm(req, n) {
  const status = el("p", { id: `appeal-status-${n}`, role: "status", "aria-live": "polite" });
  const form = el("form", { class: "appeal" },
    el("button", { type: "submit" }, "Sign and send the appeal of the ticked items"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const card = form.closest("li");
    const items = [...card.querySelectorAll("input[name=item]:checked")].map((b) => Number(b.value));
    if (!items.length) {
      verdict(false, "Tick the items to appeal first.", status.id);
      return;
    }
    form.querySelector("button").disabled = true;
    try {
      const receipt = await session.call("claims", "appeal", { request: req.id, items });
      await load();
      // not in #requests-status: the live feed reloads the list, and with it that line
      verdict(true, `Appeal sent: recorded on the ledger (transaction ${receipt.tx_id.slice(0, 12)}…). A reviewer who made no earlier decision on it decides.`, "action-status");
    } catch (e) {
      verdict(false, `Refused by the node: ${e.message}`, status.id);
      form.querySelector("button").disabled = false;
    }
  });
  return form;
}

function card(req, n) {
  const appealable = req.status === "decided" && req.appeals.length < MAX_APPEALS
    && req.lines.some((l) => APPEALABLE.has(l.outcome));
  const head = `${useText(req.use)} ${shortId(req.id)}${req.services?.identifier ? ` (your ${req.services.identifier})` : ""}`;
  return el("li", { class: "card", "data-request": req.id, "aria-labelledby": `req-${n}` },
    el("h3", { id: `req-${n}` }, head),
    el("dl", {}, [
      ["Status", req.status + (req.appeals.length ? ` (appealed ${req.appeals.length} time${req.appeals.length === 1 ? "" : "s"})` : "")],
      ["Payer", req.payer], ["Priority", req.priority], ["Submitted", when(req.time)],
      ["Due", dueText(req)],
    ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `Items of ${head}` },
       itemsTable(req, n)),
    appealable ? appealForm(req, n) : null);
}

async function load() {
  try {
    const found = await session.get("/v1/claims/requests", { params: { limit: 500 } });
    const list = [...found.requests].reverse();
    $("requests").replaceChildren(...list.map((r, n) => card(r, n)));
    $("requests-status").className = "";
    $("requests-status").textContent = list.length
      ? `${list.length} request(s) and claim(s) of ${found.provider}.` : `${found.provider} has submitted nothing yet.`;
  } catch (e) {
    $("requests").replaceChildren();
    verdict(false, `Refused by the node: ${e.message}`, "requests-status");
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function follow() {
  const stop = new AbortController();
  addEventListener("pagehide", () => stop.abort());
  const onEvent = async ({ event, data }) => {
    if (event === "ready") {
      $("live").textContent = "Live: decisions appear here as the payer makes them.";
      return;
    }
    if (event === "closed") return;
    await load();
    const what = event.replace("claims_", "").replaceAll("_", " ");
    $("news").textContent = `Request ${shortId(data.request)}: ${what}${data.status ? `, now ${data.status}` : ""} (${when(Date.now())}).`;
  };
  while (!stop.signal.aborted) {
    try {
      await session.stream("/v1/claims/events", onEvent, stop.signal);
      $("live").textContent = "The live feed closed; reconnecting…";
    } catch (e) {
      if (stop.signal.aborted) return;
      if (e.status === 401 || e.status === 403) {
        $("live").textContent = `No live feed for you: ${e.code}.`;
        return;
      }
      $("live").textContent = `The live feed was interrupted (${e.code ?? e.name}); reconnecting…`;
    }
    await sleep(3000);
  }
}

async function start() {
  session = await requireSession();
  if (!session) return;
  const [member, vocabulary] = await Promise.all([session.member(), words()]);
  vocab = vocabulary;
  const roles = currentRoles(member);
  const role = STAFF.find((r) => roles.has(r));
  $("role-note").textContent = role
    ? `You are ${role} of ${member.org}.`
    : "This page is for a provider's registrars and clinicians: you hold neither role, and the node will refuse you its requests.";
  $("role-note").className = role ? "" : "bad";
  await load();
  follow();
}

start().catch((e) => verdict(false, e.message, "requests-status"));
