"""The supply chain's readers (see :mod:`salus.api.read_rules`): who, besides the
overseers (a regulator's auditors and admins), reads an investigation and hears the
supply notices.

* **Supply staff** of an organisation: a member holding the ``supply_operator``,
  ``pharmacist`` or ``admin`` role in it now: the people who act for it in the supply
  chain (its other staff, a hospital's nurses say, hear nothing of it).
* **A regulator's supply operator**: recalls lots and closes investigations
  (:data:`salus.supply.contracts.layout.REGULATOR_ROLES`), so reads what it acts on.

Roles are judged at the head, as every read rule's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from salus.api.read_rules import OVERSEERS, Audience, Viewer
from salus.ledger.members import GOVERNING_TYPES
from salus.supply.contracts.layout import DISPENSER_ROLES, SUPPLY_ROLE, TRADING_TYPES

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
