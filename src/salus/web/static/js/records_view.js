// A patient's FHIR records (a searchset Bundle from /fhir/Patient/{id}/$everything) read
// for a person, on the patient's page and the clinician's: which group each resource
// belongs to, a line of words for it, when it happened, where it came from; the records
// that were not served, with the node's code and reason; the patient's demographics; each
// numeric observation's values over time. Pure functions over the FHIR JSON (no DOM), so
// Node can test them; everything they return is text for textContent, never markup.

// The groups a person looks for, in the order the pages show them. Together they hold
// every type the ledger stores (salus.records.contracts.layout.RESOURCE_TYPES, Patient
// aside: the test checks it), so a type outside them was not served by a facade.
export const GROUPS = [
  ["problems", "Problems", ["Condition"]],
  ["medications", "Medications", ["MedicationRequest", "MedicationStatement"]],
  ["allergies", "Allergies", ["AllergyIntolerance"]],
  ["immunisations", "Immunisations", ["Immunization"]],
  ["encounters", "Encounters", ["Encounter"]],
  ["observations", "Observations", ["Observation"]],
  ["other", "Procedures, reports and documents",
   ["Procedure", "DiagnosticReport", "DocumentReference", "ImagingStudy",
    "QuestionnaireResponse", "Binary"]],
];

// HL7 v3 ActCode encounter classes, in words.
const ENCOUNTER_CLASS = {
  AMB: "Outpatient visit", EMER: "Emergency visit", IMP: "Hospital stay",
  ACUTE: "Hospital stay (acute)", NONAC: "Hospital stay", OBSENC: "Observation stay",
  PRENC: "Pre-admission", SS: "Short stay", VR: "Virtual visit", HH: "Home visit",
  FLD: "Field visit",
};

// A FHIR id from a patient's did (the facade names patients by their did:key without
// its prefix: salus.records.fhir_export.patient_fhir_id), or null if it is not one.
export function patientFhirId(did) {
  const id = String(did ?? "").trim().replace(/^did:key:/, "");
  return /^z[1-9A-HJ-NP-Za-km-z]{44,50}$/.test(id) ? id : null;
}

// A FHIR date or dateTime for a person: a bare date as written, a time in local time;
// a number is a moment (ms since the epoch), shown as its local date.
export function dateText(value) {
  if (typeof value === "number") return new Date(value).toLocaleDateString(undefined, { dateStyle: "medium" });
  if (!value) return "";
  if (/^\d{4}(-\d{2}){0,2}$/.test(value)) return value;
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// A moment (ms since the epoch) in local time, to the minute.
export function timeText(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// Only strings (and numbers) of a record become words: anything else a record holds
// where text belongs is left out rather than shown as "[object Object]".
const text = (v) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

// Words for a CodeableConcept: its text, else its first coding's display, else the code.
export function conceptText(concept) {
  if (!concept || typeof concept !== "object") return "";
  if (text(concept.text)) return text(concept.text);
  const codings = Array.isArray(concept.coding) ? concept.coding : [];
  for (const c of codings) if (c && text(c.display)) return text(c.display);
  for (const c of codings) if (c && text(c.code)) return text(c.code);
  return "";
}

// The custodian that served a resource: the FHIR facade sets meta.source urn:salus:<org>;
// "" when it names none (no other source is passed off as a custodian).
export function custodianOf(resource) {
  const source = text(resource?.meta?.source);
  return source.startsWith("urn:salus:") ? source.slice("urn:salus:".length) : "";
}

// The clinical date of a resource (a FHIR date or dateTime), or "" when it names none.
export function clinicalDate(r) {
  const candidates = [r.effectiveDateTime, r.effectivePeriod?.start, r.issued,
                      r.occurrenceDateTime, r.onsetDateTime, r.recordedDate, r.authoredOn,
                      r.period?.start, r.performedDateTime, r.performedPeriod?.start, r.date,
                      r.started, r.dateAsserted];
  return candidates.map(text).find((d) => d !== "") ?? "";
}

export function quantityText(q) {
  if (!q || typeof q.value !== "number") return "";
  const unit = text(q.unit) || text(q.code);
  return unit ? `${q.value} ${unit}` : String(q.value);
}

function valueText(r) {
  return quantityText(r.valueQuantity) || conceptText(r.valueCodeableConcept) ||
    text(r.valueString) || (typeof r.valueBoolean === "boolean" ? (r.valueBoolean ? "yes" : "no") : "") ||
    (typeof r.valueInteger === "number" ? String(r.valueInteger) : "");
}

// {type, what, details: [words], date} for one resource.
export function describe(r) {
  const type = text(r.resourceType);
  const status = text(r.status);
  let what = "";
  const details = [];
  switch (type) {
    case "Condition":
      what = conceptText(r.code);
      details.push(conceptText(r.clinicalStatus), conceptText(r.severity));
      break;
    case "MedicationRequest":
    case "MedicationStatement":
      what = conceptText(r.medicationCodeableConcept) || text(r.medicationReference?.display);
      details.push(type === "MedicationRequest" ? "prescribed" : "taken",
                   text(r.dosageInstruction?.[0]?.text) || text(r.dosage?.[0]?.text), status);
      break;
    case "AllergyIntolerance":
      what = conceptText(r.code);
      details.push(text(r.criticality) && `criticality ${text(r.criticality)}`,
                   conceptText(r.reaction?.[0]?.manifestation?.[0]), conceptText(r.clinicalStatus));
      break;
    case "Immunization":
      what = conceptText(r.vaccineCode);
      details.push(status);
      break;
    case "Encounter": {
      // The custodian's own words for the class first, else the class code in words.
      const cls = text(r.class?.code);
      what = conceptText(r.type?.[0]) || text(r.class?.display) || ENCOUNTER_CLASS[cls] || cls ||
        "Encounter";
      details.push(conceptText(r.reasonCode?.[0]), status);
      break;
    }
    case "Observation":
      what = conceptText(r.code);
      details.push(valueText(r), status);
      break;
    default:
      what = conceptText(r.code) || conceptText(r.type) || text(r.description) || text(r.contentType);
      details.push(status);
  }
  return { type, what: what || type, details: details.filter((d) => d), date: clinicalDate(r) };
}

function groupOf(type) {
  return GROUPS.find(([, , types]) => types.includes(type))?.[0] ?? null;
}

// The OperationOutcome entries of a Bundle, one per issue: the record it concerns
// (Type/id, or null), the node's code (from "CODE: reason" diagnostics, else the FHIR
// issue code), the reason and the severity.
export function notServed(bundle) {
  const out = [];
  for (const entry of Array.isArray(bundle?.entry) ? bundle.entry : []) {
    const res = entry?.resource;
    if (res?.resourceType !== "OperationOutcome") continue;
    for (const issue of Array.isArray(res.issue) ? res.issue : []) {
      const said = text(issue?.diagnostics) || text(issue?.code);
      const m = /^([A-Z_]+): ([\s\S]*)$/.exec(said);
      out.push({ record: text(issue?.expression?.[0]) || null,
                 code: m ? m[1] : text(issue?.code), reason: m ? m[2] : said,
                 severity: text(issue?.severity) || "error" });
    }
  }
  return out;
}

// When an item happened, for ordering: its clinical date, else when it was registered.
export function sortTime(item) {
  const t = Date.parse(item.date);
  return Number.isNaN(t) ? (item.registered ?? 0) : t;
}

// When an item happened, in words: its clinical date, else when it was registered, else "".
export function whenText(item) {
  if (item.date) return dateText(item.date);
  return item.registered === null ? "" : `registered ${dateText(item.registered)}`;
}

// The Bundle read for a person: {patients: [Patient resources], groups: [{key, label,
// items}] (every group, in GROUPS order, empty ones too), notServed}. An item is
// {resource, id, custodian, registered (ms, from its Provenance, or null), ...describe},
// newest first.
export function readBundle(bundle) {
  const entries = Array.isArray(bundle?.entry) ? bundle.entry : [];
  const resources = entries.map((e) => e?.resource).filter((r) => r && typeof r === "object");
  const registered = new Map();
  for (const r of resources) {
    if (r.resourceType !== "Provenance") continue;
    const when = Date.parse(text(r.recorded));
    if (Number.isNaN(when)) continue;
    for (const t of Array.isArray(r.target) ? r.target : []) {
      if (text(t?.reference)) registered.set(text(t.reference), when);
    }
  }
  const items = new Map(GROUPS.map(([key]) => [key, []]));
  const patients = [];
  for (const r of resources) {
    if (r.resourceType === "Patient") { patients.push(r); continue; }
    const key = groupOf(r.resourceType);
    if (!key) continue;  // Provenance, OperationOutcome, and nothing the ledger holds
    items.get(key).push({ resource: r, id: text(r.id), custodian: custodianOf(r),
                          registered: registered.get(`${r.resourceType}/${text(r.id)}`) ?? null,
                          ...describe(r) });
  }
  for (const list of items.values()) list.sort((a, b) => sortTime(b) - sortTime(a));
  return { patients, notServed: notServed(bundle),
           groups: GROUPS.map(([key, label]) => ({ key, label, items: items.get(key) })) };
}

// A Patient resource's name ("" when it gives none), sex, birth date and custodian.
export function demographics(patient) {
  const n = Array.isArray(patient?.name) ? patient.name[0] : null;
  const given = Array.isArray(n?.given) ? n.given.map(text).join(" ") : "";
  const name = text(n?.text) || [given, text(n?.family)].filter((s) => s).join(" ");
  return { name, gender: text(patient?.gender) || null, birthDate: text(patient?.birthDate) || null,
           custodian: custodianOf(patient) };
}

// A person's name from their Patient resources ("" when none says).
export function personName(patients) {
  return patients.map((p) => demographics(p).name).find((name) => name) ?? "";
}

// Numeric observations as series, one per code: [{code, name, unit, points: [{t, value,
// unit, custodian}]}], each series' points oldest first, series in name order.
export function observationSeries(items) {
  const byCode = new Map();
  for (const item of items) {
    const r = item.resource;
    const q = r.valueQuantity;
    if (!q || typeof q.value !== "number" || !Number.isFinite(q.value)) continue;
    const coding = Array.isArray(r.code?.coding) ? r.code.coding[0] : null;
    const code = coding ? `${text(coding.system)}|${text(coding.code)}` : item.what;
    const t = sortTime(item);
    if (!byCode.has(code)) {
      byCode.set(code, { code, name: item.what, unit: text(q.unit) || text(q.code), points: [] });
    }
    byCode.get(code).points.push({ t, value: q.value, unit: text(q.unit) || text(q.code),
                                   custodian: item.custodian });
  }
  const series = [...byCode.values()];
  for (const s of series) s.points.sort((a, b) => a.t - b.t);
  return series.sort((a, b) => a.name.localeCompare(b.name));
}
