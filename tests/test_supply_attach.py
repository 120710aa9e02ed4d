"""supply.attach_footprint (SC13): only a GTIN's brand owner attaches a PACT v3 footprint to
it or to one of its lots, as its hash and integer key figures, never the document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Chain, ident
from salus.supply.contracts.layout import lot_id
from salus.supply.footprint import key_figures
from supply_world import GTIN, LOT, OTHER_GTIN, Supply, build_supply, pack

PACT = Path(__file__).parent / "fixtures" / "pact"


def figures(example: int = 1) -> dict[str, Any]:
    """What the SDK sends for one of PACT's example footprints."""
    doc = json.loads((PACT / f"footprint-example-{example}.json").read_text())
    return key_figures(doc).to_json()


@pytest.fixture
def s(chain: Chain) -> Supply:
    s = build_supply(chain)
    s.ok(s.commission("pharmaco", "c", [pack("F1")]))
    return s


def attach(s: Supply, who: Any, footprint: dict[str, Any], gtin: str = GTIN,
           lot: str | None = None) -> bytes:
    args: dict[str, Any] = {"gtin": gtin, "footprint": footprint}
    return s.call(who, "attach_footprint", args if lot is None else {**args, "lot": lot})


def supply_state(s: Supply) -> list[tuple[str, bytes]]:
    return [(k, v) for k, v, _ in s.chain.ledger.store.all_state() if k.startswith("supply/")]


def codes(got: list[tuple[str, str]]) -> list[str]:
    return [c for c, _ in got]


def test_only_the_brand_owner_attaches_a_footprint_to_its_gtin(s: Supply) -> None:
    fp = figures()
    got = s.run(attach(s, "genericco", fp),                 # another manufacturer
                attach(s, "wholesale", fp),                 # a distributor
                attach(s, "corner-pharmacy", fp, lot=LOT),  # a pharmacy, to a lot
                attach(s, s.admin["pharmaco"], fp),         # the brand owner's admin: no role
                attach(s, s.regulator, fp),                 # regulators recall; they do not declare
                attach(s, ident("stranger"), fp),           # not a member
                attach(s, "pharmaco", fp, gtin=OTHER_GTIN),  # genericco's GTIN
                attach(s, "pharmaco", fp))
    assert codes(got) == ["FORBIDDEN"] * 5 + ["UNKNOWN_SIGNER", "FORBIDDEN", "VALID"], got
    assert "SC13" in got[1][1] and "not wholesale's" in got[1][1]
    assert "not pharmaco's" in got[6][1]
    kept = s.chain.ledger.state_value(f"supply/footprint/product/{GTIN}")
    assert kept == {"gtin": GTIN, "lot": None, "hash": fp["footprint_hash"],
                    "declared_unit": "kilogram", "declared_amount_milli": 1000,
                    "pcf_excluding_biogenic_ug": 384_000_000,
                    "pcf_including_biogenic_ug": -1_230_000_000, "fossil_ghg_ug": 350_000_000,
                    "org": "pharmaco", "height": s.chain.ledger.height, "time": s.chain.time,
                    "replaces": None}


@pytest.mark.parametrize("change, code", [
    # a float, even an exact one, is no signed data at all
    ({"pcf_excluding_biogenic_ug": 0.384}, "MALFORMED"),
    # RFC 8785 writes 384.0 as 384: the signed bytes hold the integer
    ({"pcf_excluding_biogenic_ug": 384.0}, "VALID"),
    ({"pcf_including_biogenic_ug": "-1230000000"}, "BAD_ARGUMENTS"),  # a string
    ({"fossil_ghg_ug": True}, "BAD_ARGUMENTS"),
    ({"fossil_ghg_ug": -1}, "BAD_ARGUMENTS"),  # fossil emissions are never negative
    ({"declared_amount_milli": 0}, "BAD_ARGUMENTS"),
    ({"pcf_excluding_biogenic_ug": 2**53 - 1}, "VALID"),  # what JSON carries exactly
    ({"pcf_excluding_biogenic_ug": 2**53}, "MALFORMED"),  # and past it
    ({"pcf_excluding_biogenic_ug": 2**64}, "MALFORMED"),
    ({"declared_unit": "barrel"}, "BAD_ARGUMENTS"),
    ({"footprint_hash": "AB" * 32}, "BAD_ARGUMENTS"),
    ({"company": "Company 1"}, "BAD_ARGUMENTS"),  # nothing but the figures
])
def test_figures_are_exact_bounded_integers(s: Supply, change: dict[str, Any], code: str
                                            ) -> None:
    fp = {**figures(), **change}
    try:
        raw = attach(s, "pharmaco", fp)
    except ValueError:  # this SDK will not even sign it; a hostile one would
        assert code == "MALFORMED"
        return
    (got,) = s.run(raw)
    assert got[0] == code, got
    kept = s.chain.ledger.state_value(f"supply/footprint/product/{GTIN}")
    assert (kept is not None) == (code == "VALID")


def test_a_missing_figure_is_refused(s: Supply) -> None:
    fp = figures()
    del fp["fossil_ghg_ug"]
    assert codes(s.run(attach(s, "pharmaco", fp))) == ["BAD_ARGUMENTS"]


def test_a_lot_footprint_needs_the_lot_and_a_new_one_replaces_the_old(s: Supply) -> None:
    one, two = figures(1), figures(2)
    got = s.run(attach(s, "pharmaco", one, lot="NO-SUCH-LOT"),
                attach(s, "pharmaco", one, lot=LOT))
    assert codes(got) == ["NOT_FOUND", "VALID"], got
    lot_key = f"supply/footprint/lot/{lot_id(GTIN, LOT)}"
    first = s.chain.ledger.state_value(lot_key)
    assert first["lot"] == LOT and first["hash"] == one["footprint_hash"]
    assert s.chain.ledger.state_value(f"supply/footprint/product/{GTIN}") is None
    # the same footprint again: no change, the first outcome
    state = supply_state(s)
    again = s.ok(attach(s, "pharmaco", one, lot=LOT))[0]
    assert again == {"gtin": GTIN, "lot": LOT, "hash": one["footprint_hash"],
                     "height": first["height"]}
    assert supply_state(s) == state
    # the same hash with other figures is a lie about the document
    got = s.run(attach(s, "pharmaco", {**one, "fossil_ghg_ug": 1}, lot=LOT))
    assert codes(got) == ["CONFLICT"] and "other figures" in got[0][1]
    s.ok(attach(s, "pharmaco", two, lot=LOT))
    second = s.chain.ledger.state_value(lot_key)
    assert second["hash"] == two["footprint_hash"] and second["replaces"] == one["footprint_hash"]
