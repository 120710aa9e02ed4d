// Runs the patient page's pure record logic (records_view.js, and the grant form's
// period) in Node on a bundle given on stdin; tests/test_web_records_view.py checks it.
import { organise, observationSeries, personName } from "../../src/salus/web/static/js/records_view.js";
import { periodOf } from "../../src/salus/web/static/js/patient_grants.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { bundle, periods } = JSON.parse(input);
const organised = organise(bundle);
const strip = (items) => items.map(({ resource, ...rest }) => ({ id: resource.id, ...rest }));
process.stdout.write(JSON.stringify({
  groups: Object.fromEntries(Object.entries(organised.groups).map(([k, v]) => [k, strip(v)])),
  unserved: organised.unserved,
  name: personName(organised.patients),
  series: observationSeries(organised.groups.observations),
  periods: periods.map(([start, end]) => periodOf(start, end)),
}));
