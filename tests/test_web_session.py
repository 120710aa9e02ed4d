"""Signing in to the web application: a key file imported into the browser (kept there
non-extractable, never sent anywhere), a new patient's key made in the browser and its
backup downloaded before it is used, and transactions the browser signs byte for byte as
the Python SDK does."""

from __future__ import annotations

import json
from pathlib import Path

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.client import SalusClient
from salus.identity import Identity
from salus.ledger import transaction
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import node_server
from web_demo import SCREENSHOTS, Demo

STORED_KEY = """async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open("salus", 1);
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const key = await new Promise((ok, no) => {
    const r = db.transaction("keys").objectStore("keys").get("member");
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  if (!key) return null;
  let exported = "refused";
  try { await crypto.subtle.exportKey("pkcs8", key.privateKey); exported = "exported"; }
  catch (e) { exported = e.name; }
  return {did: key.did, extractable: key.privateKey.extractable, exported};
}"""


def test_a_key_file_is_imported_into_the_browser_and_never_sent(demo_site: Demo) -> None:
    doc = json.loads(demo_site.key_path("officer-olga").read_text())
    with chromium() as browser:
        context = browser.new_context()
        bodies: list[str] = []
        context.on("request", lambda r: bodies.append(f"{r.url} {r.post_data or ''}"))
        page = Watched(context.new_page())
        page.goto(f"{demo_site.url}/ui/")
        page.set_input_files("#key-file", str(demo_site.key_path("officer-olga")))
        page.click("#import button[type=submit]")
        page.wait_for_selector("#import-status.ok")
        page.wait_for_selector("#member:not([hidden]) dd")
        facts = page.text_content("#member-facts")
        assert "privacy_officer" in facts and "st-mary" in facts
        assert page.locator("#next a[href='/ui/pages/privacy']").count() == 1
        stored = page.evaluate(STORED_KEY)
        assert stored == {"did": doc["did"], "extractable": False, "exported": "InvalidAccessError"}
        assert page.input_value("#key-file") == ""
        page.reload()  # the key outlives the page: still signed in
        page.wait_for_selector("#member:not([hidden]) dd")
        assert doc["did"] == page.get_attribute("#who code", "title")
        page.click("#who button")  # sign out: the key is gone from the browser
        page.wait_for_selector("#who a")
        assert page.evaluate(STORED_KEY) is None
        assert page.errors == []
        secrets = (doc["ed25519_seed"], doc["x25519_secret"])
        assert bodies and not [b for b in bodies for s in secrets if s in b]
        assert any("/v1/auth/token" in b for b in bodies)  # it did sign in with the key


def test_a_damaged_key_file_is_refused_and_nothing_is_kept(demo_site: Demo,
                                                           tmp_path: Path) -> None:
    good = json.loads(demo_site.key_path("nurse-carol").read_text())
    other = Identity.generate()
    cases = {"not-json.key": "{ not json",
             "wrong-type.key": json.dumps({**good, "type": "ssh-key"}),
             "short-seed.key": json.dumps({**good, "ed25519_seed": "AAAA"}),
             "wrong-did.key": json.dumps({**good, "did": other.did})}
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{demo_site.url}/ui/")
        for name, text in cases.items():
            (tmp_path / name).write_text(text)
            page.set_input_files("#key-file", str(tmp_path / name))
            page.click("#import button[type=submit]")
            page.wait_for_selector("#import-status.bad")
            assert "key file" in page.text_content("#import-status"), name
            assert page.evaluate(STORED_KEY) is None, name
            page.evaluate("document.getElementById('import-status').className = ''")


def test_a_new_patient_makes_a_key_saves_its_backup_then_registers(demo_site: Demo,
                                                                   tmp_path: Path) -> None:
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{demo_site.url}/ui/")
        page.click("#create")
        page.wait_for_selector("#download:visible")
        assert page.is_disabled("#register")  # not before the backup is taken
        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / "backup.key"
        download.value.save_as(saved)
        backup = Identity.from_json(json.loads(saved.read_text()))
        page.wait_for_selector("#register:enabled")
        page.click("#register")
        page.wait_for_selector("#new-status.ok")
        page.wait_for_selector("#member:not([hidden]) dd")
        assert backup.did == page.get_attribute("#who code", "title")
        assert "patient" in page.text_content("#member-facts")
        assert page.errors == []
    with SalusClient(demo_site.url, backup) as me:  # the backup is the key that registered
        member = me.member(backup.did)
    assert member["kind"] == "patient" and member["encryption_key"] == backup.encryption_did


def test_the_browser_signs_the_envelope_python_signs(demo_site: Demo) -> None:
    ident = demo_site.key("nurse-carol")
    fields = {"chain": "salus-demo", "contract": "consent", "method": "grant",
              "args": {"grantee": {"member": ident.did}, "purposes": ["TREAT"],
                       "note": "caf\u00e9 \U0001f600", "n": [9007199254740991, -1]},
              "nonce": 1_764_000_000_000_123, "time": 1_764_000_000_000}
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{demo_site.url}/ui/")
        wire = page.evaluate("""async ([doc, fields]) => {
          const { importKeyFile } = await import("/ui/static/js/keys.js");
          const { signTransaction } = await import("/ui/static/js/envelope.js");
          const bytes = await signTransaction(await importKeyFile(doc), fields);
          return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        }""", [ident.to_json(), fields])
    assert bytes.fromhex(wire) == transaction.encode(ident, **fields)


def test_the_sign_in_page_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}/ui/", "#import") == []
        page = sign_in(browser, demo_site.url, demo_site.key_path("patient-ivy"),
                       viewport={"width": 390, "height": 844})
        page.wait_for_selector("#member:not([hidden]) dd")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, SCREENSHOTS, "sign-in")
        assert page.errors == []


def test_the_browser_signs_no_assertion_for_a_token_endpoint_elsewhere(tmp_path: Path) -> None:
    """A node that advertises another address's token endpoint (a lookalike collecting
    assertions to redeem at the real node) gets none: the page refuses before signing."""
    data = tmp_path / "chain"
    init_datadir(data, "salus-elsewhere", [OrgSpec("st-mary", "hospital", "St Mary's")])
    served, node = node_server(data, block_max_wait_ms=5, custodians=(),
                               public_url="http://127.0.0.1:9/")
    try:
        with served as server, chromium() as browser:
            context = browser.new_context()
            posted: list[str] = []
            context.on("request", lambda r: r.method == "POST" and posted.append(r.url))
            page = Watched(context.new_page())
            page.goto(f"{server.url}/ui/")
            page.set_input_files("#key-file", str(admin_key_path(DataDir(data), "st-mary")))
            page.click("#import button[type=submit]")
            page.wait_for_selector("#member:not([hidden]) dd")
            assert "AUDIENCE_MISMATCH" in page.text_content("#member-facts")
            assert posted == []  # no assertion went anywhere
    finally:
        node.ledger.close()
