// Checks blocks (JSON cases on stdin: {block, signer}) with the browser's module in Node's
// WebCrypto; tests/test_web_block.py compares with Python.
import { verifyBlock } from "../../src/salus/web/static/js/block.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const c of JSON.parse(input)) {
  try {
    await verifyBlock(c.block, c.signer);
    out.push({ ok: true });
  } catch (e) {
    if (e.name !== "BlockError") throw e;
    out.push({ ok: false, reason: e.message });
  }
}
process.stdout.write(JSON.stringify(out));
