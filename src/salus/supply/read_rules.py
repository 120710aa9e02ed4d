"""The supply application's readers (see :mod:`salus.api.read_rules`): who may see an
organisation's EPCIS events, capture jobs and a pack's chain of custody.

Rules (docs/supply.md, "Decision"; docs/security.md cites them):

* **R-S1 Own organisation.** An organisation's supply staff (a supply operator,
  pharmacist or admin of it) see every event their organisation captured, and its
  capture jobs.
* **R-S2 Parties.** Another trading organisation sees an event only if it owned or
  possessed every item the event names that the ledger knows (its ``parties``), so a
  pharmacy sees the events of the packs it had, and never, through a commissioning or
  shipping event naming other packs too, what went elsewhere or how many were made.
* **R-S3 Regulators.** A regulator's admin or supply operator, and an auditor, see
  every event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from salus.api.read_rules import AUDITOR, Audience, Viewer
from salus.ledger.members import GOVERNING_TYPES
from salus.supply.contracts.layout import (
    DISPENSER_ROLES,
    REGULATOR_ROLES,
    item_key_of_link,
    item_state_key,
)
from salus.supply.repository import items_of

#: Roles of an organisation's staff who see its supply data.
SUPPLY_STAFF_ROLES = (*DISPENSER_ROLES, "admin")


def viewer_org(viewer: Viewer) -> str | None:
    member = viewer.member
    return None if member is None else member["org"]


@dataclass(frozen=True)
class OrgSupplyStaff(Audience):
    """R-S1: supply staff of the organisation ``about[arg]`` names."""

    arg: str = "org"

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        org = about.get(self.arg)
        return isinstance(org, str) and viewer.holds(SUPPLY_STAFF_ROLES, org)

    def describe(self) -> str:
        return (f"a {' / '.join(SUPPLY_STAFF_ROLES)} of the organisation that captured it "
                f"(`{self.arg}`)")


@dataclass(frozen=True)
class ItemParties(Audience):
    """R-S2: supply staff of an organisation that owned or possessed every ledger item
    of the event ``about[arg]``."""

    arg: str = "event"

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        org = viewer_org(viewer)
        event = about.get(self.arg)
        if org is None or not isinstance(event, Mapping) \
                or not viewer.holds(SUPPLY_STAFF_ROLES, org):
            return False
        return party_of_all(viewer.get, org, (link for link, _ in items_of(event)))

    def describe(self) -> str:
        return "supply staff of an organisation that owned or possessed every item it names"


class _SupplyRegulator(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return viewer.holds(REGULATOR_ROLES, org_types=GOVERNING_TYPES)

    def describe(self) -> str:
        return f"a {' / '.join(REGULATOR_ROLES)} of a regulator"


def party_of_all(get: Any, org: str, links: Iterable[str]) -> bool:
    """Is ``org`` a party of every item (by canonical Digital Link) the ledger knows among
    ``links``, and of at least one?"""
    known = 0
    for link in links:
        state = get(item_state_key(item_key_of_link(link)))
        if state is None:
            continue  # a class (quantity) or a location: not an item of the ledger
        if org not in state["parties"]:
            return False
        known += 1
    return known > 0


SUPPLY_REGULATOR: Audience = _SupplyRegulator()
#: Who sees every organisation's supply events (R-S3).
SUPPLY_OVERSEERS = (SUPPLY_REGULATOR, AUDITOR)
