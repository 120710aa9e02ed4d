// The counter's dispensing documents (JSON cases on stdin: {identity, time_ms}) built by
// the browser's module in Node; tests/test_web_dispensing.py checks them with Python.
import { digitalLink, dispensingDocument } from "../../src/salus/web/static/js/dispensing.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  try {
    out.push({ link: digitalLink(c.identity),
               document: dispensingDocument(c.identity, new Date(c.time_ms)) });
  } catch (e) {
    out.push({ error: e.message });
  }
}
process.stdout.write(JSON.stringify(out));
