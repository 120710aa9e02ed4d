"""No serial number and no trading volumes in the ledger, as docs/supply.md decides.

A pack's life (commissioned, packed into a case and a pallet, sold down the chain,
unpacked, dispensed; a recall, a suspect investigation closed illegitimate, a stolen
report) is run with serials nothing else could contain; then every byte of the ledger's
files (database and write-ahead log), its log entries, stored transaction details and
state is searched, as ``test_phi_guard`` searches for health information. And the state
under ``supply/`` is held to the decision's shapes: keys by hash or prefix only (no index
by organisation), lots without counts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import world_ledger
from salus.supply.identifiers import parse
from supply_world import GTIN, ORGS, Supply, build_supply, case, event, pack

FACTS = {"notification": "initial", "classification": "counterfeit",
         "product_type": "human_rx_drug", "dosage_form": "injectable", "reporter": "dispenser",
         "determined": "2025-11-22", "quantity": 1}
#: What each supply/ key may look like, and the fields its value may hold.
SHAPES = {
    r"supply/prefix/[0-9]{4,12}": {"prefix", "org", "height"},
    r"supply/prefix-cover/[0-9]{4,11}": None,
    r"supply/item/[0-9a-f]{64}": {"kind", "gtin", "lot", "expiry", "owner", "possessor",
                                   "status", "parent", "children", "shipped_to", "sale",
                                   "parties", "event"},
    r"supply/lot/[0-9a-f]{64}": {"gtin", "lot", "expiry", "owner", "recall"},
    r"supply/event/[0-9a-f]{64}": {"org", "action", "height", "args"},
    r"supply/investigation/[0-9a-f]{64}": {
        "item", "status", "opened_by", "reporter", "event", "height", "time", "due", "finding",
        "facts", "closed_by", "closed_org", "closed_height", "closed_time", "late"},
    # a recall's public notice: the lot, its brand owner and who recalled, no holder
    r"supply/recall/[0-9]{16}/[0-9a-f]{64}": {"gtin", "lot", "reason", "owner", "org",
                                              "height", "time"},
    r"supply/footprint/(product/[0-9]{14}|lot/[0-9a-f]{64})": {
        "gtin", "lot", "hash", "declared_unit", "declared_amount_milli",
        "pcf_excluding_biogenic_ug", "pcf_including_biogenic_ug", "fossil_ghg_ug", "org",
        "height", "time", "replaces"},
}
FOOTPRINT = {"footprint_hash": "fe" * 32, "declared_unit": "piece",
             "declared_amount_milli": 1000, "pcf_excluding_biogenic_ug": 21_000_000,
             "pcf_including_biogenic_ug": 20_500_000, "fossil_ghg_ug": 19_000_000}
#: AI 21 serials (GS1 character set 82, at most 20) that nothing on the ledger holds by
#: chance (a word like "manufacturer" is a fine serial, and in the file): each carries a
#: mark no hex, did:key or JSON holds.
serials = st.text("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz0123456789-./", min_size=1,
                  max_size=8).map(lambda t: f"QxZwKvJy{t}")


def _forms(gtin: str, serial: str) -> list[bytes]:
    """Every way a serial could be written: alone, JSON-escaped, URL-encoded, and with its
    GTIN as a DataMatrix, a Digital Link and an EPC URN."""
    identity = parse(f"(01){gtin}(21){serial}")
    texts = [serial, json.dumps(serial)[1:-1], quote(serial, safe=""), identity.element_string,
             identity.digital_link, identity.epc_urn(7), f"{gtin}{serial}", f"{gtin}|{serial}"]
    return [t.encode() for t in texts]


def _life(s: Supply, serials_: list[str]) -> list[str]:
    """Run a pack's life over packs with these serials; returns their item keys."""
    packs = [pack(x) for x in serials_]
    box, pallet = case("77"), case("78")
    agg = lambda name, parent, kids, action="ADD", org="pharmaco": s.call(  # noqa: E731
        org, "aggregate", {"event": event(name), "parent": parent, "children": kids,
                           "action": action})
    s.ok(s.commission("pharmaco", "c", packs))
    s.ok(s.call("pharmaco", "attach_footprint", {"gtin": GTIN, "footprint": FOOTPRINT}),
         s.call("pharmaco", "attach_footprint", {"gtin": GTIN, "lot": "LOT-A1",
                                                 "footprint": FOOTPRINT}))
    s.ok(agg("a1", box, packs), agg("a2", pallet, [box]))
    s.move([pallet], ("pharmaco", "wholesale"))
    s.ok(agg("u1", pallet, [box], "DELETE", "wholesale"),
         agg("u2", box, packs, "DELETE", "wholesale"))
    s.move(packs, ("wholesale", "corner-pharmacy"))
    first, second, third = packs[:3]
    s.ok(s.call("corner-pharmacy", "dispense", {"event": event("d"), "item": first}),
         s.call("corner-pharmacy", "report", {"event": event("r"), "item": second,
                                              "status": "suspect"}),
         s.call("corner-pharmacy", "report", {"event": event("t"), "item": third,
                                              "status": "stolen"}))
    s.ok(s.call("pharmaco", "close_investigation", {"item": second, "finding": "illegitimate",
                                                    "facts": FACTS}),
         s.call(s.regulator, "recall", {"gtin": GTIN, "lot": "LOT-A1", "reason": "potency"}))
    return packs


@settings(max_examples=3, deadline=None)
@given(st.lists(serials, min_size=4, max_size=6, unique=True))
def test_no_serial_and_no_volumes_anywhere_in_the_ledger(tmp_path_factory, serials_) -> None:
    path: Path = tmp_path_factory.mktemp("supply") / "ledger.db"
    chain = world_ledger(path)
    try:
        s = build_supply(chain)
        packs = _life(s, serials_)
        store = chain.ledger.store
        files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        rows = store.txs_in_range(0, store.tx_count() - 1)
        entries = b"".join(row.raw for row in rows)
        details = "".join(row.detail or "" for row in rows).encode()
        state = list(store.all_state())
        flat = b"".join(k.encode() + v for k, v, _ in state)
        # The search finds what is there: the item keys and the GTIN are on the ledger.
        assert all(k.encode() in files and k.encode() in entries and k.encode() in flat
                   for k in packs)
        assert GTIN.encode() in files
        for serial in serials_:
            for form in _forms(GTIN, serial):
                for where, blob in (("files", files), ("entries", entries),
                                    ("details", details), ("state", flat)):
                    assert form not in blob, (where, form)
        _hold_to_the_decision(state)
    finally:
        chain.ledger.close()


def _hold_to_the_decision(state: list[tuple[str, bytes, int]]) -> None:
    supply = [(k, json.loads(v)) for k, v, _ in state if k.startswith("supply/")]
    assert supply
    for key, value in supply:
        shape = next((fields for pattern, fields in SHAPES.items() if re.fullmatch(pattern, key)),
                     "none")
        assert shape != "none", key  # no other kind of key: no index by organisation
        assert not any(org in key for org in ORGS), key
        if shape is None:
            assert value is True
        else:
            assert set(value) == shape, key  # lots hold no counts, items no quantities
