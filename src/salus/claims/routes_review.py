"""REST for the claims pages (docs/claims.md, "Pages"): the claims codes in words, the
payers' published rule sets, and a payer's phantom-billing review list.

* ``GET /v1/claims/vocabulary`` (public): each CARC Salus uses with its meaning, each
  reason in words with its default CARC; the one place pages read them from
  (:data:`salus.claims.rules.CARC_MEANINGS`, :data:`~salus.claims.rules.REASON_WORDS`).
* ``GET /v1/claims/rules?payer=&version=`` (public: "rules everyone can read"): a payer's
  current rule set, or a version of it, whole, with what a decision under each rule may
  be (:func:`salus.claims.review_view.rule_choices`), and every version it made current.
* ``GET /v1/claims/review?payer=``: the claim items the payer's patients flagged as never
  received (``claims.flag_phantom``), for the payer's claims officers and medical
  reviewers, each with its claim as the ledger holds it and the claim's items from the
  payer's vault.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from salus.api.errors import ApiError
from salus.api.read_rules import ReadRule, Sees, ViewerDep, public
from salus.claims import review_view
from salus.claims import submission as sub
from salus.claims.contracts.layout import (
    PREFIX,
    current_rules_key,
    request_key,
    rules_key,
)
from salus.claims.routes import PAYER_REVIEWERS, _org, _summary
from salus.claims.rules import CARC_MEANINGS, DEFAULT_CARC, REASON_WORDS
from salus.ledger.members import org_key
from salus.ledger.schema import ORG_ID_PATTERN

READ_VOCABULARY = public(
    "GET", "/v1/claims/vocabulary",
    "the claims codes in words: each CARC Salus uses with its meaning, each reason an item "
    "is denied, cut or pended for, with its default CARC")
READ_RULES = public(
    "GET", "/v1/claims/rules",
    "a payer's published rule set (current, or the version named) whole, what a decision "
    "under each rule may be, and every version the payer made current")
READ_PHANTOM = ReadRule("GET", "/v1/claims/review", (
    Sees((PAYER_REVIEWERS,), "the payer's claim items its patients flagged as never "
                             "received, each with its claim as the ledger holds it and the "
                             "claim's items (decrypted from the payer's vault)"),))
#: Versions listed at most (a payer publishing more than this a year is not a payer).
MAX_VERSIONS = 1000
MAX_PAGE = 500

Payer = Annotated[str, Query(pattern=f"^{ORG_ID_PATTERN}$", max_length=63,
                             description="the insurer's organisation id")]
Version = Annotated[str | None, Query(pattern="^[0-9a-f]{64}$",
                                      description="a rule-set version (its SHA-256)")]


def build_router() -> APIRouter:
    router = APIRouter(tags=["claims"])

    def _state(request: Request) -> Any:
        return request.app.state.node.ledger

    @READ_VOCABULARY.route(router, summary="The claims codes in words")
    async def vocabulary() -> dict[str, Any]:
        return {"carc": CARC_MEANINGS,
                "reasons": {r: {"words": words, "carc": DEFAULT_CARC.get(r)}
                            for r, words in REASON_WORDS.items()}}

    @READ_RULES.route(router, summary="A payer's published rule sets")
    async def rules(request: Request, payer: Payer, version: Version = None) -> dict[str, Any]:
        ledger = _state(request)
        org = ledger.state_value(org_key(payer))
        if org is None or org["type"] != "insurer":
            raise ApiError(404, "NOT_FOUND", f"{payer} is not an insurer")
        history = [{"height": int(k.rpartition("/")[2]), "version": json.loads(v)}
                   for k, v, _ in ledger.store.state_scan(
                       f"{PREFIX}rules-history/{payer}/", "", MAX_VERSIONS)]
        current = ledger.state_value(current_rules_key(payer))
        wanted = version or (current and current["version"])
        found = ledger.state_value(rules_key(wanted)) if wanted else None
        if version is not None and (found is None or found["payer"] != payer):
            raise ApiError(404, "NOT_FOUND", f"{payer} published no rule set {version}")
        out: dict[str, Any] = {"payer": payer, "current": current and current["version"],
                               "versions": history, "rules": found}
        if found is not None:
            out["choices"] = review_view.rule_choices(found["table"])
        return out

    @READ_PHANTOM.route(router, summary="A payer's phantom-billing review list")
    async def phantom(request: Request, viewer: ViewerDep, payer: str | None = None,
                      after: Annotated[str, Query(max_length=200)] = "",
                      limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> dict[str, Any]:
        org = _org(payer, viewer)
        READ_PHANTOM.check(viewer, payer=org)
        ledger = _state(request)
        service = request.app.state.claims
        host = None if service is None else service.payers.get(org)
        prefix = f"{PREFIX}review/{org}/"
        rows = ledger.store.state_scan(prefix, prefix + after, limit)
        out = []
        for key, value, _ in rows:
            flag = json.loads(value)
            state = ledger.state_value(request_key(flag["request"]))
            body = None if host is None else sub.unseal(host, flag["request"])
            out.append({**flag, "key": key.removeprefix(prefix),
                        "claim": _summary(state),
                        "services": None if body is None else review_view.items_of(body)})
        return {"payer": org, "flags": out,
                "next": out[-1]["key"] if len(out) == limit else None}

    return router
