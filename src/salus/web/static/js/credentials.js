// The credentials page: anyone verifies a credential, dossier or presentation with the
// node (POST /v1/credentials/verify, /verify-presentation: the API the CLI uses); a
// signed-in holder keeps a wallet in this browser and answers a credentialing request
// with a presentation signed here by their key.
import { ApiError } from "./api.js";
import { assertFaithful, ProofError } from "./data_integrity.js";
import { signedIn } from "./layout.js";
import { checkRequest, credentialType, REQUEST_TYPE, RequestError, respond } from "./presentation.js";
import { parse, post, readFile } from "./json_files.js";
import { showReport } from "./reports.js";
import { $, el, onSubmit, shortDid, show, verdict } from "./ui.js";
import * as wallet from "./wallet.js";

function kindOf(doc) {
  if (doc?.type === REQUEST_TYPE) return "request";
  const types = Array.isArray(doc?.type) ? doc.type : [doc?.type];
  if (types.includes("VerifiablePresentation")) return "presentation";
  if (Array.isArray(doc) || Array.isArray(doc?.credentials)) return "dossier";
  return "credential";
}

// Verify what was dropped, chosen or pasted: a request fills in the challenge and domain;
// one credential, dossier or presentation is verified as such; several credentials as a
// dossier.
async function verifyItems(items) {
  const requests = items.filter((i) => kindOf(i.doc) === "request");
  for (const r of requests) {
    const req = checkRequest(r.doc);
    $("challenge").value = req.challenge;
    $("domain").value = req.domain;
  }
  const rest = items.filter((i) => kindOf(i.doc) !== "request");
  if (rest.length === 0) {
    $("report").replaceChildren();
    return verdict(true, `Request loaded (domain ${$("domain").value}): now drop the presentation that answers it.`);
  }
  let kind = kindOf(rest[0].doc);
  let body;
  if (rest.length > 1) {
    if (!rest.every((i) => kindOf(i.doc) === "credential")) {
      throw new ApiError("ONE_AT_A_TIME", "drop one presentation or dossier at a time, or several credentials");
    }
    kind = "dossier";
    body = `{"credentials":[${rest.map((i) => i.text).join(",")}]}`;
  } else if (kind === "presentation") {
    const challenge = $("challenge").value.trim();
    const domain = $("domain").value.trim();
    if (!challenge || !domain) {
      throw new ApiError("CHALLENGE_NEEDED", "a presentation is checked against the challenge and domain you gave its holder: fill them in, or drop your request file first");
    }
    body = `{"presentation":${rest[0].text},"challenge":${JSON.stringify(challenge)},"domain":${JSON.stringify(domain)}}`;
  } else if (kind === "dossier") {
    body = Array.isArray(rest[0].doc) ? `{"credentials":${rest[0].text}}` : rest[0].text;
  } else {
    body = `{"credential":${rest[0].text}}`;
  }
  const path = kind === "presentation" ? "/v1/credentials/verify-presentation" : "/v1/credentials/verify";
  const report = await post(path, body);
  showReport(report, kind, "verdict", "report");
}

async function verifyInput(read) {
  $("verdict").className = "";
  $("verdict").textContent = "Verifying…";
  try {
    await verifyItems(await read());
  } catch (e) {
    $("report").replaceChildren();
    verdict(false, e.message);
  }
}

$("verify-files").addEventListener("change", () => {
  const files = [...$("verify-files").files];
  if (files.length) verifyInput(() => Promise.all(files.map(readFile)));
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const files = [...(event.dataTransfer?.files ?? [])];
  if (files.length) verifyInput(() => Promise.all(files.map(readFile)));
});
$("paste-form").addEventListener("submit", (event) => {
  event.preventDefault();
  verifyInput(async () => [parse("the pasted text", $("paste").value)]);
});

// -- the wallet --------------------------------------------------------------------------
let session = null;
let held = [];
let loaded = null;  // the credentialing request being answered
let downloadUrl = null;

async function importOne(file) {
  const { text, doc } = await readFile(file);
  const subject = doc?.credentialSubject?.id;
  if (typeof doc?.id !== "string" || !/^urn:uuid:[0-9a-f-]{36}$/.test(doc.id)) {
    throw new ApiError("NOT_A_CREDENTIAL", "it is not an issued credential (no urn:uuid id)");
  }
  if (subject !== session.did) {
    throw new ApiError("NOT_YOURS", `it is about ${subject}, not about you (${session.did})`);
  }
  assertFaithful(doc);
  const report = await post("/v1/credentials/verify", `{"credential":${text}}`);
  if (report.steps[0].ok === false) {
    throw new ApiError("NOT_A_CREDENTIAL", `not an issued Salus credential: ${report.steps[0].reason}`);
  }
  await wallet.put(session.did, doc);
}

function statusCell(report) {
  if (!report) return el("span", {}, "not checked");
  if (report.ok) return el("span", { class: "ok" }, "✔ verified");
  const reason = report.steps.find((s) => s.step === report.failed_step)?.reason ?? "";
  return el("span", { class: "bad" }, `✘ ${report.failed_step}: ${reason}`);
}

async function refresh() {
  held = (await wallet.list(session.did))
    .sort((a, b) => String(a.validFrom).localeCompare(String(b.validFrom)));
  let reports = [];
  if (held.length) {
    try {
      reports = (await post("/v1/credentials/verify", JSON.stringify(
        { credentials: held, subject: session.did }))).credentials;
    } catch (e) {
      verdict(false, `cannot check the wallet's credentials now: ${e.message}`, "wallet-status");
    }
  }
  const wanted = new Set(loaded?.types ?? []);
  const body = $("wallet-table").tBodies[0];
  body.replaceChildren(...held.map((c, i) => {
    const type = credentialType(c) ?? "?";
    const valid = `${String(c.validFrom).slice(0, 10)} to ${c.validUntil ? String(c.validUntil).slice(0, 10) : "—"}`;
    return el("tr", { "data-id": c.id },
      el("td", {}, el("input", { type: "checkbox", value: c.id, checked: wanted.has(type),
                                 "aria-label": `Share ${type} ${c.id}` })),
      el("td", {}, type),
      el("td", {}, el("code", { title: c.issuer }, shortDid(c.issuer))),
      el("td", {}, valid),
      el("td", { class: "status" }, statusCell(reports[i])),
      el("td", {}, el("button", { type: "button", "aria-label": `Remove ${type} ${c.id}`,
                                  onclick: async () => { await wallet.remove(session.did, c.id); await refresh(); } },
                      "Remove")));
  }));
  if (!held.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "6" }, "No credentials in this browser yet.")));
  }
}

async function startWallet() {
  session = await signedIn();
  if (!session) return;
  $("wallet-signin").hidden = true;
  $("wallet").hidden = false;
  await refresh();
}

onSubmit($("wallet-import"), "wallet-status", async (form) => {
  const refused = [];
  let added = 0;
  for (const file of form.getAll("files")) {
    try {
      await importOne(file);
      added += 1;
    } catch (e) {
      if (!(e instanceof ApiError || e instanceof ProofError)) throw e;
      refused.push(`${file.name}: ${e.message}`);
    }
  }
  $("wallet-import").reset();
  await refresh();
  if (refused.length) throw new Error(`Added ${added}; refused ${refused.join("; ")}`);
  return `Added ${added} credential(s) to this browser's wallet.`;
});

onSubmit($("request-form"), "request-status", async (form) => {
  const { doc } = await readFile(form.get("request"));
  loaded = checkRequest(doc);
  show($("request-facts"), [["From", loaded.requester], ["Domain", loaded.domain],
                            ["Asks for", loaded.types.join(", ")], ["Request", loaded.id]]);
  await refresh();
  $("answer").disabled = false;
  return `Request loaded. The credentials it asks for are ticked: change the choice if you wish, then sign.`;
});

$("answer").addEventListener("click", async () => {
  $("answer").disabled = true;
  try {
    const chosen = [...$("wallet-table").querySelectorAll("input[type=checkbox]:checked")]
      .map((box) => box.value);
    const presentation = await respond(loaded, held, chosen, session.key);
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([JSON.stringify(presentation, null, 1) + "\n"],
                                               { type: "application/json" }));
    $("answer-download").href = downloadUrl;
    $("answer-download").hidden = false;
    // Shown as the office will see it: checked by the node against the request.
    const report = await post("/v1/credentials/verify-presentation", JSON.stringify(
      { presentation, challenge: loaded.challenge, domain: loaded.domain }));
    const types = new Set(presentation.verifiableCredential.map(credentialType));
    const missing = loaded.types.filter((t) => !types.has(t));
    showReport(report, "presentation", "answer-status", "answer-report");
    if (missing.length) {
      verdict(false, `Signed, but it lacks what the request asks for: ${missing.join(", ")}`, "answer-status");
    }
    $("answer-download").focus();
  } catch (e) {
    if (!(e instanceof ApiError || e instanceof ProofError || e instanceof RequestError)) throw e;
    verdict(false, e.message, "answer-status");
  } finally {
    $("answer").disabled = false;
  }
});

startWallet().catch((e) => verdict(false, e.message, "wallet-status"));
