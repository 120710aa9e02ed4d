"""``POST /v1/rewards/awards``: a sponsor's rewards officer awards one event by record id.

The same checks as the service's own awards (:func:`salus.rewards.awarding.decide`: the
ledger's RW5-RW7, then the sponsor's vault: a finished encounter, a completed survey),
signed with the sponsor's ``rewards_service`` key: an officer never chooses the points,
and never signs an award (the contract takes awards only from the service key, RW5). For
a record the service passed over (a vault that was not open) or before a restart's
catch-up reached it. Who may ask: an admin or ``rewards_officer`` of a sponsor this node
runs the rewards service for, for that sponsor only (403 ``FORBIDDEN``, nothing
decided, nothing read).

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from salus.api.auth import Principal
from salus.api.body import json_body, parse_json, read_capped
from salus.api.errors import ApiError
from salus.ledger.members import has_role, member_key
from salus.records.contracts.layout import RECORD_ID_PATTERN
from salus.rewards.awarding import REFUSALS
from salus.rewards.contracts.layout import OFFICER_ROLES
from salus.rewards.service import AwardRefused, RewardsService

MAX_BODY = 1024


class AwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record: str = Field(pattern=f"^{RECORD_ID_PATTERN}$", description="the record's id")
    programme: str | None = Field(None, pattern="^[a-z0-9][a-z0-9-]{0,62}$",
                                  description="one of the sponsor's programmes (default: "
                                              "the first, by id, that rewards the event)")


def rewards_of(request: Request) -> RewardsService:
    service = request.app.state.rewards
    if service is None:
        raise ApiError(503, "REWARDS_UNAVAILABLE", request.app.state.rewards_unavailable
                       or "this node does not run the rewards service")
    return service  # type: ignore[no-any-return]


def officer_org(request: Request, principal: Principal) -> str:
    """The sponsor an admin or rewards officer acts for, or 403."""
    ledger = request.app.state.node.ledger
    member = ledger.state_value(member_key(principal.member_id))
    org = None if member is None else member.get("org")
    if org is None or not any(has_role(ledger.state_value, member, role, org, ledger.height)
                              for role in OFFICER_ROLES):
        raise ApiError(403, "FORBIDDEN", "only an admin or rewards officer of the sponsor "
                                         "awards by record id")
    return str(org)


def build_router(member: Any) -> APIRouter:
    router = APIRouter(tags=["rewards"])
    Member = Annotated[Principal, Depends(member)]

    @router.post("/v1/rewards/awards", summary="Award one event by record id (a sponsor's "
                 "rewards officer; the same checks as the service's awards)",
                 openapi_extra=json_body(AwardRequest))
    async def award(request: Request, principal: Member) -> dict[str, Any]:
        org = officer_org(request, principal)
        service = rewards_of(request)
        if org not in service.sponsors:
            raise ApiError(403, "FORBIDDEN", f"this node runs no rewards service for {org}")
        body = parse_json(await read_capped(request, MAX_BODY), AwardRequest)
        if body.programme is not None:
            terms = request.app.state.node.ledger.state_value(
                f"rewards/programme/{body.programme}")
            if terms is None:
                raise ApiError(404, "NOT_FOUND", f"no programme {body.programme}")
            if terms["sponsor"] != org:
                raise ApiError(403, "FORBIDDEN", f"programme {body.programme} is not {org}'s")
        try:
            return await service.award_one(org, body.record, body.programme)
        except AwardRefused as exc:
            raise ApiError(REFUSALS.get(exc.code, 409), exc.code, exc.reason) from None

    return router
