// Checks signed tree heads (JSON cases on stdin: {sth, signer, chain_id?}) with the
// browser's module in Node's WebCrypto; tests/test_web_sth.py compares with Python.
import { verifySth } from "../../src/salus/web/static/js/sth.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  try {
    await verifySth(c.sth, c.signer, c.chain_id ?? undefined);
    out.push({ ok: true });
  } catch (e) {
    if (e.name !== "STHError") throw e;
    out.push({ ok: false });
  }
}
process.stdout.write(JSON.stringify(out));
