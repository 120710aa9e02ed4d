"""The supply chain's readers (see :mod:`salus.api.read_rules`): who, besides the
overseers (a regulator's auditors and admins), reads an organisation's EPCIS events and
capture jobs, a pack's chain of custody, an investigation, and hears the supply notices.

* **Supply staff** of an organisation: a member holding the ``supply_operator``,
  ``pharmacist`` or ``admin`` role in it now: the people who act for it in the supply
  chain (its other staff, a hospital's nurses say, hear nothing of it).
* **A regulator's supply operator**: recalls lots and closes investigations
  (:data:`salus.supply.contracts.layout.REGULATOR_ROLES`), so reads what it acts on.

Roles are judged at the head, as every read rule's are.

Rules for EPCIS events (docs/supply.md, "Decision"; docs/security.md cites them):

* **R-S1 Own organisation.** An organisation's supply staff see every event their
  organisation captured, and its capture jobs.
* **R-S2 Parties.** Another trading organisation's supply staff see an event only if it
  owned or possessed every item the event names that the ledger knows (its ``parties``),
  so a pharmacy sees the events of the packs it had, and never, through a commissioning
  or shipping event naming other packs too, what went elsewhere or how many were made;
  and only if the organisation that captured it is such a party too: an event the ledger
  merely records (``observe``) checks no item, so a company that never had a pack cannot
  plant one in the pack's chain of custody as its parties see it.
* **R-S3 Regulators.** A regulator's auditors, admins and supply operators see every
  event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from salus.api.read_rules import OVERSEERS, Audience, Viewer
from salus.ledger.members import GOVERNING_TYPES
from salus.supply.contracts.layout import (
    DISPENSER_ROLES,
    SUPPLY_ROLE,
    TRADING_TYPES,
    item_key_of_link,
    item_state_key,
)
from salus.supply.repository import items_of

#: Who acts, and hears, for a trading organisation in the supply chain.
SUPPLY_STAFF_ROLES = (*DISPENSER_ROLES, "admin")


@dataclass(frozen=True)
class SupplyStaff(Audience):
    """Supply staff of the organisation ``about[arg]`` names; with ``arg`` None, of any
    trading organisation."""

    arg: str | None = None
    who: str = "a trading organisation"  # in words, for refusals and the read table

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        member = viewer.member
        if member is None or member["org"] is None:
            return False
        if self.arg is None:
            return viewer.holds(SUPPLY_STAFF_ROLES, org_types=TRADING_TYPES)
        org = about.get(self.arg)
        return org == member["org"] and viewer.holds(SUPPLY_STAFF_ROLES, org)

    def describe(self) -> str:
        return f"a member holding the {' or '.join(SUPPLY_STAFF_ROLES)} role in {self.who}"


class _RegulatorSupply(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return viewer.holds((SUPPLY_ROLE,), org_types=GOVERNING_TYPES)

    def describe(self) -> str:
        return f"a {SUPPLY_ROLE} of a regulator"


REGULATOR_SUPPLY: Audience = _RegulatorSupply()
#: A regulator's auditors, admins and supply operators.
REGULATORS = (*OVERSEERS, REGULATOR_SUPPLY)


def is_regulator(viewer: Viewer) -> bool:
    return any(a.admits(viewer, {}) for a in REGULATORS)


def viewer_org(viewer: Viewer) -> str | None:
    member = viewer.member
    return None if member is None else member["org"]


@dataclass(frozen=True)
class ItemParties(Audience):
    """R-S2: supply staff of an organisation that owned or possessed every ledger item
    of the event ``about[arg]``, which the organisation that captured it
    (``about[capturer]``, when given) did too."""

    arg: str = "event"
    capturer: str = "org"

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        org = viewer_org(viewer)
        event = about.get(self.arg)
        if org is None or not isinstance(event, Mapping) \
                or not viewer.holds(SUPPLY_STAFF_ROLES, org):
            return False
        links = [link for link, _ in items_of(event)]
        by = about.get(self.capturer)
        return party_of_all(viewer.get, org, links) and (
            by is None or by == org or party_of_all(viewer.get, by, links))

    def describe(self) -> str:
        return ("a member holding the " + " or ".join(SUPPLY_STAFF_ROLES) + " role in an "
                "organisation that owned or possessed every item it names, another "
                "organisation's event only if the organisation that captured it did too")


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
