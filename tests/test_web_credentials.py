"""The credentials page in a real browser: a verifier (signed in or not) sees each step of
the node's verification pass or fail, in order, for a credential, a dossier and a
presentation; a physician's wallet in the browser answers a credentialing request with a
presentation signed by their key there, which the Python verifier accepts, and refuses
once one byte of it is changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.canonical import loads_strict
from salus.credentials.context import VerificationContext
from salus.credentials.presentation import verify_presentation
from salus.credentials.verifier import STEPS, Verifier
from salus.node.datadir import DataDir
from web_demo import SCREENSHOTS, Demo

PAGE = "/ui/pages/credentials"
#: Chromium's own line for every answer with an error status: the page shows the node's
#: refusal itself, and the tests check it does.

DROP = """async ([selector, name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: "application/json" }));
  const zone = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""


def _wallet(demo: Demo, holder: str) -> list[Path]:
    return sorted((demo.data / "wallets" / holder / "credentials").glob("*.json"))


def _of_type(demo: Demo, holder: str, kind: str) -> Path:
    return next(p for p in _wallet(demo, holder)
                if json.loads(p.read_text())["type"][1] == kind)


def _revoked_licence(demo: Demo) -> Path:
    revoked = demo.made["credentials"]["revoked"]
    assert revoked["holder"] == "dr-walt"
    uuid = revoked["credential"].removeprefix("urn:uuid:")
    return demo.data / "wallets" / "dr-walt" / "credentials" / f"{uuid}.json"


def _steps(page: Any, scope: str = "#report") -> dict[str, str]:
    """step name -> its class (ok, bad, unchecked), in the order shown."""
    return page.evaluate("""scope => Object.fromEntries([...document.querySelectorAll(
        scope + ' li[data-step]')].map(li => [li.dataset.step, li.className]))""", scope)


def _verdict(page: Any, ok: bool, previous: str = "") -> str:
    """Wait for a verdict other than ``previous`` and return it."""
    page.wait_for_function("""([cls, before]) => { const v = document.getElementById('verdict');
        return v.className === cls && v.textContent !== before; }""",
                           arg=["ok" if ok else "bad", previous])
    return page.text_content("#verdict")


def _errors(page: Watched) -> list[str]:
    """Console errors but for the browser's line per refusal the page shows."""
    return page.errors_besides(400, 403, 413, 422)


def test_a_verifier_drops_a_revoked_licence_and_sees_status_fail_then_a_valid_one_pass(
        demo_site: Demo) -> None:
    with chromium() as browser:
        page = Watched(browser.new_page())  # nobody signed in: verifying is public
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#wallet-signin:visible")
        page.evaluate(DROP, ["#drop", "licence.json", _revoked_licence(demo_site).read_text()])
        text = _verdict(page, ok=False)
        assert text.startswith("✘ Failed at status: revoked since")
        assert "surrendered" in text
        steps = _steps(page)
        assert list(steps) == list(STEPS)  # every step, in the verifier's order
        assert steps["status"] == "bad"
        assert [s for s, c in steps.items() if c != "ok"] == ["status"]
        assert "revoked since" in page.text_content("#report li[data-step=status]")
        screenshot(page, SCREENSHOTS, "credentials")
        page.set_input_files("#verify-files", str(_of_type(demo_site, "dr-alice",
                                                           "LicenseCredential")))
        text = _verdict(page, ok=True)
        assert "every step passed" in text
        assert set(_steps(page).values()) == {"ok"} and len(_steps(page)) == len(STEPS)
        assert "LicenseCredential" in page.text_content("#report h4")
        assert page.errors == []


def test_a_presentation_and_a_dossier_show_which_credential_failed(demo_site: Demo) -> None:
    folder = demo_site.data / "credentialing"
    presentation = (folder / "presentation-dr-alice.json").read_text()
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{demo_site.url}{PAGE}")
        # a presentation without the challenge it was asked with cannot be judged
        page.fill("#paste", presentation)
        page.click("#paste-form button")
        assert "CHALLENGE_NEEDED" in _verdict(page, ok=False)
        # the request file fills in the challenge and domain; then the presentation passes
        page.set_input_files("#verify-files", str(folder / "request-dr-alice.json"))
        text = _verdict(page, ok=True)
        assert "Request loaded" in text and page.input_value("#domain") == "st-mary.example"
        page.set_input_files("#verify-files", str(folder / "presentation-dr-alice.json"))
        text = _verdict(page, ok=True, previous=text)
        assert "(presentation)" in text
        steps = _steps(page)
        assert [steps[s] for s in ("format", "holder_signature", "challenge", "domain",
                                   "holder_is_subject")] == ["ok"] * 5
        assert page.locator("#report article[data-credential]").count() == 3
        # the same presentation shown to a verifier who asked with another challenge
        page.fill("#challenge", "a-challenge-of-mine")
        page.click("#paste-form button")
        text = _verdict(page, ok=False)
        assert text.startswith("✘ Failed at challenge: made for challenge")
        assert _steps(page)["challenge"] == "bad"
        # dr-walt's dossier (two files): the licence is the one that fails, and is named
        walt = _wallet(demo_site, "dr-walt")
        page.set_input_files("#verify-files", [str(p) for p in walt])
        text = _verdict(page, ok=False, previous=text)
        index = [p.name for p in walt].index(_revoked_licence(demo_site).name)
        assert text.startswith(f"✘ Failed at credentials[{index}].status: revoked since")
        steps = _steps(page)
        assert steps[f"credentials[{index}].status"] == "bad"
        assert steps[f"credentials[{1 - index}].status"] == "ok"
        assert "2 credential(s): 1 passed, 1 failed" in page.text_content("#report")
        assert page.errors == []


def test_garbage_huge_or_deep_json_is_refused_and_the_page_keeps_working(
        demo_site: Demo, tmp_path: Path) -> None:
    licence = _of_type(demo_site, "dr-alice", "LicenseCredential").read_text()
    duplicate = licence.replace('"id":', '"id": "urn:uuid:0", "id":', 1)
    hostile = json.dumps({"type": ["VerifiableCredential", "<img src=x id=pwned>"],
                          "issuer": "<script>alert(1)</script>"})
    huge = tmp_path / "huge.json"
    huge.write_text('{"credential": "' + "x" * (3 * 1024 * 1024) + '"}')
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{demo_site.url}{PAGE}")
        verdicts = []
        for text in ("{ not json", "[" * 100_000 + "]" * 100_000, duplicate, hostile):
            page.fill("#paste", text)
            page.click("#paste-form button")
            verdicts.append(_verdict(page, ok=False, previous=verdicts[-1] if verdicts else ""))
        page.set_input_files("#verify-files", str(huge))
        verdicts.append(_verdict(page, ok=False, previous=verdicts[-1]))
        assert verdicts[0].startswith("✘ INVALID_JSON: the pasted text is not JSON")
        assert verdicts[1].startswith("✘ INVALID_JSON: JSON nested deeper than 64")  # the node's
        assert verdicts[2].startswith("✘ INVALID_JSON: duplicate key")  # read strictly
        assert verdicts[3].startswith("✘ Failed at format")  # shown as text, never markup
        assert verdicts[4].startswith("✘ TOO_LARGE")
        assert page.locator("#pwned").count() == 0 and page.locator("#report script").count() == 0
        # and it still verifies a good credential
        page.fill("#paste", licence)
        page.click("#paste-form button")
        assert "every step passed" in _verdict(page, ok=True)
        assert _errors(page) == []


def test_the_wallet_answers_the_credentialing_request_with_a_presentation_python_verifies(
        demo_site: Demo, tmp_path: Path) -> None:
    request = json.loads((demo_site.data / "credentialing" / "request-dr-alice.json").read_text())
    alice = demo_site.key("dr-alice")
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path("dr-alice"))
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#wallet-table td")
        page.set_input_files("#wallet-files", [str(p) for p in _wallet(demo_site, "dr-alice")]
                             + [str(_revoked_licence(demo_site))])  # not hers: refused
        page.click("#wallet-import button")
        page.wait_for_selector("#wallet-status.bad")
        status = page.text_content("#wallet-status")
        assert "Added 6;" in status and "NOT_YOURS" in status
        rows = page.locator("#wallet-table tbody tr")
        assert rows.count() == 6
        page.wait_for_function("() => [...document.querySelectorAll('#wallet-table td.status')]"
                               ".every(td => td.textContent.includes('verified'))")
        stored = page.evaluate("""async () => (await import('/ui/static/js/wallet.js'))
            .list((await (await import('/ui/static/js/session.js')).Session.resume()).did)""")
        assert {c["credentialSubject"]["id"] for c in stored} == {alice.did}
        page.set_input_files("#request-file", str(demo_site.data / "credentialing" /
                                                  "request-dr-alice.json"))
        page.click("#request-form button")
        page.wait_for_selector("#request-status.ok")
        ticked = page.evaluate("""[...document.querySelectorAll('#wallet-table tbody tr')]
            .filter(r => r.querySelector('input:checked')).map(r => r.cells[1].textContent)""")
        assert sorted(ticked) == request["types"]
        page.click("#answer")
        page.wait_for_selector("#answer-status.ok")
        assert page.text_content("#answer-status").startswith("✔ Verified")
        with page.expect_download() as download:
            page.click("#answer-download")
        saved = tmp_path / "presentation.json"
        download.value.save_as(saved)
        assert page.errors == []
    raw = saved.read_bytes()
    presentation = loads_strict(raw)
    assert presentation["holder"] == alice.did
    assert sorted(c["type"][1] for c in presentation["verifiableCredential"]) == request["types"]
    orderer = DataDir(demo_site.data).genesis().orderer
    with demo_site.client("office-uma") as office:
        verifier = Verifier(VerificationContext.load(office.credentials_context(), orderer))
        sdk = office.verify_presentation(presentation, challenge=request["challenge"],
                                         domain=request["domain"])
    report = verify_presentation(presentation, challenge=request["challenge"],
                                 domain=request["domain"], verifier=verifier)
    assert report.ok and sdk["ok"] and sdk["failed_step"] is None
    # one byte changed: the last digit of a credential's id in it
    number = presentation["verifiableCredential"][0]["id"].encode()
    at = raw.index(number) + len(number) - 1
    changed = raw[:at] + (b"0" if raw[at:at + 1] != b"0" else b"1") + raw[at + 1:]
    assert len(changed) == len(raw) and changed != raw
    tampered = verify_presentation(loads_strict(changed), challenge=request["challenge"],
                                   domain=request["domain"], verifier=verifier)
    assert not tampered.ok and tampered.failed_step == "holder_signature"
    # and it was made for this office: another domain refuses it
    elsewhere = verify_presentation(presentation, challenge=request["challenge"],
                                    domain="city-general.example", verifier=verifier)
    assert elsewhere.failed_step == "domain"


def test_a_wallet_shows_only_its_holders_credentials(demo_site: Demo) -> None:
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path("dr-walt"))
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#wallet-table td")
        page.set_input_files("#wallet-files", [str(p) for p in _wallet(demo_site, "dr-walt")])
        page.click("#wallet-import button")
        page.wait_for_selector("#wallet-status.ok")
        page.wait_for_function("() => document.querySelectorAll('#wallet-table td.status .bad').length === 1")
        assert "status: revoked since" in page.text_content("#wallet-table td.status .bad")
        # another member signs in with this browser: walt's wallet is not theirs to see
        page.goto(f"{demo_site.url}/ui/")
        page.set_input_files("#key-file", str(demo_site.key_path("dr-bob")))
        page.click("#import button[type=submit]")
        page.wait_for_selector("#import-status.ok")
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#wallet-table td")
        assert page.text_content("#wallet-table tbody") == "No credentials in this browser yet."
        assert page.errors == []


def test_the_credentials_page_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    folder = demo_site.data / "credentialing"
    walt = _wallet(demo_site, "dr-walt")

    def use(page: Any) -> None:  # a dossier's report on the page, every kind of step in it
        page.set_input_files("#verify-files", [str(p) for p in walt])
        _verdict(page, ok=False)

    def wallet(page: Any) -> None:  # signed in, credentials in the wallet, a request loaded
        page.goto(f"{demo_site.url}/ui/")
        page.set_input_files("#key-file", str(demo_site.key_path("dr-walt")))
        page.click("#import button[type=submit]")
        page.wait_for_selector("#import-status.ok")
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#wallet-table td")
        page.set_input_files("#wallet-files", [str(p) for p in walt])
        page.click("#wallet-import button")
        page.wait_for_selector("#wallet-status.ok")
        page.set_input_files("#request-file", str(folder / "request-dr-alice.json"))
        page.click("#request-form button")
        page.wait_for_selector("#request-status.ok")

    with chromium() as browser:
        url = f"{demo_site.url}{PAGE}"
        assert accessibility_violations(browser, url, "#drop", act=use) == []
        assert accessibility_violations(browser, url, "#drop", act=wallet) == []
        page = sign_in(browser, demo_site.url, demo_site.key_path("dr-walt"),
                       viewport={"width": 390, "height": 844})
        page.goto(url)
        page.wait_for_selector("#wallet-table td")
        page.set_input_files("#verify-files", [str(p) for p in walt])
        _verdict(page, ok=False)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.errors == []
