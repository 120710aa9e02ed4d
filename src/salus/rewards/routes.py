"""REST reads of the rewards application (issue 18): programmes and their catalogues, a
patient's statement, a sponsor's programme totals.

Who reads what (docs/rewards.md, "Reads"):

* **Programmes** are public, without a token: a programme's terms (events and points, the
  value of a point, the caps, expiry, the catalogue) are the sponsor's public policy, and
  anyone (a patient deciding whether to enrol, a compliance officer, a regulator) may
  check them against the nominal-value rules. They name no patient.
* **A statement** is the patient's own: every award (the event by its kind and record
  id), redemption, expiry and reversal of hers, with its sponsor and transaction id, and
  the balance recomputed from them. Nobody else reads it, not her sponsor (it sees
  totals), not a clinician: that she kept appointments is hers to show.
* **A programme's totals** are for its sponsor's admins and rewards officers, and for the
  regulators who oversee the consortium: counts and sums only (enrolments, points and
  retail value by kind of entry, awards by event, redemptions by item), never a patient
  or a record.

Writes are ``rewards`` contract transactions (``POST /v1/txs``).

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from salus.api.errors import ApiError
from salus.api.read_rules import OVERSEERS, PUBLIC, Audience, Own, ReadRule, Sees, Viewer, ViewerDep
from salus.ledger.ledger import Ledger
from salus.ledger.members import member_of_key
from salus.rewards.contracts.layout import OFFICER_ROLES, PREFIX, programme_key
from salus.rewards.statement import patient_statement, programme_totals

#: Programme ids (salus.rewards.contracts.layout.ProgrammeId), checked where FastAPI reads
#: them: anything else is a 400 before the handler runs.
PROGRAMME_ID = "^[a-z0-9][a-z0-9-]{0,62}$"
ProgrammeParam = Annotated[str, Path(pattern=PROGRAMME_ID, description="a programme id")]
#: A member id or key (a did:key is under 100 characters).
PatientParam = Annotated[str, Query(min_length=8, max_length=256,
                                    description="the patient: her member id or any of her keys")]
MAX_LIST = 1000
PROGRAMMES = f"{PREFIX}programme/"


@dataclass(frozen=True)
class SponsorOfficer(Audience):
    """An admin or rewards officer of the organisation that sponsors the programme
    (``about["sponsor"]``)."""

    arg: str = "sponsor"

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        sponsor = about.get(self.arg)
        return isinstance(sponsor, str) and viewer.holds(OFFICER_ROLES, org=sponsor)

    def describe(self) -> str:
        return "an admin or rewards officer of the programme's sponsor"


READ_PROGRAMMES = ReadRule("GET", "/v1/rewards/programmes", (
    Sees((PUBLIC,), "every published programme's current terms (events and points, the "
                    "value of a point, caps, expiry, catalogue, sponsor, version): public "
                    "policy, no patient"),))
READ_PROGRAMME = ReadRule("GET", "/v1/rewards/programmes/{programme}", (
    Sees((PUBLIC,), "one programme's current terms"),))
READ_TOTALS = ReadRule("GET", "/v1/rewards/programmes/{programme}/totals", (
    Sees((SponsorOfficer(), *OVERSEERS), "the programme's totals: enrolments, points and "
                                         "retail value by kind of entry, awards by event, "
                                         "redemptions by item; no patient, no record"),))
READ_STATEMENT = ReadRule("GET", "/v1/rewards/statement", (
    Sees((Own("patient", "patient"),), "her rewards statement: each programme she joined, "
                                       "every award, redemption, expiry and reversal with "
                                       "its sponsor, event and transaction id, the balance "
                                       "recomputed, her live points and the catalogue"),))


def build_router(ledger: Ledger) -> APIRouter:
    router = APIRouter(tags=["rewards"])

    def terms(programme: str) -> dict[str, Any]:
        found: dict[str, Any] | None = ledger.state_value(programme_key(programme))
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"no rewards programme {programme}")
        return found

    @READ_PROGRAMMES.route(router, summary="Published rewards programmes and their catalogues")
    async def programmes(viewer: ViewerDep,
                         sponsor: Annotated[str | None, Query(
                             max_length=64, description="only this organisation's")] = None,
                         after: Annotated[str, Query(max_length=63, description=(
                             "the `next` of the previous page"))] = "",
                         limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100
                         ) -> dict[str, Any]:
        READ_PROGRAMMES.check(viewer)
        found: list[dict[str, Any]] = []
        more = None
        for key, value in ledger.store.state_items(PROGRAMMES):
            if key <= after or (sponsor is not None and value["sponsor"] != sponsor):
                continue
            if len(found) == limit:
                more = found[-1]["id"]
                break
            found.append(value)
        return {"programmes": found, "next": more}

    @READ_PROGRAMME.route(router, summary="A rewards programme's current terms")
    async def programme(programme: ProgrammeParam, viewer: ViewerDep) -> dict[str, Any]:
        READ_PROGRAMME.check(viewer)
        return terms(programme)

    @READ_TOTALS.route(router, summary="A programme's totals, for its sponsor (no patient)")
    async def totals(programme: ProgrammeParam, viewer: ViewerDep) -> dict[str, Any]:
        # The terms are public: saying a programme exists tells nobody anything new.
        sponsor = terms(programme)["sponsor"]
        READ_TOTALS.check(viewer, sponsor=sponsor)
        result = programme_totals(ledger.state_value, ledger.store.state_items, programme)
        assert result is not None  # (the terms were found above)
        return result

    @READ_STATEMENT.route(router, summary="A patient's rewards statement (hers only)")
    async def statement(patient: PatientParam, viewer: ViewerDep) -> dict[str, Any]:
        # Statements are filed under member ids; any key of hers finds them.
        member = member_of_key(ledger.state_value, patient)
        who = patient if member is None else str(member["id"])
        READ_STATEMENT.check(viewer, patient=who)
        return patient_statement(ledger.state_value, ledger.store.state_items, who)

    return router
