"""Red team of the supply contract (issue 16): what a trading partner might try with calls
it is allowed to make, beyond the wrong-party refusals of ``test_supply_contract``."""

from __future__ import annotations

import pytest

from conftest import Chain
from supply_world import EXPIRY, GTIN, LOT, OTHER_GTIN, Supply, build_supply, case, event, pack


@pytest.fixture
def s(chain: Chain) -> Supply:
    return build_supply(chain)


def codes(verdicts: list[tuple[str, str]]) -> list[str]:
    return [c for c, _ in verdicts]


def supply_state(s: Supply) -> list:
    return [(k, v) for k, v, _ in s.chain.ledger.store.all_state() if k.startswith("supply/")]


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
    fresh lot; and an output expiring after its inputs would outlive the drug."""
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
    # a fresh input into outputs that expire no later than it does
    s.ok(_repackage(s, "fresh", fresh, 20270131, [pack("N4", OTHER_GTIN)]))
    assert s.item(fresh[0])["status"] == "decommissioned"
    assert s.item(pack("N4", OTHER_GTIN))["expiry"] == 20270131
