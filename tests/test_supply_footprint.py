"""salus.supply.footprint: PACT v3 ProductFootprints checked against PACT's own schema,
and the key figures the ledger keeps, exact integers (no floats), never the document."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from salus.supply.footprint import (
    MAX_BYTES,
    FootprintInvalid,
    for_gtin,
    key_figures,
    read_footprint,
    validate,
)

EXAMPLES = sorted((Path(__file__).parent / "fixtures" / "pact").glob("footprint-example-*.json"))


def _example(i: int = 0) -> dict[str, Any]:
    return json.loads(EXAMPLES[i].read_text())


def test_pacts_examples_are_valid_and_their_figures_exact() -> None:
    assert len(EXAMPLES) == 3
    for path in EXAMPLES:
        assert validate(json.loads(path.read_text())) == [], path.name
    figures = key_figures(_example(0)).to_json()
    # "0.384" kg CO2e per kilogram, "-1.23" including biogenic uptake, exactly
    assert figures["pcf_excluding_biogenic_ug"] == 384_000_000
    assert figures["pcf_including_biogenic_ug"] == -1_230_000_000
    assert figures["declared_unit"] == "kilogram" and figures["declared_amount_milli"] == 1000
    assert all(isinstance(v, int) for k, v in figures.items() if k not in
               ("footprint_hash", "declared_unit"))


def test_the_hash_is_of_the_canonical_bytes_and_names_nothing_else() -> None:
    reordered = json.loads(json.dumps(_example(0), sort_keys=True))
    assert key_figures(reordered).footprint_hash == key_figures(_example(0)).footprint_hash
    changed = _example(0)
    changed["pcf"]["pcfExcludingBiogenicUptake"] = "0.385"
    assert key_figures(changed).footprint_hash != key_figures(_example(0)).footprint_hash
    kept = json.dumps(key_figures(_example(0)).to_json())
    for private in ("Company 1", "Bioethanol", "sugar beet", "urn:gtin"):
        assert private not in kept  # names, descriptions and ids stay off the ledger


def _broken(change) -> dict[str, Any]:
    doc = copy.deepcopy(_example(0))
    change(doc)
    return doc


@pytest.mark.parametrize("change, where", [
    (lambda d: d.pop("pcf"), "pcf"),
    (lambda d: d["pcf"].update(pcfExcludingBiogenicUptake=0.384), "pcfExcludingBiogenicUptake"),
    (lambda d: d["pcf"].update(pcfExcludingBiogenicUptake="1e3"), "pcfExcludingBiogenicUptake"),
    (lambda d: d.update(specVersion="three"), "specVersion"),
    (lambda d: d.update(created="yesterday"), "created"),
    (lambda d: d.update(id="not-a-uuid"), "id"),
    (lambda d: d.update(companyIds=[]), "companyIds"),
])
def test_an_invalid_footprint_is_refused_with_its_reason(change, where: str) -> None:
    doc = _broken(change)
    reasons = validate(doc)
    assert reasons and any(where in r for r in reasons), reasons
    with pytest.raises(FootprintInvalid):
        key_figures(doc)


def test_a_figure_finer_than_the_ledger_keeps_is_refused_not_rounded() -> None:
    doc = _broken(lambda d: d["pcf"].update(pcfExcludingBiogenicUptake="0.0000000001"))
    assert validate(doc) == []  # PACT allows it
    with pytest.raises(FootprintInvalid, match="finer than the ledger keeps"):
        key_figures(doc)
    huge = _broken(lambda d: d["pcf"].update(fossilGhgEmissions="9" * 30))
    with pytest.raises(FootprintInvalid, match="too large"):
        key_figures(huge)


def test_every_figure_that_cannot_be_kept_is_a_reason() -> None:
    doc = _broken(lambda d: d["pcf"].update(pcfExcludingBiogenicUptake="0.0000000001",
                                            fossilGhgEmissions="9" * 17))
    with pytest.raises(FootprintInvalid) as caught:
        key_figures(doc)
    assert len(caught.value.reasons) == 2, caught.value.reasons
    assert "finer" in caught.value.reasons[0] and "too large" in caught.value.reasons[1]
    # the largest figure a ledger transaction carries exactly, and one past it
    edge = _broken(lambda d: d["pcf"].update(fossilGhgEmissions="9007199.254740991"))
    assert key_figures(edge).figures["fossil_ghg_ug"] == 2**53 - 1
    past = _broken(lambda d: d["pcf"].update(fossilGhgEmissions="9007199.254740992"))
    with pytest.raises(FootprintInvalid, match="too large"):
        key_figures(past)


def test_a_footprint_file_is_read_as_hostile_input() -> None:
    good = EXAMPLES[0].read_bytes()
    assert read_footprint(good) == _example(0)
    for data, why in [
        (b" " * (MAX_BYTES + 1), "at most"),
        (b'{"id": "a", "id": "b"}', "duplicate"),
        (b'{"pcf": NaN}', "NaN"),
        (b"[" * 40 + b"]" * 40, "nested"),
        ("{}".encode("utf-16"), "UTF-8"),
    ]:
        with pytest.raises(FootprintInvalid, match=why):
            read_footprint(data)
    # a number where PACT wants a decimal string is read, then refused by the schema
    floated = read_footprint(good.replace(b'"0.384"', b"0.384"))
    assert any("pcfExcludingBiogenicUptake" in r for r in validate(floated))


def test_a_footprint_attached_to_a_gtin_names_it_and_is_active() -> None:
    # PACT's example names urn:gtin:5695872369587, whose check digit is wrong (1 is right):
    # it names no GTIN at all
    with pytest.raises(FootprintInvalid, match="none names GTIN 05695872369587"):
        for_gtin(_example(0), "05695872369587")
    doc = _broken(lambda d: d.update(productIds=["urn:pact:example:p1", "urn:gtin:5695872369581"]))
    assert for_gtin(doc, "05695872369581") == key_figures(doc)
    with pytest.raises(FootprintInvalid, match="none names GTIN 09506000134352"):
        for_gtin(doc, "09506000134352")
    by_class = _broken(lambda d: d.update(productIds=["urn:epc:class:lgtin:9506000.013435.L1"]))
    assert for_gtin(by_class, "09506000134352").footprint_hash
    deprecated = _broken(lambda d: d.update(status="Deprecated"))
    with pytest.raises(FootprintInvalid) as caught:
        for_gtin(deprecated, "09506000134352")
    assert [r.split(":")[0] for r in caught.value.reasons] == ["status", "productIds"]
    padded = _broken(lambda d: d.update(productIds=["urn:gtin:05695872369581"]))
    assert for_gtin(padded, "05695872369581").footprint_hash
    # an invalid footprint: the schema's reasons and the GTIN's, all of them
    both = _broken(lambda d: d.update(created="yesterday"))
    with pytest.raises(FootprintInvalid) as caught:
        for_gtin(both, "09506000134352")
    assert any("created" in r for r in caught.value.reasons)
    assert any("productIds" in r for r in caught.value.reasons)
