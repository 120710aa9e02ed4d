"""salus.supply.verification: a pack verified at the counter from ledger state, in the
GS1 Lightweight Messaging shape: a counterfeit serial, a wrong lot or expiry, and a
recalled, expired, suspect or already dispensed pack, each said as the standard says."""

from __future__ import annotations

import json

import pytest

from conftest import Chain
from salus.supply.contracts.layout import block_date
from salus.supply.identifiers import IdentifierError, parse
from salus.supply.verification import verify
from supply_world import EXPIRY, GTIN, LOT, Supply, build_supply, event, pack
from test_supply_contract import at_pharmacy


@pytest.fixture
def s(chain: Chain) -> Supply:
    return build_supply(chain)


def _scan(serial: str, lot: str | None = LOT, expiry: str | None = "271231") -> str:
    text = f"(01){GTIN}(21){serial}"
    if lot is not None:
        text += f"(10){lot}"
    if expiry is not None:
        text += f"(17){expiry}"
    return text


def _verify(s: Supply, scanned: str) -> dict:
    get = s.chain.ledger.state_value
    return verify(get, parse(scanned), block_date(s.chain.time)).data()


def test_a_genuine_pack_verifies_in_every_identifier_form(s: Supply) -> None:
    at_pharmacy(s, "V1")
    assert EXPIRY == 20271231
    for form in (_scan("V1"), _scan("V1", lot=None, expiry=None),
                 f"https://id.gs1.org/01/{GTIN}/21/V1?10={LOT}&17=271231"):
        assert _verify(s, form) == {"verified": True}, form


def test_a_counterfeit_or_a_wrong_label_fails_with_the_standards_reason(s: Supply) -> None:
    at_pharmacy(s, "V2")
    assert _verify(s, _scan("NOSUCH")) == {"verified": False,
                                           "verificationFailureReason": "No_match_GTIN_Serial"}
    assert _verify(s, _scan("V2", lot="LOT-B9"))["verificationFailureReason"] == \
        "No_match_GTIN_Serial_Lot"
    assert _verify(s, _scan("V2", expiry="281231"))["verificationFailureReason"] == \
        "No_match_GTIN_Serial_Expiry"
    assert _verify(s, _scan("V2", lot="LOT-B9", expiry="281231"))[
        "verificationFailureReason"] == "No_match_GTIN_Serial_Lot_Expiry"
    # the same serial under another brand's GTIN is no match either
    other = "(01)04012345111118(21)V2"
    assert _verify(s, other)["verificationFailureReason"] == "No_match_GTIN_Serial"


def test_what_a_dispenser_must_know_comes_with_a_match(s: Supply) -> None:
    _recalled, suspect, dispensed = at_pharmacy(s, "W1", "W2", "W3")
    s.ok(s.call("pharmaco", "recall", {"gtin": GTIN, "lot": LOT, "reason": "contamination"}))
    assert _verify(s, _scan("W1")) == {"verified": True, "additionalInfo": "Recalled",
                                       "additionalInfoAll": ["Recalled"]}
    s.ok(s.call("corner-pharmacy", "report", {"event": event("rep-w2"), "item": suspect,
                                             "status": "suspect"}))
    assert _verify(s, _scan("W2"))["additionalInfoAll"] == ["Recalled", "Suspect"]
    assert _verify(s, _scan("W2"))["additionalInfo"] == "Suspect"  # the most severe
    s.chain.time += 800 * 86_400_000  # well past 31 December 2027
    assert _verify(s, _scan("W3"))["additionalInfoAll"] == ["Recalled", "Expired"]
    assert _verify(s, _scan("W3"))["additionalInfo"] == "Recalled"
    assert dispensed == pack("W3")


def test_a_pack_dispensed_before_and_scanned_again_is_flagged(s: Supply) -> None:
    (item,) = at_pharmacy(s, "X1")
    s.ok(s.call("corner-pharmacy", "dispense", {"event": event("dx1"), "item": item}))
    answer = _verify(s, _scan("X1"))
    # Salus's own value in full; the LMS's vocabulary calls a reappearing serial suspect
    assert answer == {"verified": True, "additionalInfo": "Suspect",
                      "additionalInfoAll": ["Dispensed"]}
    # nothing of who holds it, owned it or where it went (V4)
    said = json.dumps(answer)
    assert not [org for org in ("corner-pharmacy", "wholesale", "pharmaco") if org in said]


def test_only_a_pack_is_verified(s: Supply) -> None:
    with pytest.raises(IdentifierError):
        verify(s.chain.ledger.state_value, parse(f"(01){GTIN}(10){LOT}"), 20260101)
