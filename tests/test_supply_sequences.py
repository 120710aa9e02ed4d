"""Random sequences of supply events by random parties: hypothesis looks for one that
dispenses a pack twice, lets anyone but its possessor move a pack (or anyone but the
shipment's destination receive it), moves ownership but by its owner's sale, or breaks
the aggregation hierarchy (SC3-SC6, SC9)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import ident, world_ledger
from salus.supply.contracts.layout import STATUSES
from supply_world import GTIN, LOT, ORGS, OTHER_GTIN, build_supply, case, event, pack

PACKS = [pack(f"H{i}") for i in range(6)]
OTHER_PACKS = [pack(f"G{i}", OTHER_GTIN) for i in range(2)]
NEW_PACKS = [pack(f"N{i}") for i in range(3)]
BOXES = [case(str(i)) for i in range(1, 4)]
ITEMS = PACKS + OTHER_PACKS + NEW_PACKS + BOXES
#: Who signs: every trading organisation's operator, a regulator, a patient-like
#: stranger, a manufacturer's admin without the supply role.
ACTORS = [*ORGS, "regulator", "stranger", "pharmaco-admin"]
FACTS = {"notification": "initial", "classification": "diverted", "product_type": "other",
         "dosage_form": "capsule", "reporter": "dispenser", "determined": "2025-11-22",
         "quantity": 2}

#: "@holder" signs as the party the call needs (the possessor, the destination, the brand
#: owner), so that sequences go somewhere; everyone else is drawn as often.
NEXT = {"pharmaco": ["wholesale"] * 2, "genericco": ["wholesale", "corner-pharmacy"],
        "wholesale": ["corner-pharmacy", "other-pharmacy"],
        "corner-pharmacy": ["other-pharmacy", "wholesale"],
        "other-pharmacy": ["corner-pharmacy", "wholesale"]}
actors = st.sampled_from(["@holder"] * len(ACTORS) + ACTORS)
items = st.sampled_from(PACKS * 3 + ITEMS)
some_items = st.lists(items, min_size=1, max_size=2)
events = st.integers(0, 60).map(lambda n: event(f"e{n}"))  # some hashes get reused


class PackLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.chain = world_ledger(self.dir / "ledger.db")
        self.s = build_supply(self.chain)
        self.s.ok(self.s.commission("pharmaco", "start", PACKS),
                  self.s.commission("genericco", "start-g", OTHER_PACKS, gtin=OTHER_GTIN))
        # some packs start further down the chain, where dispensing is contested
        self.s.move(PACKS[:2], ("pharmaco", "wholesale"), ("wholesale", "corner-pharmacy"))
        self.s.move(PACKS[2:3], ("pharmaco", "wholesale"), ("wholesale", "other-pharmacy"))
        self.s.move(PACKS[3:4], ("pharmaco", "wholesale"))
        self.dispensing: dict[str, set[str]] = {}
        self.valid = 0

    def teardown(self) -> None:
        self.chain.ledger.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- signing and judging ---------------------------------------------------------------
    def holder(self, method: str, args: dict[str, Any]) -> str:
        """The party ``method`` needs for the first item ``args`` name."""
        if method in ("close_investigation", "recall", "commission"):
            return "pharmaco"
        first = (args.get("children") or args.get("items") or [args.get("item")])[0]
        doc = self.s.item(first)
        if doc is None:
            return "pharmaco"
        return (doc["shipped_to"] if method == "receive" else None) or doc["possessor"]

    def key(self, actor: str):
        if actor == "regulator":
            return self.s.regulator
        if actor == "stranger":
            return ident("stranger")
        if actor == "pharmaco-admin":
            return self.s.admin["pharmaco"]
        return self.s.operator[actor]

    def snapshot(self) -> dict[str, Any]:
        return {k: self.s.item(k) for k in ITEMS}

    def recorded(self, args: dict[str, Any]) -> bool:
        return "event" in args and self.chain.ledger.state_value(
            "supply/event/" + args["event"][14:78]) is not None

    def call(self, actor: str, method: str, args: dict[str, Any]) -> str:
        if actor == "@holder":
            actor = self.holder(method, args)
        before, repeat = self.snapshot(), self.recorded(args)
        (code, reason), = self.s.run(self.chain.tx(self.key(actor), "supply", method, args))
        assert code != "CONTRACT_ERROR", reason
        after = self.snapshot()
        if code != "VALID":
            assert after == before, (method, code, reason)
            return code
        self.valid += 1
        if repeat:  # SC9: the same event again changes nothing
            assert after == before, method
        org = actor if actor in ORGS else None
        for k in ITEMS:
            was, now = before[k], after[k]
            if was == now:
                continue
            if was is None:  # created: commissioned by the brand owner, or a new container
                assert method in ("commission", "aggregate") and now["owner"] == org
            elif method == "receive":  # only the shipment's destination
                assert was["status"] == "in_transit" and was["shipped_to"] == org
                assert now["possessor"] == org and now["status"] == "active"
                # SC5: ownership moves only by a sale, made by the owner that shipped it
                if now["owner"] != was["owner"]:
                    assert now["owner"] == org and was["sale"] is not None
                    assert was["owner"] == was["possessor"], (k, was)
            elif method == "close_investigation":  # the brand owner or a regulator
                assert was["status"] == "suspect" and now["status"] in ("active", "illegitimate")
                assert was["possessor"] == now["possessor"]
            else:  # everything else: only the possessor, and ownership stays
                assert was["possessor"] == org == now["possessor"], (method, actor, k)
                assert was["owner"] == now["owner"], (method, actor, k)
        if method == "dispense" and not repeat:
            item = args["item"]
            assert before[item]["status"] == "active" and before[item]["parent"] is None
            assert before[item]["possessor"] in ("corner-pharmacy", "other-pharmacy")
            self.dispensing.setdefault(item, set()).add(args["event"])
        return code

    # -- the events ------------------------------------------------------------------------
    @rule(actor=actors, e=events, xs=some_items, to=st.sampled_from([*ORGS, "health-dept"]),
          sale=st.none() | events)
    def ship(self, actor, e, xs, to, sale) -> None:
        args = {"event": e, "items": xs, "to": to}
        self.call(actor, "ship", args if sale is None else {**args, "sale": sale})

    @rule(actor=actors, e=events, xs=some_items)
    def receive(self, actor, e, xs) -> None:
        self.call(actor, "receive", {"event": e, "items": xs})

    @rule(actor=actors, e=events, x=items)
    def dispense(self, actor, e, x) -> None:
        self.call(actor, "dispense", {"event": e, "item": x})

    def top_level(self, status: str) -> list[str]:
        return [k for k in ITEMS if (d := self.s.item(k)) is not None and d["parent"] is None
                and d["status"] == status]

    @rule(actor=actors, e=events, pick=st.integers(0, 99))
    def receive_a_shipment(self, actor, e, pick) -> None:
        """Receive something that is in transit (a random pick rarely is)."""
        moving = self.top_level("in_transit")
        if moving:
            self.call(actor, "receive", {"event": e, "items": [moving[pick % len(moving)]]})

    @rule(actor=actors, e=events, pick=st.integers(0, 99))
    def dispense_at_the_counter(self, actor, e, pick) -> None:
        """Dispense something a pharmacy holds, or something dispensed already."""
        here = [k for k in self.top_level("active") + self.top_level("dispensed")
                if self.s.item(k)["possessor"].endswith("pharmacy")]
        if here:
            self.call(actor, "dispense", {"event": e, "item": here[pick % len(here)]})

    @rule(actor=actors, e=events, box=st.sampled_from(BOXES), pick=st.integers(0, 99),
          action=st.sampled_from(["ADD", "ADD", "DELETE"]))
    def pack_or_unpack(self, actor, e, box, pick, action) -> None:
        """Pack items one organisation holds into a box, or unpack some of a box."""
        if action == "DELETE":
            xs = (self.s.item(box) or {}).get("children") or []
        else:
            here = [k for k in self.top_level("active") if k != box]
            xs = [k for k in here if self.s.item(k)["possessor"] ==
                  self.s.item(here[pick % len(here)])["possessor"]] if here else []
        if xs:
            self.call(actor, "aggregate", {"event": e, "parent": box,
                                           "children": xs[:1 + pick % 3], "action": action})

    @rule(actor=actors, receiver=actors, e=events, e2=events, pick=st.integers(0, 99))
    def sell_on(self, actor, receiver, e, e2, pick) -> None:
        """Ship something active one step down the chain, and have it received."""
        here = self.top_level("active")
        if here:
            x = here[pick % len(here)]
            to = NEXT[self.s.item(x)["possessor"]][pick % 2]
            self.call(actor, "ship", {"event": e, "items": [x], "to": to, "sale": event(e)})
            self.call(receiver, "receive", {"event": e2, "items": [x]})

    @rule(actor=actors, e=events, e2=events, e3=events, pick=st.integers(0, 99))
    def consign_and_sell_on(self, actor, e, e2, e3, pick) -> None:
        """Ship something active without a sale (possession only: a 3PL, a consignee),
        have it received, and the new possessor try to sell it on."""
        here = self.top_level("active")
        if here:
            x = here[pick % len(here)]
            to = NEXT[self.s.item(x)["possessor"]][pick % 2]
            self.call("@holder", "ship", {"event": e, "items": [x], "to": to})
            self.call("@holder", "receive", {"event": e2, "items": [x]})
            self.call(actor, "ship", {"event": e3, "items": [x], "to": NEXT[to][0],
                                      "sale": event(e3)})

    @rule(actor=actors, e=events, xs=some_items, how=st.sampled_from(["decommission", "destroy"]))
    def end(self, actor, e, xs, how) -> None:
        self.call(actor, how, {"event": e, "items": xs})

    @rule(actor=actors, e=events, x=items, status=st.sampled_from(["stolen", "suspect"]))
    def report(self, actor, e, x, status) -> None:
        self.call(actor, "report", {"event": e, "item": x, "status": status})

    @rule(actor=actors, x=items, finding=st.sampled_from(["cleared", "illegitimate"]),
          pick=st.integers(0, 99))
    def close(self, actor, x, finding, pick) -> None:
        suspects = self.top_level("suspect")
        x = suspects[pick % len(suspects)] if suspects and pick % 4 else x
        facts = {"facts": FACTS} if finding == "illegitimate" else {}
        self.call(actor, "close_investigation", {"item": x, "finding": finding, **facts})

    @rule(actor=actors, e=events, xs=st.lists(st.sampled_from(NEW_PACKS + PACKS[:1]),
                                               min_size=1, max_size=2),
          lot=st.sampled_from([LOT, "LOT-B"]))
    def commission(self, actor, e, xs, lot) -> None:
        self.call(actor, "commission", {"event": e, "gtin": GTIN, "lot": lot,
                                        "expiry": 20271231, "items": xs})

    @rule(actor=actors, lot=st.sampled_from([LOT] + ["LOT-B"] * 4))
    def recall(self, actor, lot) -> None:
        self.call(actor, "recall", {"gtin": GTIN, "lot": lot, "reason": "potency"})

    @rule(hours=st.integers(0, 30))
    def time_passes(self, hours) -> None:
        self.chain.time += hours * 3_600_000

    @precondition(lambda self: self.valid > 0)
    @rule(actor=st.sampled_from(["corner-pharmacy", "other-pharmacy"]), x=items,
          e1=events, e2=events)
    def dispense_twice_in_one_block(self, actor, x, e1, e2) -> None:
        """Two dispensings of one pack in one block: the invariant below sees both."""
        got = self.s.run(*[self.chain.tx(self.key(actor), "supply", "dispense",
                                         {"event": e, "item": x}) for e in (e1, e2)])
        for (code, _), e in zip(got, (e1, e2), strict=True):
            if code == "VALID":
                self.dispensing.setdefault(x, set()).add(e)

    # -- what must always hold -------------------------------------------------------------
    @invariant()
    def dispensed_once_and_hierarchy_whole(self) -> None:
        for item, dispensed_by in self.dispensing.items():
            assert len(dispensed_by) == 1, item  # one dispensing event per pack
            assert self.s.item(item)["status"] == "dispensed"
        for key in ITEMS:
            doc = self.s.item(key)
            if doc is None:
                continue
            assert doc["status"] in STATUSES
            if doc["parent"] is not None:  # SC4: inside one container, sharing its fate
                box = self.s.item(doc["parent"])
                assert key in box["children"] and box["children"].count(key) == 1
                assert (box["status"], box["possessor"]) == (doc["status"], doc["possessor"])
            for child in doc["children"] or []:
                assert self.s.item(child)["parent"] == key


TestPackLife = PackLife.TestCase
TestPackLife.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                 suppress_health_check=[HealthCheck.too_slow])
