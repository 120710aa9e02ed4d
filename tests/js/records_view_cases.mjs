// Runs the pages' pure record logic (records_view.js, and the patient's grant form's
// period) in Node on JSON cases given on stdin, one result per case:
// {bundle} -> what readBundle makes of it; {did} -> patientFhirId; {period: [start, end]}
// -> periodOf; {groups: true} -> GROUPS. tests/test_web_records_view.py checks them.
import { GROUPS, observationSeries, patientFhirId, personName, readBundle, whenText }
  from "../../src/salus/web/static/js/records_view.js";
import { periodOf } from "../../src/salus/web/static/js/patient_grants.js";

function read(bundle) {
  const view = readBundle(bundle);
  const strip = ({ resource, ...rest }) => ({ ...rest, when: whenText(rest) });
  return {
    groups: view.groups.map((g) => ({ ...g, items: g.items.map(strip) })),
    notServed: view.notServed,
    patients: view.patients,
    name: personName(view.patients),
    series: observationSeries(view.groups.find((g) => g.key === "observations").items),
  };
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  if ("bundle" in c) out.push(read(c.bundle));
  else if ("did" in c) out.push(patientFhirId(c.did));
  else if ("period" in c) out.push(periodOf(...c.period));
  else if ("groups" in c) out.push(GROUPS);
  else throw new Error(`no such case: ${JSON.stringify(c)}`);
}
process.stdout.write(JSON.stringify(out));
