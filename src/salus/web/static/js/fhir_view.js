// A FHIR searchset Bundle (from /fhir/Patient/{id}/$everything) sorted for a person to
// read: resources grouped by kind, each with a one-line summary, its date and its
// custodian; the records that were not served, with the node's code and reason. Pure
// data in, plain strings out (no DOM), so it runs in Node's tests too.

// The kinds a clinician looks for, in the order a chart shows them; anything else the
// ledger may hold (procedures, reports, documents, images) goes under "Other records".
export const GROUPS = [
  ["problems", "Problems", ["Condition"]],
  ["medications", "Medications", ["MedicationRequest", "MedicationStatement"]],
  ["allergies", "Allergies", ["AllergyIntolerance"]],
  ["immunisations", "Immunisations", ["Immunization"]],
  ["encounters", "Encounters", ["Encounter"]],
  ["observations", "Observations", ["Observation"]],
  ["other", "Other records", []],
];

// A FHIR id from a patient's did (the facade names patients by their did:key without
// its prefix: salus.records.fhir_export.patient_fhir_id), or null if it is not one.
export function patientFhirId(text) {
  const id = String(text ?? "").trim().replace(/^did:key:/, "");
  return /^z[1-9A-HJ-NP-Za-km-z]{44,50}$/.test(id) ? id : null;
}

// The custodian a served resource came from (the facade sets meta.source urn:salus:ORG).
export function custodianOf(resource) {
  const source = resource?.meta?.source;
  return typeof source === "string" ? source.replace(/^urn:salus:/, "") : "unknown";
}

function concept(value) {
  if (!value || typeof value !== "object") return null;
  const coding = Array.isArray(value.coding) ? value.coding : [];
  return value.text ?? coding.find((c) => c?.display)?.display ??
    coding.map((c) => c?.code).find(Boolean) ?? null;
}

function quantity(q) {
  if (!q || typeof q !== "object" || q.value === undefined) return null;
  return [q.value, q.unit ?? q.code].filter((v) => v !== undefined && v !== null).join(" ");
}

// What the resource is, in a few words (its code's display, else its code).
export function title(resource) {
  const r = resource ?? {};
  return concept(r.code) ?? concept(r.medicationCodeableConcept) ?? concept(r.vaccineCode) ??
    (r.resourceType === "Encounter" ? `${r.class?.display ?? r.class?.code ?? "visit"} encounter`
                                    : null) ??
    concept(r.type?.[0]) ?? r.description ?? r.resourceType ?? "record";
}

// The facts beside the title: a value, a status.
export function details(resource) {
  const r = resource ?? {};
  const value = quantity(r.valueQuantity) ?? concept(r.valueCodeableConcept) ??
    (typeof r.valueString === "string" ? r.valueString : null);
  const status = concept(r.clinicalStatus) ?? r.status ?? null;
  return [value, status].filter(Boolean).map(String);
}

// When it happened, as the resource says (a FHIR date or dateTime), else null.
export function dateOf(resource) {
  const r = resource ?? {};
  const d = r.effectiveDateTime ?? r.occurrenceDateTime ?? r.onsetDateTime ?? r.authoredOn ??
    r.recordedDate ?? r.period?.start ?? r.effectivePeriod?.start ?? r.performedDateTime ??
    r.dateAsserted ?? r.issued ?? null;
  return typeof d === "string" ? d : null;
}

function groupOf(type) {
  return (GROUPS.find(([, , types]) => types.includes(type)) ?? GROUPS.at(-1))[0];
}

// The OperationOutcome entries of a Bundle, one line per issue: the record it concerns
// (Type/id, when named), the node's code and its reason.
export function notServed(bundle) {
  const out = [];
  for (const entry of bundle?.entry ?? []) {
    const res = entry?.resource;
    if (res?.resourceType !== "OperationOutcome") continue;
    for (const issue of res.issue ?? []) {
      const text = String(issue?.diagnostics ?? issue?.code ?? "");
      const m = /^([A-Z_]+): ([\s\S]*)$/.exec(text);
      out.push({ record: issue?.expression?.[0] ?? null, code: m ? m[1] : String(issue?.code ?? ""),
                 reason: m ? m[2] : text, severity: issue?.severity ?? "error" });
    }
  }
  return out;
}

// The Bundle read for a person: {patient: [Patient resources], groups: [{key, label,
// items: [{type, id, title, details, date, custodian, registered}]}] (empty groups
// kept), notServed}.
export function readBundle(bundle) {
  const registered = new Map();
  const patient = [];
  const items = new Map(GROUPS.map(([key]) => [key, []]));
  const resources = (bundle?.entry ?? []).map((e) => e?.resource).filter(Boolean);
  for (const res of resources) {
    if (res.resourceType !== "Provenance") continue;
    for (const t of res.target ?? []) registered.set(t?.reference, res.recorded ?? null);
  }
  for (const res of resources) {
    const type = res.resourceType;
    if (type === "Provenance" || type === "OperationOutcome") continue;
    if (type === "Patient") {
      patient.push(res);
      continue;
    }
    items.get(groupOf(type)).push({
      type, id: String(res.id ?? ""), title: String(title(res)), details: details(res),
      date: dateOf(res), custodian: custodianOf(res),
      registered: registered.get(`${type}/${res.id}`) ?? null,
    });
  }
  for (const list of items.values()) {
    list.sort((a, b) => String(b.date ?? b.registered ?? "").localeCompare(
      String(a.date ?? a.registered ?? "")));
  }
  return { patient, notServed: notServed(bundle),
           groups: GROUPS.map(([key, label]) => ({ key, label, items: items.get(key) })) };
}

// A Patient resource's name, sex and birth date, for the page's heading.
export function demographics(patient) {
  const name = (patient?.name ?? [])[0] ?? {};
  const full = name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(" ");
  return { name: full || "(no name on record)", gender: patient?.gender ?? null,
           birthDate: patient?.birthDate ?? null, custodian: custodianOf(patient) };
}
