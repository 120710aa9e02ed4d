"""Verification at the counter over the REST API (``GET /vrs/...``, the GS1 Lightweight
Messaging Standard's shape, and ``POST /v1/supply/scan``) against a real node whose
packs were commissioned and moved by supply transactions: a counterfeit, a wrong label,
recalled, suspect and dispensed packs, saleable returns with and without the earlier
shipment, and every bad input a 4xx with a stable code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import Chain
from salus.api.rate_limit import RateLimiter
from salus.cli.main import app as cli
from salus.client import SalusError
from salus.node.metrics import NodeMetrics
from salus.node.rate_limits import Budget, RateLimits
from salus.node.server import NodeConfig
from salus.supply.routes_verification import CounterFastPath, _reader
from supply_counter_net import RESPONDER_GLN, SupplyNet, supply_net
from supply_world import GTIN, LOT, build_supply, event, pack
from test_supply_contract import at_pharmacy

EXP = "271231"  # supply_world's EXPIRY, as on the label
ORG_IDS = ("pharmaco", "wholesale", "corner-pharmacy", "other-pharmacy", "health-dept")
UUID = "0b7c2f3e-6f1a-4c35-9d7e-2a9b1e4c8d10"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory):
    with supply_net(tmp_path_factory.mktemp("supply-counter")) as running:
        running.at_pharmacy("GOOD1", "RET1", "RET2", "DISP1", "SUS1")
        running.commission("HOME1")  # never shipped: still the manufacturer's
        running.commission("REC1", lot="LOT-R")
        running.commission("A/B%1")  # a serial with the characters a URL escapes
        yield running


def vrs(net: SupplyNet, serial: str, lot: str = LOT, gtin: str = GTIN, token: str | None = None,
        **query: str) -> httpx.Response:
    params = {k: v for k, v in {"exp": EXP, "context": "dispense", **query}.items()
              if v is not None}
    path = "/vrs/gtin/{}/lot/{}/ser/{}".format(*(quote(p, safe="") for p in (gtin, lot, serial)))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(net.url + path, params=params, headers=headers, timeout=30)


def scan(net: SupplyNet, text: str, token: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{net.url}/v1/supply/scan", json={"scan": text, "context": "dispense",
                                                         **body}, headers=headers, timeout=30)


def data(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()["data"]


def names_no_party(r: httpx.Response) -> None:
    """V4: an answer names nobody who owns, holds or held the pack."""
    assert not [org for org in ORG_IDS if org in r.text], r.text


def test_a_genuine_pack_verifies_in_the_lms_shape(net: SupplyNet) -> None:
    r = vrs(net, "GOOD1", corrUUID=UUID, reqGLN="9506000000022")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert set(doc) == {"verificationTimestamp", "responderGLN", "corrUUID", "data"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["verificationTimestamp"])
    assert doc["responderGLN"] == RESPONDER_GLN and doc["corrUUID"] == UUID
    assert doc["data"] == {"verified": True}
    assert "corrUUID" not in vrs(net, "GOOD1").json()  # echoed only when sent
    names_no_party(r)


def test_a_counterfeit_or_a_wrong_label_is_the_standards_no_match(net: SupplyNet) -> None:
    assert data(vrs(net, "FAKE1")) == {"verified": False,
                                       "verificationFailureReason": "No_match_GTIN_Serial"}
    assert data(vrs(net, "GOOD1", lot="LOT-X"))["verificationFailureReason"] == \
        "No_match_GTIN_Serial_Lot"
    assert data(vrs(net, "GOOD1", exp="281231"))["verificationFailureReason"] == \
        "No_match_GTIN_Serial_Expiry"
    assert data(vrs(net, "GOOD1", lot="LOT-X", exp="281231"))["verificationFailureReason"] == \
        "No_match_GTIN_Serial_Lot_Expiry"
    # a real serial under another brand's (valid) GTIN is no match either
    assert data(vrs(net, "GOOD1", gtin="04012345111118"))["verificationFailureReason"] == \
        "No_match_GTIN_Serial"
    # a lot's last-day-of-month expiry written with day 00 is the same date
    assert data(vrs(net, "GOOD1", exp="271200")) == {"verified": True}


def test_a_serial_with_a_slash_and_a_percent_is_found(net: SupplyNet) -> None:
    assert data(vrs(net, "A/B%1")) == {"verified": True}
    assert data(scan(net, f"https://id.gs1.org/01/{GTIN}/21/A%2FB%251?10={LOT}&17={EXP}")) == \
        {"verified": True}


def test_recalled_suspect_and_dispensed_packs_verify_with_what_the_counter_must_know(
        net: SupplyNet) -> None:
    net.call("pharmaco", "recall", {"gtin": GTIN, "lot": "LOT-R", "reason": "contamination"})
    assert data(vrs(net, "REC1", lot="LOT-R")) == {
        "verified": True, "additionalInfo": "Recalled", "additionalInfoAll": ["Recalled"]}
    net.call("corner-pharmacy", "report", {"event": event("counter sus1"),
                                           "item": pack("SUS1"), "status": "suspect"})
    assert data(vrs(net, "SUS1")) == {"verified": True, "additionalInfo": "Suspect",
                                      "additionalInfoAll": ["Suspect"]}
    net.call("corner-pharmacy", "dispense", {"event": event("counter disp1"),
                                             "item": pack("DISP1")})
    r = vrs(net, "DISP1")
    assert data(r) == {"verified": True, "additionalInfo": "Suspect",
                       "additionalInfoAll": ["Dispensed"]}
    names_no_party(r)


# -- saleable returns --------------------------------------------------------------------------
def test_a_saleable_return_is_accepted_only_with_the_earlier_shipment_to_the_returner(
        net: SupplyNet) -> None:
    wholesale = net.token(net.operator["wholesale"])
    corner = net.token(net.operator["corner-pharmacy"])
    other = net.token(net.operator["other-pharmacy"])
    ret = {"context": "dscsaSaleableReturn"}
    # the distributor that sold it, asked about the pharmacy it sold it to: accepted
    r = vrs(net, "RET1", token=wholesale, returner="corner-pharmacy", **ret)
    assert data(r) == {"verified": True}
    names_no_party(r)
    # the pharmacy asking about its own return (returner defaults to the requester)
    assert data(vrs(net, "RET1", token=corner, **ret)) == {"verified": True}
    assert data(scan(net, f"(01){GTIN}(21)RET1(10){LOT}(17){EXP}", token=corner, **ret)) == \
        {"verified": True}
    refused = {"verified": False, "verificationFailureReason": "No_reason_provided"}
    # a pack never shipped to the returner
    assert data(vrs(net, "RET2", token=wholesale, returner="other-pharmacy", **ret)) == refused
    assert data(vrs(net, "RET2", token=other, **ret)) == refused
    assert data(vrs(net, "HOME1", token=wholesale, returner="wholesale", **ret)) == refused
    # nor is it told to a requester that never handled the pack: the same answer, so
    # another pharmacy learns nothing of the corner pharmacy's trade
    assert data(vrs(net, "RET1", token=other, returner="corner-pharmacy", **ret)) == refused
    # the manufacturer commissioned it; it never received it in a shipment
    pharmaco = net.token(net.operator["pharmaco"])
    assert data(vrs(net, "RET1", token=pharmaco, returner="pharmaco", **ret)) == refused
    # a counterfeit is still the standard's no match
    assert data(vrs(net, "FAKE2", token=wholesale, returner="corner-pharmacy", **ret))[
        "verificationFailureReason"] == "No_match_GTIN_Serial"


def test_who_may_ask_about_a_saleable_return(net: SupplyNet) -> None:
    ret = {"context": "dscsaSaleableReturn", "returner": "corner-pharmacy"}
    r = vrs(net, "RET1", **ret)
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHENTICATED"
    for who in (net.admin["wholesale"], net.admin["st-mary"], net.admin["health-dept"]):
        r = vrs(net, "RET1", token=net.token(who), **ret)  # no supply role, or not a trader
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN_READ", r.text
    r = vrs(net, "RET1", token="not-a-token", **ret)
    assert r.status_code == 401
    wholesale = net.token(net.operator["wholesale"])
    for returner in ("nobody", "health-dept", "st-mary!", "x" * 200):
        r = vrs(net, "RET1", token=wholesale, context="dscsaSaleableReturn", returner=returner)
        assert r.status_code == 400 and r.json()["error"]["code"] == "BAD_RETURNER", returner
    r = vrs(net, "RET1", returner="corner-pharmacy")  # a returner outside a return
    assert r.status_code == 400 and r.json()["error"]["code"] == "BAD_RETURNER"


# -- hostile input -----------------------------------------------------------------------------
BAD_VRS = [
    ({"gtin": "09506000134353"}, "BAD_CHECK_DIGIT"),
    ({"gtin": "0950600013435X"}, "BAD_GTIN"),
    ({"gtin": "9" * 30}, "BAD_GTIN"),
    ({"gtin": str(2**64 + 1)}, "BAD_GTIN"),
    ({"gtin": "١٢٣٤٥٦٧٨٩٠١٢٣٤"}, "BAD_GTIN"),   # digits, but not ASCII ones
    ({"serial": "S" * 21}, "BAD_SERIAL"),
    ({"serial": "A B"}, "BAD_SERIAL"),
    ({"serial": "ü"}, "BAD_SERIAL"),
    ({"lot": "L" * 21}, "BAD_LOT"),
    ({"lot": "LOT\x1d1"}, "BAD_LOT"),
    ({"exp": "next tuesday"}, "BAD_EXPIRY"),
    ({"exp": "271331"}, "BAD_EXPIRY"),
    ({"exp": "270230"}, "BAD_EXPIRY"),
    ({"exp": "2712310"}, "BAD_EXPIRY"),
    ({"exp": None}, "BAD_EXPIRY"),
    ({"context": "resale"}, "BAD_CONTEXT"),
    ({"context": None}, "BAD_CONTEXT"),
    ({"corrUUID": "not-a-uuid"}, "BAD_CORR_UUID"),
    ({"corrUUID": UUID + "0"}, "BAD_CORR_UUID"),
    ({"reqGLN": "9506000000027"}, "BAD_GLN"),
    ({"reqGLN": "abc"}, "BAD_GLN"),
]


@pytest.mark.parametrize(("change", "code"), BAD_VRS, ids=[c for _, c in BAD_VRS])
def test_bad_input_is_a_400_with_a_stable_code(net: SupplyNet, change: dict, code: str) -> None:
    parts = {"serial": "GOOD1", "lot": LOT, "gtin": GTIN}
    query = {"exp": EXP, "context": "dispense"}
    for key, value in change.items():
        (parts if key in parts else query)[key] = value
    r = vrs(net, **parts, **query)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


BAD_SCANS = [
    (f"(01)09506000134353(21)S1(10){LOT}(17){EXP}", 400, "BAD_CHECK_DIGIT"),
    (f"https://id.gs1.org/01/09506000134353/21/S1?10={LOT}", 400, "BAD_CHECK_DIGIT"),
    ("(00)095060000000000015", 400, "NOT_A_PACK"),
    (f"(01){GTIN}(10){LOT}", 400, "NOT_A_PACK"),
    ("urn:epc:id:sscc:9506000.0000000001", 400, "NOT_A_PACK"),
    ("hello, pharmacist", 400, "BAD_IDENTIFIER"),
    (f"(01){GTIN}(21)" + "S" * 21, 400, "BAD_IDENTIFIER"),
    ("", 400, "BAD_IDENTIFIER"),
    ("(01)" + "9" * 500, 400, "BAD_IDENTIFIER"),
]


@pytest.mark.parametrize(("text", "status", "code"), BAD_SCANS, ids=[c for *_, c in BAD_SCANS])
def test_a_bad_scan_is_a_4xx_with_a_stable_code(net: SupplyNet, text: str, status: int,
                                                code: str) -> None:
    r = scan(net, text)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_a_bad_scan_body_is_refused_and_the_node_keeps_serving(net: SupplyNet) -> None:
    url = f"{net.url}/v1/supply/scan"
    cases = [
        (b"{not json", 400, "INVALID_JSON"),
        (b'{"scan": "x", "scan": "y", "context": "dispense"}', 400, "INVALID_JSON"),
        (b'{"scan": 12345678901234567890123, "context": "dispense"}', 400, "INVALID_JSON"),
        (b'{"scan": 5, "context": "dispense"}', 422, "BAD_REQUEST"),
        (b'{"scan": "x", "context": "dispense", "extra": 1}', 422, "BAD_REQUEST"),
        (b'{"context": "dispense"}', 422, "BAD_REQUEST"),
        (b'{"scan": "' + b"A" * 600 + b'", "context": "dispense"}', 422, "BAD_REQUEST"),
        (b'{"scan": "(01)09506000134352(21)GOOD1", "context": "x"}', 400, "BAD_CONTEXT"),
        (b"[" * 5000, 413, "TOO_LARGE"),
    ]
    for body, status, code in cases:
        r = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body[:60]
    assert data(scan(net, f"(01){GTIN}(21)GOOD1")) == {"verified": True}


def test_every_identifier_form_agrees_through_scan(net: SupplyNet) -> None:
    forms = {
        "datamatrix": f"]d2\x1d01{GTIN}17{EXP}10{LOT}\x1d21GOOD1",
        "element string": f"(01){GTIN}(21)GOOD1(10){LOT}(17){EXP}",
        "digital link": f"https://example.com/01/{GTIN}/21/GOOD1?10={LOT}&17={EXP}",
        "urn": "urn:epc:id:sgtin:9506000.013435.GOOD1",
    }
    answers = {name: scan(net, text, corrUUID=UUID) for name, text in forms.items()}
    for name, r in answers.items():
        assert r.status_code == 200, (name, r.text)
        doc = r.json()
        assert doc["data"] == {"verified": True} and doc["corrUUID"] == UUID, name
        assert doc["identity"]["gtin"] == GTIN and doc["identity"]["serial"] == "GOOD1", name
        names_no_party(r)
    full = {"gtin": GTIN, "serial": "GOOD1", "lot": LOT, "expiry": "2027-12-31"}
    assert [answers[n].json()["identity"] for n in ("datamatrix", "element string",
                                                    "digital link")] == [full] * 3
    # an EPC URN carries no lot or expiry: nothing to compare, the same pack
    assert answers["urn"].json()["identity"] == {**full, "lot": None, "expiry": None}
    # and GET /vrs agrees with the scan of the same label
    assert vrs(net, "GOOD1").json()["data"] == answers["datamatrix"].json()["data"]
    fake = scan(net, f"]d2\x1d01{GTIN}17{EXP}10{LOT}\x1d21FAKE9")
    assert data(fake) == {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"}


def test_guessing_serials_spends_the_address_budget(tmp_path: Path) -> None:
    limits = RateLimits(verify_failures=Budget(0.01, 3))
    with supply_net(tmp_path, rate_limits=limits) as small:
        small.commission("REAL1")
        for i in range(3):
            assert data(vrs(small, f"GUESS{i}"))["verified"] is False
        r = vrs(small, "GUESS9")
        assert r.status_code == 429 and r.json()["error"]["code"] == "RATE_LIMITED"
        assert int(r.headers["Retry-After"]) >= 1
        # spent: even a real serial waits, and so does a scan; other endpoints serve
        assert vrs(small, "REAL1").status_code == 429
        assert scan(small, f"(01){GTIN}(21)REAL1").status_code == 429
        assert httpx.get(f"{small.url}/v1/status").status_code == 200


def test_the_responder_gln_is_configuration_and_checked() -> None:
    with pytest.raises(ValueError, match="not a GLN"):
        NodeConfig(Path("."), responder_gln="9506000000016")
    assert NodeConfig(Path("."), responder_gln=RESPONDER_GLN).responder_gln == RESPONDER_GLN


# -- SDK and CLI -------------------------------------------------------------------------------
def test_the_sdk_verifies_and_scans(net: SupplyNet) -> None:
    with net.client() as anyone:
        assert anyone.verify_pack(GTIN, LOT, "GOOD1", EXP, corr_uuid=UUID)["corrUUID"] == UUID
        assert anyone.verify_pack(GTIN, LOT, "A/B%1", EXP)["data"] == {"verified": True}
        found = anyone.scan(f"(01){GTIN}(21)FAKE3")
        assert found["data"]["verificationFailureReason"] == "No_match_GTIN_Serial"
        assert found["identity"]["serial"] == "FAKE3"
        with pytest.raises(SalusError) as refused:
            anyone.verify_pack(GTIN, LOT, "GOOD1", "next year")
        assert refused.value.code == "BAD_EXPIRY"
        with pytest.raises(SalusError) as refused:  # a saleable return needs an identity
            anyone.verify_pack(GTIN, LOT, "RET1", EXP, context="dscsaSaleableReturn")
    with net.client(net.operator["wholesale"]) as wholesale:
        assert wholesale.scan(f"(01){GTIN}(21)RET1", context="dscsaSaleableReturn",
                              returner="corner-pharmacy")["data"] == {"verified": True}


def _cli(net: SupplyNet, *args: str, key: Path | None = None) -> Any:
    extra = ["--key", str(key)] if key is not None else []
    return CliRunner().invoke(cli, ["supply", *args, "--node", net.url, *extra])


def test_the_cli_verifies_any_identifier_form_and_says_so_by_its_exit_status(
        net: SupplyNet, tmp_path: Path) -> None:
    ok = _cli(net, "verify", f"(01){GTIN}(21)GOOD1(10){LOT}(17){EXP}")
    assert (ok.exit_code, ok.output.strip()) == (0, "verified"), ok.output
    same = _cli(net, "verify", "--gtin", GTIN, "--lot", LOT, "--serial", "GOOD1", "--exp", EXP)
    assert (same.exit_code, same.output) == (0, ok.output)
    # an EPC URN has no lot or expiry: the options add them
    urn = _cli(net, "verify", "urn:epc:id:sgtin:9506000.013435.GOOD1", "--lot", LOT, "--exp",
               "271200", "--json")
    assert urn.exit_code == 0 and json.loads(urn.output)["data"] == {"verified": True}
    fake = _cli(net, "verify", f"https://id.gs1.org/01/{GTIN}/21/FAKE4?10={LOT}&17={EXP}")
    assert fake.exit_code == 3 and "NOT verified: No_match_GTIN_Serial" in fake.output
    dispensed = _cli(net, "scan", f"]d2\x1d01{GTIN}17{EXP}10{LOT}\x1d21DISP1")
    assert dispensed.exit_code == 0, dispensed.output
    assert f"pack: GTIN {GTIN} serial DISP1 lot {LOT} expiry 2027-12-31" in dispensed.output
    scanned = _cli(net, "scan", f"(01){GTIN}(21)GOOD1", "--json", "--corr-uuid", UUID)
    doc = json.loads(scanned.output)
    assert doc["corrUUID"] == UUID and doc["identity"]["lot"] is None
    for args, code in ((["verify", f"(01)09506000134353(21)X(10){LOT}(17){EXP}"], "BAD_CHECK_DIGIT"),
                       (["verify", "(00)095060000000000015"], "NOT_A_PACK"),
                       (["scan", "(00)095060000000000015"], "NOT_A_PACK"),
                       (["verify", "--gtin", GTIN, "--lot", LOT, "--serial", "X", "--exp",
                         "soon"], "BAD_EXPIRY")):
        bad = _cli(net, *args)
        assert bad.exit_code == 1 and code in bad.output, (args, bad.output)
    missing = _cli(net, "verify", f"(01){GTIN}(21)GOOD1")
    assert missing.exit_code == 1 and "--lot, --exp" in missing.output
    # a saleable return, with the distributor's key file
    keyfile = tmp_path / "wholesale.key"
    net.operator["wholesale"].save(keyfile)
    ret = _cli(net, "scan", f"(01){GTIN}(21)RET1", "--context", "dscsaSaleableReturn",
               "--returner", "corner-pharmacy", key=keyfile)
    assert ret.exit_code == 0 and "verified" in ret.output, ret.output
    never = _cli(net, "scan", f"(01){GTIN}(21)RET2", "--context", "dscsaSaleableReturn",
                 "--returner", "other-pharmacy", key=keyfile)
    assert never.exit_code == 3 and "No_reason_provided" in never.output


# -- the counter's fast path -------------------------------------------------------------------
def test_the_fast_path_and_the_route_answer_alike(net: SupplyNet) -> None:
    """Without a token the counter's request is answered before routing; with one (any
    member's) it goes through the route. Both say the same."""
    token = net.token(net.operator["other-pharmacy"])
    asks = [("GOOD1", {}), ("FAKE5", {}), ("REC1", {"lot": "LOT-R"}), ("DISP1", {}),
            ("GOOD1", {"lot": "LOT-X"}), ("GOOD1", {"corrUUID": UUID, "reqGLN": "9506000000022"}),
            ("A/B%1", {}), ("GOOD1", {"exp": "271200"})]
    for serial, extra in asks:
        fast, routed = vrs(net, serial, **extra), vrs(net, serial, token=token, **extra)
        assert fast.status_code == routed.status_code == 200, (serial, extra)
        assert fast.headers["content-type"] == routed.headers["content-type"]
        strip = lambda r: {k: v for k, v in r.json().items() if k != "verificationTimestamp"}  # noqa: E731
        assert strip(fast) == strip(routed), (serial, extra)


def _scope(path: str, query: str, headers: list | None = None) -> dict[str, Any]:
    raw = path.encode()
    return {"type": "http", "method": "GET", "path": unquote(path), "raw_path": raw,
            "query_string": query.encode(), "headers": headers or [], "client": ("10.0.0.9", 1)}


def test_the_fast_path_answers_only_a_well_formed_counter_request(chain: Chain) -> None:
    """Everything it does not answer goes on to the route, which is the one that refuses."""
    at_pharmacy(build_supply(chain), "F1")
    limiter = RateLimiter(RateLimits(verify_failures=Budget(0.001, 2)), NodeMetrics())
    fast = CounterFastPath(None, _reader(chain.ledger), limiter, RESPONDER_GLN,
                           lambda: chain.time)
    path = f"/vrs/gtin/{GTIN}/lot/{LOT}/ser/F1"
    good = f"exp={EXP}&context=dispense"
    answer = fast.answer(_scope(path, good))
    assert answer is not None and json.loads(answer)["data"] == {"verified": True}
    assert json.loads(answer)["responderGLN"] == RESPONDER_GLN
    for scope in (_scope(path, good, [(b"authorization", b"Bearer x")]),
                  _scope(path, f"exp={EXP}&context=dscsaSaleableReturn"),
                  _scope(path, f"{good}&returner=wholesale"),
                  _scope(path, f"{good}&context=dispense"),       # given twice
                  _scope(path, "exp=soon&context=dispense"),
                  _scope(path, "context=dispense"),
                  _scope(path, f"{good}&corrUUID=x"),
                  _scope(path, f"{good}&reqGLN=1"),
                  _scope(path.replace(GTIN, "09506000134353"), good),
                  _scope(f"/vrs/gtin/{GTIN}/lot/{LOT}/ser/F1/extra", good),
                  _scope(path, "exp=%FF&context=dispense")):
        assert fast.answer(scope) is None, scope
    # a failed verification spends the address's budget; once spent, the route answers
    missing = path.replace("/F1", "/NOPE")
    assert json.loads(fast.answer(_scope(missing, good)))["data"]["verified"] is False
    assert json.loads(fast.answer(_scope(missing, good)))["data"]["verified"] is False
    assert fast.answer(_scope(path, good)) is None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.text(max_size=30), min_size=3, max_size=3),
       query=st.text(max_size=120), raw=st.binary(max_size=60))
def test_the_fast_path_never_fails_on_what_a_client_sends(chain: Chain, parts: list[str],
                                                          query: str, raw: bytes) -> None:
    """Any path and query: an answer (the request was well formed) or None (the route's
    turn), never an exception, which would be a 500 before the route could refuse."""
    fast = CounterFastPath(None, _reader(chain.ledger),
                           RateLimiter(RateLimits(), NodeMetrics()), None, lambda: chain.time)
    path = "/vrs/gtin/{}/lot/{}/ser/{}".format(*(quote(p, safe="") for p in parts))
    for scope in (_scope(path, query), _scope(path, f"exp={EXP}&context=dispense&{query}"),
                  {**_scope(path, "context=dispense"), "raw_path": b"/vrs/" + raw,
                   "query_string": raw}):
        answer = fast.answer(scope)
        assert answer is None or json.loads(answer)["data"]["verified"] is False
