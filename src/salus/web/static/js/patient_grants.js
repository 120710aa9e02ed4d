// The patient's grants: the consent document on the ledger (GET /v1/consent) as a table
// with a revoke button (and a confirm step) on each grant in force, and the form that
// signs consent.grant in this browser. The node checks every argument; the page sends
// what the form holds and shows the node's code when it refuses.
import { ApiError } from "./api.js";
import { $, el, onSubmit, shortDid, verdict } from "./ui.js";
import { dateText } from "./records_view.js";

// HL7 v3 ActReason purposes of use the consent contract takes (records layout PURPOSES).
export const PURPOSES = [
  ["TREAT", "Treatment"], ["ETREAT", "Emergency treatment"],
  ["HPAYMT", "Payment (insurance claims)"], ["HOPERAT", "Healthcare operations"],
  ["HRESCH", "Research"], ["PUBHLTH", "Public health"], ["PATRQT", "At my request"],
];
// FHIR resource types a custodian registers (records layout RESOURCE_TYPES), in words.
export const RESOURCE_TYPES = [
  ["Condition", "Problems"], ["MedicationRequest", "Prescriptions"],
  ["MedicationStatement", "Medicines taken"], ["AllergyIntolerance", "Allergies"],
  ["Immunization", "Immunisations"], ["Encounter", "Visits and stays"],
  ["Observation", "Observations and results"], ["Procedure", "Procedures"],
  ["DiagnosticReport", "Reports"], ["DocumentReference", "Documents"],
  ["ImagingStudy", "Imaging"], ["QuestionnaireResponse", "Questionnaires"],
  ["Binary", "Attachments"], ["Patient", "My details"],
];
// Roles a patient is likely to grant to (salus.ledger.members.ROLES).
const ROLES = [
  ["clinician", "Clinicians"], ["emergency_clinician", "Emergency clinicians"],
  ["nurse", "Nurses"], ["pharmacist", "Pharmacists"], ["lab_technician", "Lab technicians"],
  ["registrar", "Registrars"], ["claims_officer", "Claims officers"],
  ["researcher", "Researchers"],
];
const words = (list) => new Map(list);
const PURPOSE_WORDS = words(PURPOSES);
const TYPE_WORDS = words(RESOURCE_TYPES);
const ROLE_WORDS = words(ROLES);

// The period a person picked, as the contract's ms: from the start of the first day to
// the end of the last (the start of the next), both in this browser's time zone.
export function periodOf(startDate, endDate) {
  const day = (text, plus) => {
    if (!text) return undefined;
    const [y, m, d] = text.split("-").map(Number);
    return new Date(y, m - 1, d + plus).getTime();
  };
  return { start: day(startDate, 0), end: day(endDate, 1) };
}

export class Grants {
  constructor(session, directory) {
    this.session = session;
    this.directory = directory;  // {orgName(id), member(did)}
    this.pending = null;  // the grant id whose revoke awaits confirmation
  }

  granteeText(grantee) {
    if (grantee.member) {
      const m = this.directory.member(grantee.member);
      const roles = (m?.roles ?? []).filter((r) => r.to === null).map((r) => r.role);
      return [el("code", { title: grantee.member }, shortDid(grantee.member)),
              m ? ` (${roles.join(", ") || "member"} at ${this.directory.orgName(m.org)})` : ""];
    }
    const role = grantee.role ? (ROLE_WORDS.get(grantee.role) ?? grantee.role) : "Anyone";
    return grantee.org ? `${role} at ${this.directory.orgName(grantee.org)}` : `${role} at any organisation`;
  }

  static status(grant, now = Date.now()) {
    if (grant.status === "revoked") return `revoked ${dateText(grant.revoked_time)}`;
    if (grant.end !== null && grant.end <= now) return "expired";
    if (grant.start !== null && grant.start > now) return "not started yet";
    return "active";
  }

  static period(grant) {
    const from = grant.start === null ? `granted ${dateText(grant.granted_time)}` : `from ${dateText(grant.start)}`;
    return grant.end === null ? `${from}, no end` : `${from} until ${dateText(grant.end - 1)}`;
  }

  async load() {
    const doc = await this.session.get("/v1/consent");
    this.show(Object.values(doc.grants ?? {}));
    return doc;
  }

  show(grants) {
    grants.sort((a, b) => (a.status === "revoked") - (b.status === "revoked")
                          || b.granted_height - a.granted_height);
    const body = $("grants").tBodies[0];
    body.replaceChildren(...grants.map((g) => this.row(g)));
    if (!grants.length) {
      body.append(el("tr", {}, el("td", { colspan: 6 }, "You have granted no one access.")));
    }
  }

  row(g) {
    const status = Grants.status(g);
    const records = [...g.resource_types.map((t) => TYPE_WORDS.get(t) ?? t),
                     ...(g.records.length ? [`${g.records.length} chosen records`] : [])];
    const action = el("td", {});
    if (g.status !== "revoked") action.append(this.revokeControls(g));
    return el("tr", { "data-grant": g.id },
      el("td", {}, this.granteeText(g.grantee)),
      el("td", {}, g.purposes.map((p) => `${PURPOSE_WORDS.get(p) ?? p} (${p})`).join(", ")),
      el("td", {}, records.join(", ") || "All my records"),
      el("td", {}, Grants.period(g)),
      el("td", { class: status === "active" ? "ok" : "" }, status),
      action);
  }

  revokeControls(g) {
    const box = el("div", { class: "revoke" });
    const ask = () => {
      box.replaceChildren(
        el("span", { id: `confirm-${g.id}` }, "Revoke this grant? They lose access at once."), " ",
        el("button", { type: "button", class: "danger confirm-revoke", "aria-describedby": `confirm-${g.id}`,
                       onclick: () => this.revoke(g.id, box) }, "Yes, revoke"), " ",
        el("button", { type: "button", onclick: () => {
          box.replaceChildren(start());
          box.querySelector("button").focus();
        } }, "Keep it"));
      box.querySelector(".confirm-revoke").focus();
    };
    const start = () => el("button", { type: "button", class: "revoke-start", onclick: ask,
                                       "aria-label": "Revoke the grant to " + (g.grantee.member ?? [g.grantee.role, g.grantee.org].filter(Boolean).join(" at ")) },
                           "Revoke");
    box.append(start());
    return box;
  }

  async revoke(id, box) {
    for (const b of box.querySelectorAll("button")) b.disabled = true;
    try {
      await this.session.call("consent", "revoke", { grant: id });
      verdict(true, "Revoked: the grant is no longer in force.", "grants-status");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      verdict(false, `Not revoked: ${e.code}: ${e.reason}`, "grants-status");
    }
    await this.load();
  }

  // Fill the form's lists and wire it to sign consent.grant.
  form() {
    const checks = (list, name) => list.map(([code, text]) => el("label", { class: "inline check" },
      el("input", { type: "checkbox", name, value: code }), ` ${text} `, el("code", {}, code)));
    $("purposes").append(...checks(PURPOSES, "purpose"));
    $("types").append(...checks(RESOURCE_TYPES, "type"));
    $("grantee-org").append(...this.directory.orgs.map((o) => el("option", { value: o.id }, o.name || o.id)));
    $("grantee-role").append(...ROLES.map(([code, text]) => el("option", { value: code }, text)));
    $("staff").append(...this.directory.staff.map((m) => el("option", { value: m.id },
      `${m.roles.filter((r) => r.to === null).map((r) => r.role).join(", ")} at ${this.directory.orgName(m.org)}`)));
    for (const radio of document.querySelectorAll("#grant input[name=kind]")) {
      radio.addEventListener("change", () => {
        const group = $("grant").elements.kind.value === "group";
        $("grantee-member").hidden = group;
        $("grantee-group").hidden = !group;
      });
    }
    onSubmit($("grant"), "grant-status", async (data) => {
      const args = { grantee: granteeOf(data), purposes: data.getAll("purpose") };
      const types = data.getAll("type");
      if (types.length) args.resource_types = types;
      const { start, end } = periodOf(data.get("start"), data.get("end"));
      if (start !== undefined) args.start = start;
      if (end !== undefined) args.end = end;
      try {
        const receipt = await this.session.call("consent", "grant", args);
        $("grant").reset();
        $("grantee-member").hidden = false;
        $("grantee-group").hidden = true;
        await this.load();
        return `Granted (${receipt.output?.grant ?? "on the ledger"}).`;
      } catch (e) {
        if (e instanceof ApiError) throw new Error(`Refused by the node: ${e.code}: ${e.reason}`);
        throw e;
      }
    });
  }
}

function granteeOf(data) {
  if (data.get("kind") !== "group") return { member: String(data.get("member") ?? "").trim() };
  const grantee = {};
  if (data.get("org")) grantee.org = data.get("org");
  if (data.get("role")) grantee.role = data.get("role");
  if (!grantee.org && !grantee.role) {
    throw new Error("Choose an organisation, a role, or both: a grant to everyone is not allowed.");
  }
  return grantee;
}
