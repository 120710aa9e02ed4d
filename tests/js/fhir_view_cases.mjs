// Reads FHIR Bundles (JSON cases on stdin: {bundle} or {did}) with the browser's record
// view module in Node and prints what it makes of each: tests/test_web_fhir_view.py
// checks it against Bundles built by the facade's own functions.
import { patientFhirId, readBundle } from "../../src/salus/web/static/js/fhir_view.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  out.push("did" in c ? patientFhirId(c.did) : readBundle(c.bundle));
}
process.stdout.write(JSON.stringify(out));
