"""Red team of the supply contract (issue 16): what a trading partner might try with calls
it is allowed to make, beyond the wrong-party refusals of ``test_supply_contract``."""

from __future__ import annotations

import pytest

from conftest import Chain
from supply_world import EXPIRY, GTIN, LOT, OTHER_GTIN, Supply, build_supply, case, event, pack
from test_supply_contract import codes, supply_state


@pytest.fixture
def s(chain: Chain) -> Supply:
    return build_supply(chain)


def test_only_the_owner_sells(s: Supply) -> None:
    """A distributor holding a manufacturer's packs on consignment (possession, not
    ownership) sells them on, loose or packed into a case of its own: receipt would move
    the manufacturer's ownership to the buyer. SC5: a sale is the owner's."""
    loose, packed = pack("CONS1"), pack("CONS2")
    s.ok(s.commission("pharmaco", "consigned", [loose, packed]))
    s.move([loose, packed], ("pharmaco", "wholesale"), sale=False)
    assert s.item(loose)["owner"] == s.item(packed)["owner"] == "pharmaco"
    box = case("801")
    s.ok(s.call("wholesale", "aggregate", {"event": event("own case"), "parent": box,
                                           "children": [packed], "action": "ADD"}))
    assert s.item(box)["owner"] == "wholesale"  # the case is the distributor's own
    before = supply_state(s)
    got = s.run(s.ship("wholesale", "sell loose", [loose], "corner-pharmacy", "sale loose"),
                s.ship("wholesale", "sell packed", [box], "corner-pharmacy", "sale packed"))
    assert codes(got) == ["CONFLICT", "CONFLICT"], got
    assert all("SC5" in reason and "owner" in reason for _, reason in got), got
    assert "pharmaco" not in got[0][1] + got[1][1]  # the owner is never named
    assert supply_state(s) == before
    # moving possession on (a 3PL's shipment, no sale) is still the possessor's to do
    s.ok(s.ship("wholesale", "forward", [loose], "corner-pharmacy"))
    s.ok(s.receive("corner-pharmacy", "forwarded", [loose]))
    assert s.item(loose)["owner"] == "pharmaco" and s.item(loose)["possessor"] == "corner-pharmacy"
    # and the owner sells what it owns
    s.move([box], ("wholesale", "pharmaco"), sale=False)
    s.ok(s.call("pharmaco", "aggregate", {"event": event("unpack"), "parent": box,
                                          "children": [packed], "action": "DELETE"}))
    s.move([packed], ("pharmaco", "other-pharmacy"))
    assert s.item(packed)["owner"] == "other-pharmacy"


def _at_repackager(s: Supply, serials: list[str], lot: str = LOT, expiry: int = EXPIRY
                   ) -> list[str]:
    """Pharmaco's packs of ``lot``, bought by genericco (a manufacturer that repackages)."""
    items = [pack(x) for x in serials]
    s.ok(s.commission("pharmaco", "made " + lot, items, lot=lot, expiry=expiry))
    s.move(items, ("pharmaco", "genericco"))
    return items


def _repackage(s: Supply, name: str, inputs: list[str], expiry: int, outputs: list[str]
               ) -> bytes:
    return s.call("genericco", "transform", {"event": event(name), "inputs": inputs,
                                             "gtin": OTHER_GTIN, "lot": "RP-" + name[:8],
                                             "expiry": expiry, "outputs": outputs})


def test_repackaging_never_launders_a_recalled_or_expired_pack(s: Supply) -> None:
    """SC10: outputs of a recalled or expired input would be new, saleable packs of a
    fresh lot; an output expiring after its inputs would outlive the drug; and outputs of
    inputs the repackager does not own would be its own packs made of another's."""
    recalled = _at_repackager(s, ["RCL1"], lot="RCL")
    s.ok(s.call("pharmaco", "recall", {"gtin": GTIN, "lot": "RCL", "reason": "sterility"}))
    short = _at_repackager(s, ["SHT1"], lot="SHT", expiry=20251201)
    fresh = _at_repackager(s, ["FRS1"], lot="FRS", expiry=20270131)
    before = supply_state(s)
    got = s.run(_repackage(s, "recalled", recalled, 20270131, [pack("N1", OTHER_GTIN)]),
                _repackage(s, "later", fresh, 20270201, [pack("N2", OTHER_GTIN)]))
    assert codes(got) == ["CONFLICT", "CONFLICT"], got
    assert "recalled" in got[0][1] and "expires" in got[1][1], got
    assert supply_state(s) == before
    s.chain.time += 30 * 86_400_000  # past 1 December 2025
    got = s.run(_repackage(s, "expired", short, 20251201, [pack("N3", OTHER_GTIN)]))
    assert codes(got) == ["CONFLICT"] and "expired" in got[0][1], got
    # a repackager holding packs it does not own (on consignment) would make them its own
    consigned = [pack("CNS1")]
    s.ok(s.commission("pharmaco", "consigned", consigned, lot="FRS", expiry=20270131))
    s.move(consigned, ("pharmaco", "genericco"), sale=False)
    got = s.run(_repackage(s, "consignment", consigned, 20270131, [pack("N5", OTHER_GTIN)]))
    assert codes(got) == ["CONFLICT"] and "own" in got[0][1], got
    assert s.item(consigned[0])["status"] == "active"
    # a fresh input into outputs that expire no later than it does
    s.ok(_repackage(s, "fresh", fresh, 20270131, [pack("N4", OTHER_GTIN)]))
    assert s.item(fresh[0])["status"] == "decommissioned"
    assert s.item(pack("N4", OTHER_GTIN))["expiry"] == 20270131


# -- the counter's fast path against the route, on the same bytes ---------------------------
_GLN = "9506000000015"
_UUID = "0b7c2f3e-6f1a-4c35-9d7e-2a9b1e4c8d10"
_NAMES = ["exp", "context", "corrUUID", "reqGLN", "returner", "e%78p", "con%74ext", "ctx",
          "exp+", "EXP", "", "corr%55UID"]
_VALUES = ["271231", "271200", "dispense", "dispens%65", "dispense+", "dscsaSaleableReturn",
           _UUID, _UUID.upper(), _GLN, "9506000000016", "", "%FF", "%C3%A9", "+", "a%26b=c"]
_SERIALS = ["FP1"] * 6 + ["NOPE", "A%2FB%251", "A/B%1", "fp1", "FP1%20", "%46P1", "FP1+"]
_LOTS = [LOT] * 6 + ["LOT-X", "LOT%2DA1", "", "LOT-A1%00"]


def _asgi(app, scope: dict) -> tuple[int, bytes]:
    """One request through ``app``, on exactly ``scope``."""
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_fast_path_answers_exactly_as_the_route_would(chain: Chain) -> None:
    """Whenever the counter's fast path answers a request, the route, given the very same
    path and query bytes, answers it alike: encodings, duplicate and odd parameters, a
    serial with URL-special characters, case, '+'."""
    import json
    from types import SimpleNamespace
    from urllib.parse import unquote

    from fastapi import FastAPI
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from salus.api import errors
    from salus.api.rate_limit import RateLimiter
    from salus.node.metrics import NodeMetrics
    from salus.node.rate_limits import Budget, RateLimits
    from salus.supply import routes_verification as verification

    s = build_supply(chain)
    items = [pack("FP1"), pack("A/B%1")]
    s.ok(s.commission("pharmaco", "fp", items))
    limiter = RateLimiter(RateLimits(verify_failures=Budget(1e6, 10**9)), NodeMetrics())
    clock = lambda: chain.time  # noqa: E731
    routed = FastAPI()
    errors.install(routed)
    routed.state.node = SimpleNamespace(ledger=chain.ledger)
    routed.include_router(verification.build_router(chain.ledger, limiter, _GLN, clock))
    fast = verification.CounterFastPath(routed, verification._reader(chain.ledger), limiter,
                                        _GLN, clock)
    answered = []

    @settings(max_examples=300, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(gtin=st.sampled_from([GTIN] * 4 + [GTIN[1:], "0" + GTIN[1:13] + "3", "%30" + GTIN[1:]]),
           lot=st.sampled_from(_LOTS), serial=st.sampled_from(_SERIALS),
           pairs=st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_VALUES)),
                          max_size=4),
           base=st.sampled_from([True, True, False]))
    def check(gtin: str, lot: str, serial: str, pairs: list, base: bool) -> None:
        query = [("exp", "271231"), ("context", "dispense")] if base else []
        raw = f"/vrs/gtin/{gtin}/lot/{lot}/ser/{serial}".encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": unquote(raw.decode()),
                 "raw_path": raw, "root_path": "",
                 "query_string": "&".join(f"{k}={v}" for k, v in query + pairs).encode(),
                 "headers": [(b"host", b"counter")], "client": ("10.0.0.9", 1),
                 "server": ("counter", 80)}
        mine = fast.answer(dict(scope))
        if mine is None:
            return  # the route's to answer, and it is the one that answers
        status, body = _asgi(routed, dict(scope))
        assert status == 200, (scope, body)
        strip = lambda b: {k: v for k, v in json.loads(b).items()  # noqa: E731
                           if k != "verificationTimestamp"}
        assert strip(mine) == strip(body), scope
        answered.append(json.loads(mine)["data"]["verified"])

    check()
    assert True in answered and False in answered  # both kinds of answer were compared


# -- identifiers: what GS1 allows in a serial, in every spelling -----------------------------
@pytest.mark.parametrize("serial", ["%C3%A9", "A%00B", "A%20B", "%7E", "ABCDEFGHIJKLMNOPQRSTU",
                                    "0" * 31 + "1"])
def test_an_epc_urn_serial_is_what_ai_21_allows(serial: str) -> None:
    """A serial is 1-20 characters of GS1's set 82 (AI 21), however it is spelt: an EPC
    URN's percent escapes (TDS Table I.3.1-1) must not smuggle in a non-ASCII or control
    character, or a 21st, which the DataMatrix and Digital Link forms refuse. Otherwise a
    manufacturer could commission packs no counter can verify (BAD_SERIAL there)."""
    from salus.supply.capture_plan import PlanError, plan
    from salus.supply.identifiers import IdentifierError, parse

    urn = f"urn:epc:id:sgtin:9506000.013435.{serial}"
    with pytest.raises(IdentifierError):
        parse(urn)
    commissioning = {"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
                     "epcList": [urn], "ilmd": {"cbvmda:lotNumber": LOT,
                                                "cbvmda:itemExpirationDate": "2027-12-31"}}
    with pytest.raises(PlanError):
        plan([commissioning], ["ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"], lambda gln: None)


@pytest.mark.parametrize("urn", ["urn:epc:class:lgtin:9506000.013435.%C3%A9",
                                 "urn:epc:class:lgtin:9506000.013435." + "L" * 21,
                                 "urn:epc:id:sgln:9506000.00001.%0A"])
def test_an_epc_urn_lot_or_extension_is_what_gs1_allows(urn: str) -> None:
    from salus.supply.identifiers import IdentifierError, parse

    with pytest.raises(IdentifierError):
        parse(urn)


def test_escaped_characters_of_set_82_are_still_read() -> None:
    from salus.supply.identifiers import parse

    assert parse("urn:epc:id:sgtin:9506000.013435.A%2FB%25C").serial == "A/B%C"
    assert parse("urn:epc:id:sgtin:9506000.013435." + "9" * 20).serial == "9" * 20
