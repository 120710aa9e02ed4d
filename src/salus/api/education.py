"""REST routes of the competency ledger's views (members only: they are about people).

Writes are transactions of the ``education`` contract (``POST /v1/txs``).

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from salus.api.auth import Principal
from salus.api.errors import ApiError
from salus.credentials import education
from salus.ledger.ledger import Ledger
from salus.ledger.members import member_of_key


def build_router(ledger: Ledger, member: Any) -> APIRouter:
    router = APIRouter(tags=["education"])
    Member = Annotated[Principal, Depends(member)]

    def member_id(did: str) -> str:
        """Views are filed under member ids; any key of the member finds them."""
        member = member_of_key(ledger.state_value, did)
        return did if member is None else str(member["id"])

    def answer(fn: Any, *args: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = fn(*args)
        except education.EducationError as exc:
            raise ApiError(404 if exc.code == "NOT_FOUND" else 400, exc.code,
                           exc.reason) from None
        return result

    @router.get("/v1/education/progress/{learner}",
                summary="A learner's EPA and milestone progress, per competency")
    async def progress(learner: str, _: Member) -> dict[str, Any]:
        return answer(education.progress, ledger.store.state_items, member_id(learner))

    @router.get("/v1/education/lineage/{educator}",
                summary="An educator's learners, and theirs, counted per generation")
    async def lineage(educator: str, _: Member,
                      depth: Annotated[int, Query(ge=1, le=education.MAX_DEPTH)] = 3
                      ) -> dict[str, Any]:
        return answer(education.lineage, ledger.store.state_items, member_id(educator), depth)

    @router.get("/v1/education/cme/{professional}",
                summary="CME hours in a requirement's period, against the requirement")
    async def cme(professional: str, _: Member,
                  requirement: Annotated[str, Query(description="<board>/<requirement id>")],
                  as_of: Annotated[date | None, Query(description="End of the period "
                                                      "(default: today)")] = None
                  ) -> dict[str, Any]:
        return answer(education.cme_status, ledger.store.state_items, ledger.state_value,
                      member_id(professional), requirement, as_of or date.today())

    @router.get("/v1/education/modules/{module}",
                summary="A learning module's usage and effectiveness")
    async def module(module: str, _: Member) -> dict[str, Any]:
        return answer(education.module_stats, ledger.state_value, module)

    return router
