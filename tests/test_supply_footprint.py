"""salus.supply.footprint: PACT v3 ProductFootprints checked against PACT's own schema,
and the key figures the ledger keeps, exact integers (no floats), never the document."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from salus.supply.footprint import FootprintInvalid, key_figures, validate

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
