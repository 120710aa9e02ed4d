"""salus.supply.vrs: a Lightweight Messaging verification request's parts read exactly as
the scanned label would be (the same pack, the same expiry date), and its answer decided
from ledger state at the time given (an expired pack, a saleable return)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Chain
from salus.supply import vrs
from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import check_digit, parse
from supply_world import GTIN, LOT, Supply, build_supply, pack
from test_supply_contract import at_pharmacy

CS82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
TODAY = date(2026, 11, 28)


@pytest.fixture
def s(chain: Chain) -> Supply:
    return build_supply(chain)


@settings(max_examples=300, deadline=None)
@given(body=st.text("0123456789", min_size=13, max_size=13),
       serial=st.text(CS82, min_size=1, max_size=20), lot=st.text(CS82, min_size=1, max_size=20),
       yy=st.integers(0, 99), mm=st.integers(1, 12), dd=st.integers(0, 28))
def test_a_request_names_the_pack_its_label_does(body: str, serial: str, lot: str, yy: int,
                                                 mm: int, dd: int) -> None:
    """The same identity (so the same item key) and expiry as biip reads from the label's
    element string: the century rule and day 00 agree."""
    gtin, exp = body + check_digit(body), f"{yy:02d}{mm:02d}{dd:02d}"
    asked = vrs.pack(gtin, lot, serial, exp, date.today())
    label = parse(f"01{gtin}17{exp}10{lot}\x1d21{serial}")
    assert asked == label and item_key(asked) == item_key(label)
    assert (asked.lot, asked.expiry) == (label.lot, label.expiry)


def test_expiry_dates() -> None:
    assert vrs.expiry_date("280200", TODAY) == date(2028, 2, 29)   # day 00: the last day
    assert vrs.expiry_date("270200", TODAY) == date(2027, 2, 28)
    assert vrs.expiry_date("761231", TODAY) == date(2076, 12, 31)  # 50 years ahead
    assert vrs.expiry_date("771231", TODAY) == date(1977, 12, 31)  # 51: the last century
    for bad in ("280230", "271301", "270000", "27123", "2712311", "27-1-1", "", 271231):
        with pytest.raises(vrs.RequestError) as exc:
            vrs.expiry_date(bad, TODAY)
        assert exc.value.code == "BAD_EXPIRY"


def test_gtins_of_every_length_are_gtin_14s() -> None:
    assert vrs.gtin14("9506000134352") == GTIN  # a GTIN-13, zero-padded
    assert vrs.gtin14("96385074") == "00000096385074"
    for bad, code in (("9506000134353", "BAD_CHECK_DIGIT"), ("950600013435", "BAD_CHECK_DIGIT"),
                      ("123456789", "BAD_GTIN"), ("+9506000134352", "BAD_GTIN"), (None, "BAD_GTIN")):
        with pytest.raises(vrs.RequestError) as exc:
            vrs.gtin14(bad)
        assert exc.value.code == code, bad


def test_an_expired_pack_is_said_expired_by_the_verifiers_clock(s: Supply) -> None:
    (item,) = at_pharmacy(s, "E1")
    asked = vrs.Request(vrs.pack(GTIN, LOT, "E1", "271231", TODAY), vrs.DISPENSE)
    get = s.chain.ledger.state_value
    day = 86_400_000
    on_expiry = 1_830_211_200_000  # 2027-12-31T00:00:00Z
    assert vrs.decide(get, asked, on_expiry + day - 1).data() == {"verified": True}
    late = vrs.decide(get, asked, on_expiry + day)
    assert late.data() == {"verified": True, "additionalInfo": "Expired",
                           "additionalInfoAll": ["Expired"]}
    answer = vrs.response(late, asked, on_expiry + day, None)
    assert answer["verificationTimestamp"] == "2028-01-01T00:00:00.000Z"
    assert answer["responderGLN"] is None and "corrUUID" not in answer
    assert item == pack("E1")


def test_a_saleable_return_after_the_pack_went_back(s: Supply) -> None:
    """The returner shipped the pack back and the requester received it: still the
    earlier shipment to the returner, still verified."""
    (item,) = at_pharmacy(s, "B1")
    s.move([item], ("corner-pharmacy", "wholesale"))
    asked = vrs.Request(vrs.pack(GTIN, LOT, "B1", "271231", TODAY), vrs.SALEABLE_RETURN,
                        requester_org="wholesale", returner="corner-pharmacy")
    get = s.chain.ledger.state_value
    assert vrs.decide(get, asked, s.chain.time).data() == {"verified": True}
    other = vrs.Request(asked.identity, vrs.SALEABLE_RETURN, requester_org="wholesale",
                        returner="other-pharmacy")
    assert vrs.decide(get, other, s.chain.time).data()["verificationFailureReason"] == \
        "No_reason_provided"
