// The clinician's page: a patient's record across custodians through the FHIR facade
// (consent-checked and audited by each custodian's gateway), and break-glass: a coded
// reason, a plain confirmation, then access.break_glass signed here and an emergency read.
import { ApiError, request } from "./api.js";
import { demographics, patientFhirId, readBundle, whenText } from "./records_view.js";
import { requireSession } from "./layout.js";
import { currentRoles } from "./roles.js";
import { $, el, verdict, when } from "./ui.js";

// salus.records.policy: ordinary reads are for treatment; a break-glass override
// covers emergency treatment (EMERGENCY_PURPOSE) only.
const TREAT = "TREAT";
const EMERGENCY = "ETREAT";
const EMERGENCY_ROLE = "emergency_clinician";

let session = null;
let current = null;  // the did being read

// Nothing of a record read before stays on the page once a read is refused (or another
// patient is chosen): not even hidden.
function forget() {
  $("record").hidden = true;
  for (const id of ["demographics", "groups", "not-served-list", "record-basis"]) {
    $(id).replaceChildren();
  }
  $("not-served").hidden = true;
}

function refused(e) {
  forget();
  $("refusal").hidden = false;
  $("refusal-code").textContent = e instanceof ApiError ? e.code : "ERROR";
  $("refusal-reason").textContent = e instanceof ApiError ? e.reason : e.message;
}

function item(it) {
  const facts = [...it.details, whenText(it)].filter(Boolean).join(" · ");
  return el("li", { class: "rec" }, el("span", { class: "rec-title" }, it.what),
            facts ? el("span", { class: "rec-facts" }, facts) : null,
            el("span", { class: "tag", title: "custodian: who holds this record" },
               it.custodian || "unknown"));
}

function render(bundle, purpose, override) {
  const view = readBundle(bundle);
  $("refusal").hidden = true;
  $("record").hidden = false;
  $("record-basis").textContent = purpose === EMERGENCY
    ? `Read for emergency treatment (${EMERGENCY}) under your break-glass override${override ? `, open until ${when(override.end)}` : ""}. Every record read is on the privacy officers' review list.`
    : `Read for treatment (${TREAT}), under the patient's consent.`;
  const who = view.patients.length ? demographics(view.patients[0]) : null;
  const held = [...new Set(view.groups.flatMap((g) => g.items.map((i) => i.custodian))
    .concat(view.patients.map((p) => demographics(p).custodian)))].filter(Boolean).sort();
  const name = who ? who.name || "(no name on record)" : "(no demographics shown to you)";
  const facts = [["Patient", current], ["Name", name]];
  if (who?.birthDate) facts.push(["Born", who.birthDate]);
  if (who?.gender) facts.push(["Sex", who.gender]);
  facts.push(["Held by", held.join(", ") || "—"]);
  $("demographics").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("groups").replaceChildren(...view.groups.map((g) => el("section", {
    class: "rec-group", "aria-labelledby": `g-${g.key}`, "data-group": g.key },
    el("h3", { id: `g-${g.key}` }, `${g.label} (${g.items.length})`),
    g.items.length ? el("ul", { class: "recs" }, g.items.map(item))
                   : el("p", { class: "muted" }, "None shown to you."))));
  $("not-served").hidden = view.notServed.length === 0;
  $("not-served-list").replaceChildren(...view.notServed.map((n) => el("li", {},
    el("code", {}, n.code), " ", n.reason, n.record ? ` (${n.record})` : "")));
  return view;
}

// Whether the signed-in member holds the emergency role now (set at start).
let mayBreakGlass = false;

async function read(purpose = TREAT, override = null) {
  const id = patientFhirId(current);
  $("find-status").textContent = "Reading…";
  $("find-status").className = "";
  try {
    const bundle = await session.get(`/fhir/Patient/${encodeURIComponent(id)}/$everything`,
                                     { purpose });
    const shown = render(bundle, purpose, override);
    verdict(true, "Record read. The read is in the patient's access log.", "find-status");
    // Break-glass is offered where something was kept from the reader, and to an
    // emergency clinician always: a grant's answer does not say what lies outside it.
    $("emergency").hidden = purpose !== EMERGENCY && shown.notServed.length === 0 &&
      !mayBreakGlass;
  } catch (e) {
    refused(e);
    verdict(false, "Refused: see why below.", "find-status");
    $("emergency").hidden = false;
  }
}

function choose(text) {
  const id = patientFhirId(text);
  if (!id) {
    verdict(false, "That is not a patient's did (did:key:z…).", "find-status");
    $("patient").setAttribute("aria-invalid", "true");
    $("patient").focus();
    return false;
  }
  $("patient").removeAttribute("aria-invalid");
  if (current !== `did:key:${id}`) forget();
  current = `did:key:${id}`;
  $("patient").value = current;
  // The address names the patient being read, so it can be bookmarked or shared back.
  history.replaceState(null, "", `?patient=${encodeURIComponent(current)}`);
  resetGlass();
  return true;
}

// -- break the glass ---------------------------------------------------------------------
let reasons = null;

async function reasonCodes() {
  // The codes access.break_glass accepts, from the contract's own schema.
  reasons ??= (await request("/v1/contracts/access/break_glass")).arguments.reason.enum;
  return reasons;
}

function resetGlass() {
  $("bg-reason").hidden = true;
  $("bg-confirm").hidden = true;
  $("bg-start").hidden = false;
  $("bg-status").textContent = "";
  $("bg-status").className = "";
}

$("bg-start").addEventListener("click", async () => {
  try {
    const codes = await reasonCodes();
    $("bg-reasons").replaceChildren(...codes.map((code, i) => el("div", { class: "choice" },
      el("input", { type: "radio", name: "reason", id: `reason-${i}`, value: code,
                    required: true }),
      el("label", { for: `reason-${i}` }, code.replaceAll("_", " ")))));
  } catch (e) {
    verdict(false, e.message, "bg-status");
    return;
  }
  $("bg-start").hidden = true;
  $("bg-reason").hidden = false;
  $("bg-reasons").querySelector("input").focus();
});

$("bg-cancel").addEventListener("click", () => { resetGlass(); $("bg-start").focus(); });
$("bg-back").addEventListener("click", () => { resetGlass(); $("bg-start").focus(); });

$("bg-reason").addEventListener("submit", (event) => {
  event.preventDefault();
  const reason = new FormData($("bg-reason")).get("reason");
  if (!reason) return;
  $("bg-chosen").textContent = reason.replaceAll("_", " ");
  $("bg-reason").hidden = true;
  $("bg-confirm").hidden = false;
  $("bg-confirm-h").focus();
});

$("bg-go").addEventListener("click", async () => {
  const reason = new FormData($("bg-reason")).get("reason");
  $("bg-go").disabled = true;
  try {
    const receipt = await session.call("access", "break_glass", { patient: current, reason });
    $("bg-confirm").hidden = true;
    $("bg-start").hidden = true;  // the override is open: nothing more to break
    verdict(true, `Break-glass override open until ${when(receipt.output?.end)}. It is logged and will be reviewed.`, "bg-status");
    await read(EMERGENCY, receipt.output);
  } catch (e) {
    $("bg-confirm").hidden = true;
    $("bg-start").hidden = false;
    verdict(false, e instanceof ApiError ? `Refused by the node: ${e.code}: ${e.reason}` : e.message,
            "bg-status");
  } finally {
    $("bg-go").disabled = false;
  }
});

// -- start -------------------------------------------------------------------------------
$("find").addEventListener("submit", (event) => {
  event.preventDefault();
  if (choose($("patient").value)) read();
});

async function start() {
  session = await requireSession();
  if (!session) return;
  const member = await session.member();
  const roles = currentRoles(member);
  mayBreakGlass = roles.has(EMERGENCY_ROLE);
  $("emergency-role").textContent = roles.has(EMERGENCY_ROLE)
    ? `You hold the ${EMERGENCY_ROLE} role in ${member.org}.`
    : `You do not hold the ${EMERGENCY_ROLE} role: the node will refuse a break-glass from you.`;
  $("emergency-role").className = roles.has(EMERGENCY_ROLE) ? "" : "bad";
  const asked = new URLSearchParams(location.search).get("patient");
  if (asked) {
    $("patient").value = asked;
    if (choose(asked)) await read();
  }
}

start().catch((e) => verdict(false, e.message, "find-status"));
