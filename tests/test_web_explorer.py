"""The ledger explorer in a real browser: the public view of a node, and an inclusion
proof verified in the browser that fails once one byte of it is changed."""

from __future__ import annotations

import json

import httpx
import pytest

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import node_server
from web_demo import SCREENSHOTS


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    data = tmp_path_factory.mktemp("web")
    init_datadir(data, "salus-web-test", [OrgSpec("st-mary", "hospital", "St Mary's")])
    served, node = node_server(data, block_max_wait_ms=5, custodians=())
    with served as server:
        admin = Identity.load(admin_key_path(DataDir(data), "st-mary"))
        with SalusClient(server.url, admin) as c:
            receipts = [c.call("notary", "anchor", {"hash": f"{i:02x}" * 32}) for i in range(3)]
        yield server.url, receipts, data
    node.ledger.close()


def test_pages_carry_a_strict_content_security_policy(node) -> None:
    url, *_ = node
    page = httpx.get(f"{url}/ui/")
    csp = page.headers["content-security-policy"]
    assert page.status_code == 200 and "default-src 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in csp
    module = httpx.get(f"{url}/ui/static/js/merkle.js")
    assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
    # (percent-encoded: an HTTP client removes plain dot segments before sending)
    for escape in ("/ui/static/%2e%2e/assets.py", "/ui/static/js/%2e%2e/%2e%2e/assets.py",
                   "/ui/vendor/canonicalize/%2e%2e/%2e%2e/pyproject.toml",
                   "/ui/vendor/left-pad/index.js", "/ui/pages/..%2fexplorer"):
        r = httpx.get(f"{url}{escape}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND", (escape, r.text)


def test_the_explorer_verifies_inclusion_in_the_browser_and_fails_a_changed_proof(node) -> None:
    url, receipts, *_ = node
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{url}/ui/pages/explorer")
        page.wait_for_selector("#blocks tbody tr")
        assert "salus-web-test" in page.text_content("#chain")
        page.wait_for_selector("#sth-verdict.ok")
        page.fill("#tx-id", receipts[1].tx_id)
        page.click("#fetch-proof button")
        page.wait_for_selector("#verdict.ok")
        assert "included" in page.text_content("#verdict")
        proof = json.loads(page.input_value("#proof"))
        assert proof["leaf_hash"] == receipts[1].tx_id and proof["audit_path"]
        first = proof["audit_path"][0]
        proof["audit_path"][0] = ("1" if first[0] == "0" else "0") + first[1:]  # one byte
        page.fill("#proof", json.dumps(proof))
        page.click("#check-proof button")
        page.wait_for_selector("#verdict.bad")
        assert "not proven" in page.text_content("#verdict")
        # the proof intact, but a tree head the trusted signer did not sign: refused too
        proof["audit_path"][0] = first
        proof["sth"]["tree_size"] += 1
        page.fill("#proof", json.dumps(proof))
        page.click("#check-proof button")
        page.wait_for_function(
            "document.getElementById('verdict').textContent.includes('signature does not verify')")
        assert page.get_attribute("#verdict", "class") == "bad"
        assert page.errors == []


def test_the_explorer_passes_an_accessibility_check_at_desktop_and_phone_width(node) -> None:
    url, *_ = node
    with chromium() as browser:
        assert accessibility_violations(browser, f"{url}/ui/pages/explorer", "#blocks tbody tr") == []
        phone = browser.new_page(viewport={"width": 375, "height": 740})
        phone.goto(f"{url}/ui/pages/explorer")
        phone.wait_for_selector("#blocks tbody tr")
        # nothing wider than the screen: no sideways scrolling on a phone
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        desktop = browser.new_page(viewport={"width": 1100, "height": 900})
        desktop.goto(f"{url}/ui/pages/explorer#block=2")
        desktop.wait_for_selector("#block-verdict.ok")
        screenshot(desktop, SCREENSHOTS, "explorer")


def test_a_block_is_checked_in_the_browser_and_a_transaction_shows_what_the_viewer_may_see(
        node) -> None:
    url, receipts, data = node
    tx = receipts[2]
    admin_key = admin_key_path(DataDir(data), "st-mary")
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{url}/ui/pages/explorer")
        page.click(f"#blocks a[href='#block={tx.height}']")
        page.wait_for_selector("#block-verdict.ok")
        assert tx.tx_id in page.text_content("#block-txs")
        assert page.evaluate("document.activeElement.id") == "block-h"  # keyboard users land there
        page.click(f"#block-txs a[href='#tx={tx.tx_id}']")
        page.wait_for_selector("#tx-view:not([hidden]) dd")
        facts = page.text_content("#tx-facts")
        assert "VALID" in facts and "notary" not in facts  # the public sees no contract
        assert page.is_hidden("#tx-args")
        page.click("#tx-verify")
        page.wait_for_selector("#verdict.ok")
        # a trusted signer that did not sign the block: the block check fails
        page.fill("#anchor", Identity.generate().did)
        page.evaluate("location.hash = '#block=0'")
        page.wait_for_selector("#block-verdict.bad")
        assert "does not verify" in page.text_content("#block-verdict")
        assert page.errors == []
        signer = sign_in(browser, url, admin_key)  # who signed it sees what they signed
        signer.goto(f"{url}/ui/pages/explorer#tx={tx.tx_id}")
        signer.wait_for_selector("#tx-args:not([hidden])")
        assert "notary" in signer.text_content("#tx-facts")
        assert json.loads(signer.text_content("#tx-args")) == {"hash": "02" * 32}
        assert signer.errors == []
