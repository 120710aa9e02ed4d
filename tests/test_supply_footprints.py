"""Footprints through a real node (issue 16 item 8): `salus supply footprint attach` checks
the PACT file first and refuses it with every reason, sends only the hash and integer
figures, and only the brand owner's is accepted; `show` and GET /v1/supply/footprints
for members."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from salus.client import SalusError
from salus.supply.footprint import MAX_BYTES
from supply_net import SupplyNet, running, salus
from supply_world import GTIN, OTHER_GTIN

PACT = Path(__file__).parent / "fixtures" / "pact"

@pytest.fixture
def net(tmp_path: Path) -> Iterator[SupplyNet]:
    with running(tmp_path) as net:
        yield net


def footprint_file(tmp: Path, name: str, gtin: str = GTIN, example: int = 1,
                   **pcf: Any) -> Path:
    """One of PACT's examples, about ``gtin``, with ``pcf`` figures changed."""
    doc = json.loads((PACT / f"footprint-example-{example}.json").read_text())
    doc["productIds"] = [f"urn:gtin:{gtin}"]
    doc["pcf"].update(pcf)
    path = tmp / name
    path.write_text(json.dumps(doc))
    return path


def test_the_brand_owner_attaches_a_checked_footprint(net: SupplyNet, tmp_path: Path) -> None:
    good = footprint_file(tmp_path, "good.json")
    attach = ["supply", "footprint", "attach", str(good), "--gtin", GTIN, "--node", net.url]
    before = net.status_height()
    # a distributor, another manufacturer, a pharmacy: someone else's GTIN
    for who in ("wholesale", "genericco", "corner-pharmacy"):
        out = salus(*attach, "-k", net.key_file(who), code=2)
        assert "FORBIDDEN" in out and "SC13" in out, out
    # files that are not footprints to attach: every reason, and nothing is sent
    floats = footprint_file(tmp_path, "floats.json", pcfExcludingBiogenicUptake=0.384,
                            fossilGhgEmissions="0.0000000001")
    out = salus("supply", "footprint", "attach", str(floats), "--gtin", GTIN, "--node",
                net.url, "-k", net.key_file("pharmaco"), code=1)
    assert "pcfExcludingBiogenicUptake" in out and "is not of type" in out, out
    other = footprint_file(tmp_path, "other.json", gtin=OTHER_GTIN)
    out = salus("supply", "footprint", "attach", str(other), "--gtin", GTIN, "--node",
                net.url, "-k", net.key_file("pharmaco"), code=1)
    assert f"none names GTIN {GTIN}" in out
    finer = footprint_file(tmp_path, "finer.json", pcfIncludingBiogenicUptake="-1.0000000001",
                           fossilGhgEmissions="99999999999")
    out = salus("supply", "footprint", "attach", str(finer), "--gtin", GTIN, "--node",
                net.url, "-k", net.key_file("pharmaco"), code=1)
    assert "finer than the ledger keeps" in out and "too large" in out
    huge = tmp_path / "huge.json"
    huge.write_bytes(b'{"pad": "' + b"x" * MAX_BYTES + b'"}')
    out = salus("supply", "footprint", "attach", str(huge), "--gtin", GTIN, "--node", net.url,
                "-k", net.key_file("pharmaco"), code=1)
    assert "at most" in out
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested" in salus("supply", "footprint", "attach", str(deep), "--gtin", GTIN,
                             "--node", net.url, "-k", net.key_file("pharmaco"), code=1)
    missing = salus("supply", "footprint", "attach", str(tmp_path / "none.json"), "--gtin",
                    GTIN, "--node", net.url, "-k", net.key_file("pharmaco"), code=1)
    assert "cannot read" in missing
    assert net.status_height() == before
    # the brand owner's own, to the product
    done = json.loads(salus(*attach, "-k", net.key_file("pharmaco")))
    assert done["gtin"] == GTIN and done["lot"] is None and len(done["hash"]) == 64
    shown = json.loads(salus("supply", "footprint", "show", "--gtin", GTIN, "--node", net.url,
                             "-k", net.key_file("other-pharmacy")))
    assert shown["applies"] == "product" and shown["batch"] is None
    product = shown["product"]
    assert product["pcf_excluding_biogenic_ug"] == 384_000_000
    assert product["pcf_including_biogenic_ug"] == -1_230_000_000
    assert product["org"] == "pharmaco" and product["hash"] == done["hash"]
    kept = json.dumps(shown)
    assert "Company 1" not in kept and "Bioethanol" not in kept  # never the document


def test_a_lot_footprint_applies_to_its_lot(net: SupplyNet, tmp_path: Path) -> None:
    net.commission("pharmaco", ["F1"], "LOT-F")
    one = footprint_file(tmp_path, "one.json")
    two = footprint_file(tmp_path, "two.json", example=2)
    with net.client("pharmaco") as maker:
        maker.attach_footprint(one.read_bytes(), GTIN)
        lot = maker.attach_footprint(json.loads(two.read_text()), GTIN, lot="LOT-F")
        with pytest.raises(SalusError, match="NOT_FOUND"):
            maker.attach_footprint(one.read_bytes(), GTIN, lot="NO-LOT")
    url = f"{net.url}/v1/supply/footprints/{GTIN}"
    with net.client("nurse") as nurse:  # any member reads footprints
        doc = nurse.footprint(GTIN, "LOT-F")
    assert doc["applies"] == "batch" and doc["batch"]["hash"] == lot["hash"]
    assert doc["product"]["hash"] != lot["hash"]
    assert httpx.get(url).status_code == 401
    # a key that is no member's has no token
    with net.client("stranger") as stranger, pytest.raises(SalusError, match="INVALID_CLIENT"):
        stranger.footprint(GTIN)
    with net.client("nurse") as nurse:
        headers = {"authorization": f"Bearer {nurse.token()}"}
    for path, params, status, code in (
            (f"/v1/supply/footprints/{OTHER_GTIN}", {}, 404, "NOT_FOUND"),
            ("/v1/supply/footprints/09506000134353", {}, 400, "BAD_GTIN"),
            (f"/v1/supply/footprints/{GTIN}", {"lot": "no spaces"}, 400, "BAD_LOT"),
            ("/v1/supply/footprints/" + "9" * 5000, {}, 400, "BAD_GTIN")):
        r = httpx.get(net.url + path, params=params, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (path, r.text)
