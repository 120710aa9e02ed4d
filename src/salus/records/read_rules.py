"""The records application's readers (see :mod:`salus.api.read_rules`): who, besides the
patient and the overseers, may see a patient's consent and record index, a custodian's
access log, and a record itself.

* **Grantee**: a member a grant of the patient names, by member, role or organisation
  (judged at the head). For the consent view they see the grants that name them; for
  the record index, a grant in force (or an open break-glass override) lets them list
  the patient's records, as :func:`salus.records.policy.may_see_index` decides.
* **Custodian staff**: a member of the custodian organisation holding one of the roles
  named (any role when none is): its privacy officers and auditors see its access log
  and review list; its staff see which of a patient's records it holds.
* **Consent**: a record's contents go only to whom the gateway's consent decision
  allows, record by record (:func:`salus.records.policy.decide`), and every read is on
  the access log. No role reads contents by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from salus.api.read_rules import Audience, Viewer
from salus.records.contracts.layout import consent_key
from salus.records.policy import grantee_matches, may_see_index


def grants_naming(viewer: Viewer, consent: Mapping[str, Any] | None) -> dict[str, Any]:
    """The grants of a consent document that name ``viewer`` now (any status)."""
    member = viewer.member
    if member is None or consent is None:
        return {}
    height = viewer.ledger.height
    return {gid: g for gid, g in consent["grants"].items()
            if grantee_matches(viewer.get, g["grantee"], member, height)}


@dataclass(frozen=True)
class Grantee(Audience):
    """A member a grant of the patient ``about[arg]`` names. With ``to_list``, one the
    patient's consent lets list their records (a grant in force, or break-glass; the
    handler passes the gateway's clock as ``about["now"]``)."""

    arg: str
    to_list: bool = False

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        patient = about.get(self.arg)
        if viewer.member is None or not isinstance(patient, str):
            return False
        if self.to_list:
            return may_see_index(viewer.get, viewer.member, patient, viewer.ledger.height,
                                 about["now"])
        return bool(grants_naming(viewer, viewer.get(consent_key(patient))))

    def describe(self) -> str:
        if self.to_list:
            return (f"a member a grant in force of the patient's (`{self.arg}`) names, or an "
                    "emergency clinician with an open break-glass override on them")
        return f"a member a grant of the patient's (`{self.arg}`) names"


@dataclass(frozen=True)
class CustodianStaff(Audience):
    """A member of the custodian ``about[arg]`` names (of their own organisation when
    ``arg`` is None) holding one of ``roles`` now (any role when empty)."""

    arg: str | None = None
    roles: tuple[str, ...] = ()

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        member = viewer.member
        if member is None or member["org"] is None:
            return False
        org = member["org"] if self.arg is None else about.get(self.arg)
        if org != member["org"]:
            return False
        return viewer.holds(self.roles or [r["role"] for r in member["roles"]], org)

    def describe(self) -> str:
        who = f"a {' or '.join(self.roles)}" if self.roles else "staff (any role)"
        where = f"the custodian `{self.arg}`" if self.arg else "a custodian"
        return f"{who} of {where}"


class _Consent(Audience):
    """Decided by the gateway, record by record; at the route, any member may ask."""

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return viewer.member is not None

    def describe(self) -> str:
        return ("whom the patient's consent allows for that record and purpose (the "
                "patient, a grantee, break-glass): the gateway decides and logs each read")


CONSENT: Audience = _Consent()
