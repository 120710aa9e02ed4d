"""salus.supply.identifiers: one identity from a DataMatrix, a Digital Link or an EPC URN."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salus.supply.identifiers import (
    CheckDigitError,
    IdentifierError,
    Identity,
    Kind,
    check_digit,
    constrained_digital_link,
    epc_uri_to_digital_link,
    parse,
)

GTIN = "09506000134352"   # GS1's own example GTIN-13 as a GTIN-14 (prefix 9506000, 7 digits)
GS = "\x1d"


def test_three_forms_are_one_identity() -> None:
    forms = [
        "(01)09506000134352(21)ABC123(10)LOT1(17)260200",
        f"]d201{GTIN}17260200" + f"10LOT1{GS}21ABC123",          # raw DataMatrix, FNC1 as GS
        f"{GS}01{GTIN}21ABC123{GS}10LOT1{GS}17260200",            # leading FNC1, no ]d2
        "https://id.gs1.org/01/09506000134352/21/ABC123?10=LOT1&17=260200",
        "https://pharma.example.com/some/path/01/09506000134352/10/LOT1/21/ABC123?17=260200",
        "urn:epc:id:sgtin:9506000.013435.ABC123",
    ]
    identities = [parse(f) for f in forms]
    assert all(i == identities[0] for i in identities)
    assert len(set(identities)) == 1
    first = identities[0]
    assert first.kind is Kind.SGTIN and first.gtin == GTIN and first.serial == "ABC123"
    assert first.lot == "LOT1"
    assert first.digital_link == "https://id.gs1.org/01/09506000134352/21/ABC123"


def test_expiry_day_00_is_the_last_day_of_the_month() -> None:
    assert parse(f"(01){GTIN}(21)1(17)260200").expiry == date(2026, 2, 28)
    assert parse(f"(01){GTIN}(21)1(17)280200").expiry == date(2028, 2, 29)   # leap year
    assert parse(f"(01){GTIN}(21)1(17)261200").expiry == date(2026, 12, 31)
    assert parse(f"https://id.gs1.org/01/{GTIN}/21/1?17=260400").expiry == date(2026, 4, 30)
    with pytest.raises(IdentifierError):
        parse(f"(01){GTIN}(21)1(17)260231")      # 31 February


@pytest.mark.parametrize("bad", [
    "(01)09506000134353(21)ABC",                       # GTIN check digit 3, should be 2
    "0109506000134353211234",
    "https://id.gs1.org/01/09506000134353/21/1",
    "(00)106141412345678907",                          # SSCC check digit 7, should be 8
    "(414)4012345000116",                              # GLN check digit
])
def test_a_wrong_check_digit_is_refused_by_name(bad: str) -> None:
    with pytest.raises(CheckDigitError):
        parse(bad)


@pytest.mark.parametrize("bad", [
    "", "   ", "hello", "(99)123", "urn:epc:id:sgtin:9506000.13435.A",   # 12 digits, not 13
    "urn:epc:id:sgtin:95060.0013435.A",                                  # 5-digit prefix
    "urn:epc:id:sgtin:9506000.013435.A/B",                               # "/" must be escaped
    "urn:epc:id:unknown:1.2", "https://example.com/no/key/here", "(10)LOTONLY",
    "(01)" + GTIN + "(21)A" * 2, "x" * 600,
])
def test_garbage_is_an_identifier_error(bad: str) -> None:
    with pytest.raises(IdentifierError):
        parse(bad)


def test_epc_urns_follow_the_tag_data_standard() -> None:
    sgtin = parse("urn:epc:id:sgtin:4012345.011111.9876")
    assert sgtin.gtin == "04012345111118" and sgtin.company_prefix_length == 7
    assert sgtin.epc_urn() == "urn:epc:id:sgtin:4012345.011111.9876"
    sscc = parse("urn:epc:id:sscc:4012345.0000000333")
    assert sscc.kind is Kind.SSCC and sscc.sscc == "040123450000003338"
    assert sscc.epc_urn() == "urn:epc:id:sscc:4012345.0000000333"
    assert parse("(00)040123450000003338") == sscc
    sgln = parse("urn:epc:id:sgln:4012345.00011.987")
    assert sgln.digital_link == "https://id.gs1.org/414/4012345000115/254/987"
    assert parse("(414)4012345000115(254)987") == sgln
    no_ext = parse("urn:epc:id:sgln:4012345.00005.0")        # extension 0: no AI 254
    assert no_ext.gln_extension is None and no_ext.epc_urn() == "urn:epc:id:sgln:4012345.00005.0"
    lot = parse("urn:epc:class:lgtin:4012345.012345.998877")
    assert lot.kind is Kind.LGTIN and lot == parse("(01)04012345123456(10)998877")
    assert lot != parse("(01)04012345123456(10)998878")       # the lot is a batch's identity
    assert lot.epc_urn() == "urn:epc:class:lgtin:4012345.012345.998877"
    product = parse("urn:epc:idpat:sgtin:4012345.012345.*")
    assert product.kind is Kind.GTIN and product == parse("(01)04012345123456")


def test_urn_escapes_round_trip() -> None:
    pack = parse(f"(01){GTIN}(21)A/B%C&\"<>?")
    urn = pack.epc_urn(7)
    assert urn == "urn:epc:id:sgtin:9506000.013435.A%2FB%25C%26%22%3C%3E%3F"
    assert parse(urn) == pack
    assert parse(pack.digital_link) == pack


def test_a_urn_needs_the_company_prefix_length_when_the_scan_has_none() -> None:
    pack = parse(f"(01){GTIN}(21)1")
    with pytest.raises(IdentifierError, match="Company Prefix length"):
        pack.epc_urn()
    with pytest.raises(IdentifierError):
        pack.epc_urn(5)
    # A wrong length gives another (valid-looking) URN: why the ledger's prefix table matters.
    assert pack.epc_urn(7) != pack.epc_urn(8)
    assert parse(pack.epc_urn(8)) == pack


def test_lot_and_expiry_are_not_the_identity_of_a_pack() -> None:
    one = parse(f"(01){GTIN}(21)S1(10)A(17)260101")
    assert one == parse(f"(01){GTIN}(21)S1(10)B(17)270101")
    assert one != parse(f"(01){GTIN}(21)S2(10)A(17)260101")
    assert one.element_string == f"(01){GTIN}(17)260101(10)A(21)S1"


def test_every_tds_scheme_converts_for_hashing() -> None:
    cases = {
        "urn:epc:id:giai:4000001.111": "https://id.gs1.org/8004/4000001111",
        "urn:epc:id:grai:4012345.66666.387": "https://id.gs1.org/8003/04012345666663387",
        "urn:epc:id:gsrn:4012345.0000098765": "https://id.gs1.org/8018/401234500000987658",
        "urn:epc:id:pgln:999999999999.": "https://id.gs1.org/417/9999999999994",
        "urn:epc:id:gdti:987659999999..9": "https://id.gs1.org/253/98765999999929",
        "urn:epc:id:cpi:4012345.ABC.123": "https://id.gs1.org/8010/4012345ABC/8011/123",
        "urn:epc:id:itip:4012345.011111.01.02.987":
            "https://id.gs1.org/8006/040123451111180102/21/987",
        "urn:epc:idpat:grai:4012345.66666.*": "https://id.gs1.org/8003/04012345666663",
        "urn:epc:id:sgtin:4012345.011111.9876": "https://id.gs1.org/01/04012345111118/21/9876",
    }
    for urn, link in cases.items():
        assert epc_uri_to_digital_link(urn) == link, urn
    assert epc_uri_to_digital_link("urn:epc:id:grai:ABC.1.1") is None
    assert epc_uri_to_digital_link("urn:epc:id:sgtin:1") is None


def test_constrained_digital_link() -> None:
    assert constrained_digital_link("https://id.gs1.de/01/04012345999990/22/2A/10/L1/21/X?17=260101") \
        == "https://id.gs1.org/01/04012345999990/21/X"
    assert constrained_digital_link("https://id.example.com/253/4012345000054987") \
        == "https://id.gs1.org/253/4012345000054987"
    assert constrained_digital_link("https://www.ncbi.nlm.nih.gov/taxonomy/1126011") is None
    assert constrained_digital_link("http://www.opengis.net/def/crs/EPSG/0/27700") is None


@given(st.text(min_size=12, max_size=12, alphabet="0123456789"))
def test_check_digit_catches_any_single_digit_error(payload: str) -> None:
    digit = check_digit(payload)
    wrong = str((int(digit) + 1) % 10)
    ok = parse(f"(414){payload}{digit}")
    assert isinstance(ok, Identity) and ok.gln == payload + digit
    with pytest.raises(CheckDigitError):
        parse(f"(414){payload}{wrong}")


_SERIAL = st.text(alphabet="ABCXYZabc0123456789!\"%&'()*+,-./:;<=>?_", min_size=1, max_size=20)


@given(serial=_SERIAL, prefix_length=st.integers(6, 12), item=st.text("0123456789", min_size=12,
                                                                          max_size=12))
def test_the_three_forms_agree_for_any_pack(serial: str, prefix_length: int, item: str) -> None:
    gtin = "0" + item + check_digit("0" + item)
    pack = parse(f"01{gtin}21{serial}")   # raw DataMatrix data: "(" in a serial is just data
    assert pack.kind is Kind.SGTIN and pack.serial == serial
    assert parse(pack.digital_link) == pack
    assert parse(pack.epc_urn(prefix_length)) == pack
    assert parse(pack.epc_urn(prefix_length)).serial == serial
