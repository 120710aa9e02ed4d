// The credentials page for a credentialing office (any signed-in member; in the demo,
// office-uma at St Mary's): ask a physician for credentials with a request made here, then
// assess their presentation: verified by the node against the request's challenge and
// domain, the report built and signed here by the office's key, and, if asked, its hash
// anchored on the ledger by a transaction signed here (notary.anchor, as the CLI's
// `salus credentialing verify --anchor`).
import { ApiError } from "./api.js";
import { ANCHOR_LABEL, assess, KNOWN_TYPES, ownRequest, reportHash, requestDossier } from "./credentialing.js";
import { ProofError } from "./data_integrity.js";
import { post, readFile } from "./json_files.js";
import { RequestError } from "./presentation.js";
import { failedReason, renderReport } from "./reports.js";
import { Session } from "./session.js";
import { $, el, onSubmit, show, verdict } from "./ui.js";

const urls = {};

// A download link for `doc` as a JSON file; the link's previous file is let go.
function offer(linkId, doc) {
  if (urls[linkId]) URL.revokeObjectURL(urls[linkId]);
  urls[linkId] = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 1) + "\n"],
                                              { type: "application/json" }));
  $(linkId).href = urls[linkId];
  $(linkId).hidden = false;
}

// Words for a type name: "BoardCertificationCredential" -> "Board certification".
const words = (type) => type.replace(/Credential$/, "").replace(/([a-z])([A-Z])/g, "$1 $2")
  .replace(/ (\w)/g, (_, c) => ` ${c.toLowerCase()}`);

// The refusals the anchoring step shows; anything else is a bug and is left to surface.
const refusal = (e) => e instanceof ApiError || e instanceof ProofError || e instanceof RequestError;

async function start() {
  const session = await Session.resume();
  if (!session) return;
  $("office-signin").hidden = true;
  $("office").hidden = false;
  $("ask-types").append(...KNOWN_TYPES.map((type, i) => el("div", { class: "choice" },
    el("input", { type: "checkbox", id: `ask-type-${i}`, name: "type", value: type }),
    el("label", { for: `ask-type-${i}` }, `${words(type)} `, el("code", {}, type)))));

  onSubmit($("ask-form"), "ask-status", async (form) => {
    $("ask-download").hidden = true;
    const req = requestDossier(session.did, String(form.get("domain")).trim(), form.getAll("type"));
    show($("ask-facts"), [["Domain", req.domain], ["Asks for", req.types.join(", ")],
                          ["Request", req.id], ["Challenge", req.challenge]]);
    offer("ask-download", req);
    $("ask-download").focus();
    return "Request made. Send the file to the physician, and keep it: you need it to assess their answer.";
  });

  onSubmit($("assess-form"), "assess-status", async (form) => {
    for (const id of ["assess-download", "anchor-status"]) $(id).hidden = true;
    $("assess-report").replaceChildren();
    $("assess-facts").replaceChildren();
    const [req, vp] = await Promise.all([readFile(form.get("request")),
                                         readFile(form.get("presentation"))]);
    const request = ownRequest(req.doc, session.did);  // before anything is sent
    const result = await post("/v1/credentials/verify-presentation", `{"presentation":${vp.text},`
      + `"challenge":${JSON.stringify(request.challenge)},"domain":${JSON.stringify(request.domain)}}`);
    const report = await assess(request, result, session.key);
    offer("assess-download", report);
    $("assess-report").replaceChildren(...renderReport(result, "presentation"));
    show($("assess-facts"), [["Holder", report.holder ?? "—"],
                             ["Asked for", report.requested_types.join(", ")],
                             ["Missing", report.missing_types.join(", ") || "none"],
                             ["Failed step", result.failed_step ?? "none"],
                             ["Report", report.id]]);
    if (form.get("anchor")) await anchor(session, report);
    if (report.complete) return "Complete: every requested credential is there and verified. The report is signed by your key.";
    const why = result.failed_step ? ` The presentation failed at ${result.failed_step}: ${failedReason(result, result.failed_step)}.` : "";
    throw new Error(`Incomplete: missing ${report.missing_types.join(", ") || "nothing, but the presentation failed"}.${why} The report is signed by your key all the same.`);
  });
}

// Date the report: its hash on the ledger. The report is already offered for download: a
// refusal here is shown and leaves it unanchored (as the CLI's "written but not anchored").
async function anchor(session, report) {
  const hash = await reportHash(report);
  const status = $("anchor-status");
  status.hidden = false;
  status.textContent = "Anchoring the report's hash on the ledger…";
  status.className = "";
  try {
    const receipt = await session.call("notary", "anchor", { hash, label: ANCHOR_LABEL });
    status.className = "ok";
    status.replaceChildren(`✔ Anchored: SHA-256 ${hash} at height ${receipt.height}, transaction `,
      el("a", { href: `/ui/pages/explorer?tx=${receipt.tx_id}`, "data-tx": receipt.tx_id },
         `${receipt.tx_id.slice(0, 12)}…`));
  } catch (e) {
    if (!refusal(e)) throw e;
    verdict(false, `The report was signed but not anchored: ${e.message}`, "anchor-status");
  }
}

start().catch((e) => verdict(false, e.message, "ask-status"));
