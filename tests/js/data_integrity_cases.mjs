// Makes eddsa-jcs-2022 proofs and presentations (JSON cases on stdin) with the browser's
// modules in Node's WebCrypto and prints each result, or the error:
// tests/test_web_data_integrity.py compares them with what the Python modules make.
import { addProof } from "../../src/salus/web/static/js/data_integrity.js";
import { importKeyFile } from "../../src/salus/web/static/js/keys.js";
import { checkRequest, present } from "../../src/salus/web/static/js/presentation.js";

async function run(c) {
  const key = await importKeyFile(c.key_file);
  if (c.kind === "proof") return addProof(c.document, key, c.options);
  if (c.kind === "request") return checkRequest(c.request);
  return present(c.credentials, key, c.options);
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  try {
    out.push({ result: await run(c) });
  } catch (e) {
    out.push({ error: `${e.name}: ${e.message}` });
  }
}
process.stdout.write(JSON.stringify(out));
