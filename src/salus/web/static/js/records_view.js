// A patient's FHIR records read for a person: which group each resource belongs to, a
// line of words for it, where it came from, and each numeric observation's values over
// time. Pure functions over the FHIR JSON (no DOM), so Node can test them; everything
// they return is text for textContent, never markup.

// The groups a person looks for, in the order the page shows them.
export const GROUPS = [
  ["problems", "Problems", ["Condition"]],
  ["medications", "Medications", ["MedicationRequest", "MedicationStatement"]],
  ["allergies", "Allergies", ["AllergyIntolerance"]],
  ["immunisations", "Immunisations", ["Immunization"]],
  ["encounters", "Encounters", ["Encounter"]],
  ["observations", "Observations", ["Observation"]],
  ["other", "Procedures, reports and documents",
   ["Procedure", "DiagnosticReport", "DocumentReference", "ImagingStudy", "Binary"]],
];

// HL7 v3 ActCode encounter classes, in words.
const ENCOUNTER_CLASS = {
  AMB: "Outpatient visit", EMER: "Emergency visit", IMP: "Hospital stay",
  ACUTE: "Hospital stay (acute)", NONAC: "Hospital stay", OBSENC: "Observation stay",
  PRENC: "Pre-admission", SS: "Short stay", VR: "Virtual visit", HH: "Home visit",
  FLD: "Field visit",
};

// A FHIR date or dateTime for a person: a bare date as written, a time in local time.
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

// The custodian that served a resource: the FHIR facade sets meta.source urn:salus:<org>.
export function custodianOf(resource) {
  const source = text(resource?.meta?.source);
  return source.startsWith("urn:salus:") ? source.slice("urn:salus:".length) : "";
}

// The clinical date of a resource (an ISO string), or "" when it names none.
export function clinicalDate(r) {
  const candidates = [r.effectiveDateTime, r.effectivePeriod?.start, r.issued,
                      r.occurrenceDateTime, r.onsetDateTime, r.recordedDate, r.authoredOn,
                      r.period?.start, r.performedDateTime, r.performedPeriod?.start, r.date,
                      r.started];
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

// {what, details, date} in words for one resource.
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
      const cls = text(r.class?.code);
      what = conceptText(r.type?.[0]) || ENCOUNTER_CLASS[cls] || cls || "Encounter";
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
  return { type, what: what || type, details: details.filter((d) => d).join(" · "),
           date: clinicalDate(r) };
}

function groupOf(type) {
  return GROUPS.find(([, , types]) => types.includes(type))?.[0] ?? null;
}

// Split an $everything Bundle into the page's groups. Returns {groups: {key: [item]},
// patients: [Patient resources], unserved: [{record, reason, severity}]}; an item is
// {resource, custodian, registered (ms or null), ...describe(resource)}.
export function organise(bundle) {
  const entries = Array.isArray(bundle?.entry) ? bundle.entry : [];
  const registered = new Map();
  for (const e of entries) {
    const r = e?.resource;
    if (r?.resourceType !== "Provenance") continue;
    const target = text(r.target?.[0]?.reference);
    const when = Date.parse(text(r.recorded));
    if (target && !Number.isNaN(when)) registered.set(target, when);
  }
  const groups = Object.fromEntries(GROUPS.map(([key]) => [key, []]));
  const patients = [];
  const unserved = [];
  for (const e of entries) {
    const r = e?.resource;
    if (!r || typeof r !== "object") continue;
    if (r.resourceType === "OperationOutcome") {
      for (const issue of Array.isArray(r.issue) ? r.issue : []) {
        unserved.push({ record: text(issue?.expression?.[0]), reason: text(issue?.diagnostics),
                        severity: text(issue?.severity) });
      }
      continue;
    }
    if (r.resourceType === "Patient") { patients.push(r); continue; }
    const key = groupOf(r.resourceType);
    if (!key) continue;
    groups[key].push({ resource: r, custodian: custodianOf(r),
                       registered: registered.get(`${r.resourceType}/${text(r.id)}`) ?? null,
                       ...describe(r) });
  }
  for (const items of Object.values(groups)) {
    items.sort((a, b) => sortTime(b) - sortTime(a));
  }
  return { groups, patients, unserved };
}

// When an item happened, for ordering: its clinical date, else when it was registered.
export function sortTime(item) {
  const t = Date.parse(item.date);
  return Number.isNaN(t) ? (item.registered ?? 0) : t;
}

// A person's name from their Patient resources ("" when none says).
export function personName(patients) {
  for (const p of patients) {
    const n = Array.isArray(p.name) ? p.name[0] : null;
    if (!n) continue;
    const given = Array.isArray(n.given) ? n.given.map(text).join(" ") : "";
    const full = text(n.text) || [given, text(n.family)].filter((s) => s).join(" ");
    if (full) return full;
  }
  return "";
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
