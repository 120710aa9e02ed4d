// A node's verification report (salus.credentials.verifier / presentation to_json) shown
// as the Blockcerts verifier shows one: each step in order, ✔ passed, ✘ failed, – not
// checked, with its reason, and the first failed step named. Text only: nothing in a
// report (a credential's type, an issuer's did, a reason) can become markup.
import { $, el, verdict } from "./ui.js";

const MARK = { true: "✔", false: "✘", null: "–" };
const CLASS = { true: "ok", false: "bad", null: "unchecked" };

// The first failed step of any report: a presentation's own, else "dossier" for a problem
// of the whole, else `credentials[i].<step>` (as salus.credentials.presentation names it).
export function failedStep(report) {
  if (report.failed_step) return report.failed_step;
  const own = (report.steps ?? []).find((s) => s.ok === false);
  if (own) return own.step;
  const dossier = report.dossier ?? (Array.isArray(report.credentials) ? report : null);
  if (!dossier) return null;
  if ((dossier.problems ?? []).length) return "dossier";
  const i = (dossier.credentials ?? []).findIndex((c) => c.failed_step);
  return i < 0 ? null : `credentials[${i}].${dossier.credentials[i].failed_step}`;
}

// The reason the named step (as failedStep gives it) failed.
export function failedReason(report, name) {
  if (name === "dossier") return (report.dossier ?? report).problems.join("; ");
  const m = /^credentials\[(\d+)\]\.(\w+)$/.exec(name ?? "");
  const steps = m ? (report.dossier ?? report).credentials[Number(m[1])].steps : report.steps;
  return steps?.find((s) => s.step === (m ? m[2] : name))?.reason ?? "";
}

function stepList(steps, prefix = "") {
  return el("ol", { class: "steps" }, steps.map((s) => el(
    "li", { class: CLASS[s.ok], "data-step": prefix + s.step },
    el("span", { "aria-hidden": "true" }, `${MARK[s.ok]} `),
    el("strong", {}, s.step), ` ${s.ok === true ? "passed" : s.ok === false ? "failed" : "not checked"}: `,
    s.reason)));
}

function credentialCard(report, label) {
  const title = `${label}: ${report.type ?? "not a credential"}`;
  const outcome = report.ok ? "verified" : `failed at ${report.failed_step}`;
  return el("article", { class: "card", "data-credential": label },
    el("h4", {}, title, " ", el("span", { class: report.ok ? "ok" : "bad" }, `(${outcome})`)),
    el("dl", {}, el("dt", {}, "Issuer"), el("dd", {}, report.issuer ?? "—"),
       el("dt", {}, "Subject"), el("dd", {}, report.subject ?? "—"),
       el("dt", {}, "Id"), el("dd", {}, report.id ?? "—")),
    stepList(report.steps, label.startsWith("credentials[") ? `${label}.` : ""));
}

function dossierPart(dossier) {
  const s = dossier.summary;
  const parts = [el("p", {}, `${s.credentials} credential(s): ${s.passed} passed, ${s.failed} failed`,
                   dossier.context ? ` (as of height ${dossier.context.height} of ${dossier.context.chain_id})` : "")];
  if (dossier.problems.length) {
    parts.push(el("ul", { class: "bad" }, dossier.problems.map((p) => el("li", {}, p))));
  }
  dossier.credentials.forEach((c, i) => parts.push(credentialCard(c, `credentials[${i}]`)));
  return parts;
}

// The report's elements: what it is, then every step.
export function renderReport(report, kind) {
  if (kind === "presentation") {
    return [el("h3", {}, "The presentation"), stepList(report.steps),
            ...(report.dossier ? [el("h3", {}, "The credentials in it"), ...dossierPart(report.dossier)]
                               : [])];
  }
  if (kind === "dossier") return [el("h3", {}, "The dossier"), ...dossierPart(report)];
  return [el("h3", {}, "The credential"), credentialCard(report, "credential")];
}

// Show a report in the element `reportId`, and its verdict (passed, or the first failed
// step and why) in the status line `verdictId`.
export function showReport(report, kind, verdictId, reportId) {
  $(reportId).replaceChildren(...renderReport(report, kind));
  if (report.ok) {
    verdict(true, `Verified: every step passed (${kind})`, verdictId);
  } else {
    const step = failedStep(report);
    verdict(false, `Failed at ${step}: ${failedReason(report, step)}`, verdictId);
  }
}
