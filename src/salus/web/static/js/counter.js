// The pharmacy counter: a pack scanned (a USB scanner types the DataMatrix's data, or a
// Digital Link, into the field and presses Enter) is verified against the ledger
// (POST /v1/supply/scan, context dispense: public, sent without a token), and the answer
// shown plainly. A signed-in supply operator or pharmacist of a pharmacy or hospital may
// then dispense a verified pack with no warning: the page captures one dispensing event
// (POST /epcis/capture, the member's bearer token) and shows the ledger's outcome.
import { request } from "./api.js";
import { dispensingDocument } from "./dispensing.js";
import { signedIn } from "./layout.js";
import { failureWords, warnings } from "./lms_words.js";
import { currentRoles } from "./roles.js";
import { $, el, show } from "./ui.js";

// Who may dispense (salus.supply.contracts.layout: DISPENSER_ROLES, DISPENSER_TYPES).
const DISPENSER_ROLES = ["supply_operator", "pharmacist"];
const DISPENSER_TYPES = ["pharmacy", "hospital"];
// What the ledger's refusal of a dispensing means at the counter.
const REFUSALS = {
  FORBIDDEN: "your pharmacy does not hold this pack, or you may not dispense for it",
  CONFLICT: "the pack cannot be dispensed now: recalled, expired, already dispensed, still in its case, or not saleable",
};

let session = null;
let dispenser = null;  // {org, role} once the signed-in member may dispense
let current = null;    // the pack of the last answer, if it may be dispensed
let stage = "none";    // where the counter is: a key of WHY
let asked = 0;         // the latest scan's number: an answer to an older one is dropped

const spaced = (code) => String(code).replaceAll("_", " ");

// A status line: ✔ or ✘ and its parts (text or elements), class ok or bad.
function say(id, ok, ...parts) {
  const p = $(id);
  p.className = ok === null ? "" : ok ? "ok" : "bad";
  p.replaceChildren(ok === null ? "" : ok ? "✔ " : "✘ ", ...parts);
}

// Why Dispense is enabled or not, in words.
const WHY = {
  none: "Scan a pack first.",
  bad: "It did not verify: it cannot be dispensed.",
  warned: "It has a warning: it cannot be dispensed.",
  ready: "This pack may be dispensed.",
  recording: "Recording the dispensing…",
  dispensed: "Dispensed. Scan the next pack.",
  refused: "Not dispensed. Scan the pack again to see where it stands.",
};

function refresh() {
  $("dispense").disabled = !(dispenser && current);
  if (dispenser) $("dispense-why").textContent = WHY[stage];
}

function clearResult() {
  for (const id of ["reason", "warnings", "pack"]) $(id).hidden = true;
  $("warnings").replaceChildren();
  $("checked").textContent = "";
}

function render(answer) {
  const data = answer.data ?? {};
  const found = warnings(data);
  const id = answer.identity ?? {};
  const verified = data.verified === true;
  if (!verified) {
    say("verdict", false, "Not verified: ", failureWords(data.verificationFailureReason));
    $("reason").textContent = `The ledger's reason: ${data.verificationFailureReason ?? "none given"}.`;
    $("reason").hidden = false;
  } else if (found.length) {
    say("verdict", false, `Genuine, but ${found.map((w) => w.title.toLowerCase()).join(", ")}: do not dispense it.`);
  } else {
    say("verdict", true, "Verified: a genuine pack, and nothing stops dispensing it.");
  }
  $("warnings").replaceChildren(...found.map((w) => el("li", { "data-code": w.code },
    el("strong", {}, w.title), `: ${w.text}`)));
  $("warnings").hidden = !found.length;
  show($("pack"), [["Product (GTIN)", id.gtin ?? "—"], ["Lot", id.lot ?? "not in the code"],
                   ["Expiry", id.expiry ?? "not in the code"], ["Serial number", id.serial ?? "—"]]);
  $("pack").hidden = false;
  const at = Date.parse(answer.verificationTimestamp);
  $("checked").textContent = `Checked against the ledger at ${Number.isNaN(at) ? "—" : new Date(at).toLocaleString()}.`;
  current = verified && !found.length ? id : null;
  stage = current ? "ready" : verified ? "warned" : "bad";
}

async function scan(text) {
  const n = ++asked;
  current = null;
  stage = "none";
  refresh();
  clearResult();
  say("dispense-status", null);
  say("verdict", null, "Checking the pack…");
  let answer;
  try {
    answer = await request("/v1/supply/scan", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ scan: text, context: "dispense" }),
    });
  } catch (e) {
    if (n !== asked) return;
    const what = e.status === 400 ? "Not a pack's code" : "Not checked";
    say("verdict", false, `${what} (${e.code}): ${e.reason}`);
    return;
  } finally {
    if (n === asked) $("scan").select();  // the next scan replaces this one
  }
  if (n !== asked) return;
  render(answer);
  refresh();
}

async function dispense() {
  const pack = current;
  if (!pack || !dispenser) return;
  current = null;  // one dispensing per scan, whatever the outcome
  stage = "recording";
  refresh();
  say("dispense-status", null, "Recording the dispensing on the ledger…");
  try {
    const job = await session.post("/epcis/capture", dispensingDocument(pack));
    if (job.success) {
      say("dispense-status", true, `Dispensed: recorded on the ledger by ${dispenser.org} `,
          "(event ", el("code", {}, job.eventHashes?.[0] ?? "—"), ").");
      stage = "dispensed";
    } else {
      const error = job.errors?.[0] ?? {};
      refused(error.code ?? "REFUSED", error.reason ?? "");
    }
  } catch (e) {
    refused(e.code, e.reason);
  }
  refresh();
  $("scan").focus();
  $("scan").select();
}

function refused(code, reason) {
  say("dispense-status", false, "Not dispensed: ", el("strong", { class: "code" }, code),
      `: ${REFUSALS[code] ?? spaced(code).toLowerCase()}. Nothing was recorded. (${reason})`);
  stage = "refused";
}

async function whoDispenses() {
  session = await signedIn();
  if (!session) {
    $("dispense-note").replaceChildren("Anyone may check a pack. To dispense, ",
      el("a", { href: "/ui/" }, "sign in"),
      " as a pharmacy's or hospital's supply operator or pharmacist.");
    $("dispense-why").textContent = "Not signed in: checking only.";
    return;
  }
  const member = await session.member();
  const role = DISPENSER_ROLES.find((r) => currentRoles(member).has(r));
  let type = null;
  if (member?.org && role) {
    const page = await session.get("/v1/members", { params: { org: member.org, limit: 1 } });
    type = (page.organisations ?? []).find((o) => o.id === member.org)?.type ?? null;
  }
  if (role && DISPENSER_TYPES.includes(type)) {
    dispenser = { org: member.org, role };
    $("dispense-note").textContent = `You dispense as ${spaced(role)} of ${member.org} (a ${type}).`;
    refresh();
  } else {
    $("dispense-note").className = "bad";
    $("dispense-note").textContent = "Only a supply operator or pharmacist of a pharmacy or "
      + "hospital dispenses: you may check packs here, not dispense them.";
    $("dispense-why").textContent = "Checking only.";
  }
}

$("scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("scan").value.trim();
  if (text) scan(text);
});
$("dispense").addEventListener("click", dispense);
$("scan").focus();
whoDispenses().catch((e) => say("dispense-note", false, `Could not tell who you are: ${e.message}`));
