// Makes client assertions (JSON cases on stdin: {key_file, token_url, now}) with the
// browser's module in Node's WebCrypto; tests/test_web_assertion.py checks them with PyJWT.
import { clientAssertion } from "../../src/salus/web/static/js/assertion.js";
import { importKeyFile } from "../../src/salus/web/static/js/keys.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  out.push(await clientAssertion(await importKeyFile(c.key_file), c.token_url, c.now));
}
process.stdout.write(JSON.stringify(out));
