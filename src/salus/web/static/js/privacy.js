// The privacy officer's page: the organisation's emergency (break-glass) accesses waiting
// for review, each with who read what, for which patient, why and when; a finding per
// entry signed here (access.review, the codes its schema allows); the full access log.
import { request } from "./api.js";
import { requireSession } from "./layout.js";
import { currentRoles } from "./roles.js";
import { $, cell, el, shortDid, verdict, when } from "./ui.js";

const REVIEWERS = ["privacy_officer", "auditor"];

let session = null;
let findings = null;
let auditNext = "";

const human = (code) => String(code ?? "—").replaceAll("_", " ");

async function findingCodes() {
  // The findings access.review accepts, from the contract's own schema.
  findings ??= (await request("/v1/contracts/access/review")).arguments.finding.enum;
  return findings;
}

function did(value) {
  return value ? el("code", { title: value }, shortDid(value)) : "—";
}

function facts(pairs) {
  return el("dl", {}, pairs.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
}

function findingForm(entry, n, codes) {
  const form = el("form", { class: "finding", "data-entry": entry.key },
    el("fieldset", {},
      el("legend", {}, "Finding"),
      codes.map((code, i) => el("div", { class: "choice" },
        el("input", { type: "radio", name: "finding", value: code, id: `finding-${n}-${i}`,
                      required: true }),
        el("label", { for: `finding-${n}-${i}` }, human(code))))),
    el("button", { type: "submit" }, "Sign and record the finding"),
    el("p", { id: `finding-status-${n}`, role: "status", "aria-live": "polite" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const finding = new FormData(form).get("finding");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const receipt = await session.call("access", "review", { entry: entry.key, finding });
      verdict(true, `Finding "${human(finding)}" recorded on the ledger (transaction ${receipt.tx_id.slice(0, 12)}…).`,
              "review-status");
      await load();
      $("review-h").focus();
    } catch (e) {
      verdict(false, `Refused by the node: ${e.message}`, `finding-status-${n}`);
      button.disabled = false;
    }
  });
  return form;
}

function card(entry, n, codes) {
  const o = entry.override;
  const read = [entry.record_type, entry.record].filter(Boolean).join(" ");
  const pairs = [
    ["Who", [did(entry.requester), entry.requester_org ? ` of ${entry.requester_org}` : ""]],
    ["Patient", did(entry.patient)],
    ["Reason", o ? human(o.reason) : "— (override not found)"],
    ["When", when(entry.at)],
    ["What was read", read ? el("code", {}, read) : "—"],
    ["Purpose", entry.purpose ?? "—"],
  ];
  if (o) pairs.push(["Override", `${o.id}, open ${when(o.start)} to ${when(o.end)}`]);
  if (entry.finding) {
    pairs.push(["Finding", el("strong", {}, human(entry.finding))],
               ["Reviewed by", did(entry.reviewed_by)]);
  }
  return el("li", { class: "card", "data-entry": entry.key, "aria-labelledby": `entry-${n}` },
    el("h3", { id: `entry-${n}` }, `${entry.record_type ?? "Record"} read in an emergency, ${when(entry.at)}`),
    facts(pairs),
    entry.finding ? null : findingForm(entry, n, codes));
}

async function load() {
  const custodian = $("custodian").value.trim();
  const pending = !$("show-reviewed").checked;
  $("reviews").replaceChildren();
  try {
    const [page, codes] = await Promise.all([
      session.get("/v1/access/review", { params: { custodian, pending } }), findingCodes()]);
    const entries = page.entries ?? [];
    $("reviews").replaceChildren(...entries.map((e, n) => card(e, n, codes)));
    $("review-count").textContent = entries.length
      ? `${entries.length} ${pending ? "waiting for review" : "emergency accesses"} at ${custodian}.`
      : `No emergency access ${pending ? "waits for review" : "was recorded"} at ${custodian}.`;
  } catch (e) {
    $("review-count").textContent = "";
    verdict(false, `Refused by the node: ${e.message}`, "review-status");
  }
}

async function loadAudit(more = false) {
  const custodian = $("custodian").value.trim();
  const body = $("audit").tBodies[0];
  if (!more) {
    body.replaceChildren();
    auditNext = "";
  }
  try {
    const page = await session.get("/v1/access/audit",
                                   { params: { custodian, limit: 50, after: auditNext || undefined } });
    for (const e of page.entries ?? []) {
      const row = body.insertRow();
      cell(row, when(e.at));
      row.insertCell().append(did(e.requester), e.requester_org ? ` ${e.requester_org}` : "");
      row.insertCell().append(did(e.patient));
      cell(row, e.record ?? "—", true);
      cell(row, e.purpose ?? "—");
      cell(row, `${e.outcome ?? ""} (${e.code})${e.emergency ? " · break-glass" : ""}`);
    }
    auditNext = page.next ?? "";
    $("audit-wrap").hidden = false;
    $("audit-more").hidden = !auditNext;
    verdict(true, `${body.rows.length} accesses shown.`, "audit-status");
  } catch (e) {
    $("audit-wrap").hidden = true;
    $("audit-more").hidden = true;
    verdict(false, `Refused by the node: ${e.message}`, "audit-status");
  }
}

$("scope").addEventListener("submit", (event) => {
  event.preventDefault();
  $("review-status").textContent = "";
  load();
});
$("show-reviewed").addEventListener("change", () => {
  $("review-status").textContent = "";
  load();
});
$("audit-load").addEventListener("click", () => loadAudit(false));
$("audit-more").addEventListener("click", () => loadAudit(true));

async function start() {
  session = await requireSession();
  if (!session) return;
  const member = await session.member();
  const roles = currentRoles(member);
  const reviewer = REVIEWERS.find((r) => roles.has(r));
  $("role-note").textContent = reviewer
    ? `You are ${human(reviewer)} of ${member.org}.`
    : `You hold neither the privacy_officer nor the auditor role: the node will refuse you the list.`;
  $("role-note").className = reviewer ? "" : "bad";
  $("custodian").value = member?.org ?? "";
  if ($("custodian").value) await load();
}

start().catch((e) => verdict(false, e.message, "review-status"));
