"""REST routes of the competency ledger's views: for the organisations' staff (they are
about professionals, not patients, and no patient needs them; a credential's holder proves
it to anyone with ``/v1/credentials/verify``).

Writes are transactions of the ``education`` contract (``POST /v1/txs``).

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from salus.api.errors import ApiError
from salus.api.read_rules import STAFF, ReadRule, Sees, ViewerDep
from salus.credentials import education
from salus.ledger.ledger import Ledger
from salus.ledger.members import member_of_key


def _staff(path: str, what: str) -> ReadRule:
    return ReadRule("GET", path, (Sees((STAFF,), what),))


READ_PROGRESS = _staff("/v1/education/progress/{learner}",
                       "a learner's EPA and milestone progress, per competency")
READ_LINEAGE = _staff("/v1/education/lineage/{educator}",
                      "an educator's learners, and theirs, per generation")
READ_CME = _staff("/v1/education/cme/{professional}",
                  "a professional's CME hours against a requirement")
READ_MODULE = _staff("/v1/education/modules/{module}",
                     "a learning module's usage and effectiveness")


def build_router(ledger: Ledger) -> APIRouter:
    router = APIRouter(tags=["education"])

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

    @READ_PROGRESS.route(router, summary="A learner's EPA and milestone progress, per competency")
    async def progress(learner: str, viewer: ViewerDep) -> dict[str, Any]:
        READ_PROGRESS.check(viewer)
        return answer(education.progress, ledger.store.state_items, member_id(learner))

    @READ_LINEAGE.route(router,
                        summary="An educator's learners, and theirs, counted per generation")
    async def lineage(educator: str, viewer: ViewerDep,
                      depth: Annotated[int, Query(ge=1, le=education.MAX_DEPTH)] = 3
                      ) -> dict[str, Any]:
        READ_LINEAGE.check(viewer)
        return answer(education.lineage, ledger.store.state_items, member_id(educator), depth)

    @READ_CME.route(router, summary="CME hours in a requirement's period, against the requirement")
    async def cme(professional: str, viewer: ViewerDep,
                  requirement: Annotated[str, Query(description="<board>/<requirement id>")],
                  as_of: Annotated[date | None, Query(description="End of the period "
                                                      "(default: today)")] = None
                  ) -> dict[str, Any]:
        READ_CME.check(viewer)
        return answer(education.cme_status, ledger.store.state_items, ledger.state_value,
                      member_id(professional), requirement, as_of or date.today())

    @READ_MODULE.route(router, summary="A learning module's usage and effectiveness")
    async def module(module: str, viewer: ViewerDep) -> dict[str, Any]:
        READ_MODULE.check(viewer)
        return answer(education.module_stats, ledger.state_value, module)

    return router
