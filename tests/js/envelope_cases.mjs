// Signs transaction envelopes (JSON cases on stdin: a key file and the fields) with the
// browser's modules in Node's WebCrypto and prints each wire form as hex, or the error:
// tests/test_web_envelope.py compares them with the Python SDK's bytes.
import { signTransaction } from "../../src/salus/web/static/js/envelope.js";
import { importKeyFile } from "../../src/salus/web/static/js/keys.js";

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  try {
    const key = await importKeyFile(c.key_file);
    out.push({ did: key.did, wire: toHex(await signTransaction(key, c.fields)) });
  } catch (e) {
    out.push({ error: `${e.name}: ${e.message}` });
  }
}
process.stdout.write(JSON.stringify(out));
