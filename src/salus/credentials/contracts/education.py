"""The education contract: the competency ledger of medical education.

* ``assess``: an assessor (a member with the ``assessor`` role at a school, residency or
  hospital) records an EPA entrustment level (the 13 AAMC core EPAs, level 1-5) or an
  ACGME-style milestone level (sub-competency code such as ``PC1``, level 1-5) for a
  learner. Each competency keeps its full history, so progress is a view of the ledger.
* ``teach``: an educator (``educator`` or ``assessor`` role) records that they taught
  learners. Assessing someone also records the educator -> learner edge. The edges form
  the lineage graph: educator -> their learners -> those learners' own learners, once
  they teach or assess in turn.
* ``record_cme``: a CME provider's issuer records completed CME hours (in hundredths, as
  every quantity on the ledger is an integer) for a professional;
  ``set_cme_requirement``: a board's issuer or admin states a requirement (hours per
  period of months, optionally of one category).
* ``record_module``: an educator records a learner's completion of a learning module,
  with pre- and post-test scores (0-100): the module's usage and effectiveness.

Learners and professionals may be named by any of their keys; the ledger files everything
under their member id. No health data is involved.
"""

from __future__ import annotations

import re
from typing import Any

from salus.credentials.contracts.layout import (
    ASSESSING_ORG_TYPES,
    CME_CATEGORIES,
    MAX_LEARNERS,
    assessment_key,
    cme_key,
    edge_key,
    module_key,
    module_learner_key,
    requirement_key,
)
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.contracts.membership import has_role, member_of_key, org_key

MILESTONE = re.compile(r"[A-Z]{2,4}[0-9]{1,2}\Z")
CODE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\Z")


def _holder(ctx: Context, roles: tuple[str, ...], org_types: frozenset[str] | None
            ) -> dict[str, Any]:
    """The signer's organisation, if they hold one of ``roles`` there now and it is of
    one of ``org_types``."""
    member = ctx.member
    if member is None or not any(has_role(ctx.get, member, r, None, ctx.height) for r in roles):
        raise Rejected(Code.FORBIDDEN, f"only a member with the {' or '.join(roles)} role "
                                       f"may do this")
    org = ctx.get(org_key(member["org"]))
    if org_types is not None and org["type"] not in org_types:
        raise Rejected(Code.FORBIDDEN, f"a {org['type']} may not do this (only: "
                                       f"{', '.join(sorted(org_types))})")
    return dict(org)


def _member(ctx: Context, did: Any, what: str) -> str:
    """The member id of ``did``: a member's id, or any key of theirs, past or present
    (records stay under one id when a member rotates their key)."""
    member = member_of_key(ctx.get, did) if isinstance(did, str) else None
    if member is None:
        raise Rejected(Code.NOT_FOUND, f"{what} {did!r} is not a member")
    return str(member["id"])


def _edge(ctx: Context, educator: str, learner: str, how: str) -> None:
    if educator == learner:
        return
    key = edge_key(educator, learner)
    edge = ctx.get(key) or {"from": ctx.height, "assessed": 0, "taught": 0}
    edge[how] += 1
    ctx.put(key, edge)


def _date(value: Any, what: str) -> str:
    if not isinstance(value, str) or not DATE.match(value):
        raise Rejected(Code.BAD_ARGUMENTS, f"{what} is a date, YYYY-MM-DD")
    return value


class EducationContract(Contract):
    name = "education"

    @method
    def assess(self, ctx: Context, learner: str, kind: str, competency: str, level: int,
               date: str, setting: str = "") -> dict[str, Any]:
        org = _holder(ctx, ("assessor",), ASSESSING_ORG_TYPES)
        learner = _member(ctx, learner, "learner")
        if kind == "epa":
            if not (competency.startswith("EPA") and competency[3:].isdigit()
                    and 1 <= int(competency[3:]) <= 13 and competency[3] != "0"):
                raise Rejected(Code.BAD_ARGUMENTS, "an EPA is EPA1 to EPA13 (AAMC core EPAs)")
        elif kind == "milestone":
            if not MILESTONE.match(competency):
                raise Rejected(Code.BAD_ARGUMENTS, "a milestone is a sub-competency code such "
                                                   "as PC1 or MK2")
        else:
            raise Rejected(Code.BAD_ARGUMENTS, "kind is epa or milestone")
        if type(level) is not int or not 1 <= level <= 5:
            raise Rejected(Code.BAD_ARGUMENTS, "level is an integer from 1 to 5")
        if not isinstance(setting, str) or len(setting) > 100:
            raise Rejected(Code.BAD_ARGUMENTS, "setting is a short text (<= 100)")
        if ctx.member_id == learner:
            raise Rejected(Code.FORBIDDEN, "no one assesses themself")
        key = assessment_key(learner, competency)
        history = ctx.get(key) or {"kind": kind, "entries": []}
        history["entries"].append({"level": level, "date": _date(date, "date"),
                                   "assessor": ctx.member_id, "org": org["id"],
                                   "setting": setting, "height": ctx.height})
        ctx.put(key, history)
        _edge(ctx, ctx.member_id, learner, "assessed")
        ctx.emit("assessed", learner=learner, competency=competency, level=level)
        return {"learner": learner, "competency": competency, "level": level}

    @method
    def teach(self, ctx: Context, learners: list[str], activity: str) -> dict[str, Any]:
        _holder(ctx, ("educator", "assessor"), ASSESSING_ORG_TYPES)
        if not 1 <= len(learners) <= MAX_LEARNERS or len(set(learners)) != len(learners):
            raise Rejected(Code.BAD_ARGUMENTS, f"1 to {MAX_LEARNERS} distinct learners")
        if not isinstance(activity, str) or not CODE.match(activity):
            raise Rejected(Code.BAD_ARGUMENTS, "activity is a code: 1-64 of A-Z a-z 0-9 . _ -")
        for learner in learners:
            _edge(ctx, ctx.member_id, _member(ctx, learner, "learner"), "taught")
        return {"educator": ctx.member_id, "learners": len(learners)}

    @method
    def record_cme(self, ctx: Context, professional: str, activity: str, hours: int,
                   category: str, completed: str) -> dict[str, Any]:
        org = _holder(ctx, ("issuer",), frozenset({"cme_provider"}))
        professional = _member(ctx, professional, "professional")
        if not isinstance(activity, str) or not CODE.match(activity):
            raise Rejected(Code.BAD_ARGUMENTS, "activity is a code: 1-64 of A-Z a-z 0-9 . _ -")
        if type(hours) is not int or not 1 <= hours <= 100_000:
            raise Rejected(Code.BAD_ARGUMENTS, "hours in hundredths: 1 to 100000 (150 = 1.5 h)")
        if category not in CME_CATEGORIES:
            raise Rejected(Code.BAD_ARGUMENTS, f"category is one of {', '.join(CME_CATEGORIES)}")
        key = cme_key(professional, org["id"], activity)
        if ctx.get(key) is not None:
            raise Rejected(Code.CONFLICT, f"{activity} is already recorded for {professional}")
        ctx.put(key, {"hours": hours, "category": category, "completed": _date(completed,
                                                                              "completed"),
                      "provider": org["id"], "height": ctx.height})
        return {"professional": professional, "activity": activity, "hours": hours}

    @method
    def set_cme_requirement(self, ctx: Context, id: str, hours: int, months: int,
                            category: str | None = None) -> dict[str, Any]:
        org = _holder(ctx, ("issuer", "admin"), frozenset({"board"}))
        if not isinstance(id, str) or not CODE.match(id):
            raise Rejected(Code.BAD_ARGUMENTS, "id is a code: 1-64 of A-Z a-z 0-9 . _ -")
        if type(hours) is not int or not 1 <= hours <= 1_000_000:
            raise Rejected(Code.BAD_ARGUMENTS, "hours in hundredths: 1 to 1000000")
        if type(months) is not int or not 1 <= months <= 120:
            raise Rejected(Code.BAD_ARGUMENTS, "months: 1 to 120")
        if category is not None and category not in CME_CATEGORIES:
            raise Rejected(Code.BAD_ARGUMENTS, f"category is one of {', '.join(CME_CATEGORIES)}")
        ctx.put(requirement_key(org["id"], id), {
            "board": org["id"], "id": id, "hours": hours, "months": months,
            "category": category, "height": ctx.height})
        return {"requirement": f"{org['id']}/{id}"}

    @method
    def record_module(self, ctx: Context, module: str, learner: str, pre: int, post: int
                      ) -> dict[str, Any]:
        _holder(ctx, ("educator", "assessor"), ASSESSING_ORG_TYPES)
        learner = _member(ctx, learner, "learner")
        if not isinstance(module, str) or not CODE.match(module):
            raise Rejected(Code.BAD_ARGUMENTS, "module is a code: 1-64 of A-Z a-z 0-9 . _ -")
        for score in (pre, post):
            if type(score) is not int or not 0 <= score <= 100:
                raise Rejected(Code.BAD_ARGUMENTS, "pre and post scores are integers 0 to 100")
        stats = ctx.get(module_key(module)) or {
            "module": module, "completions": 0, "learners": 0, "pre_total": 0,
            "post_total": 0, "improved": 0}
        stats["completions"] += 1
        seen = ctx.get(module_learner_key(module, learner))
        if seen is None:
            stats["learners"] += 1
        ctx.put(module_learner_key(module, learner), (seen or 0) + 1)
        stats["pre_total"] += pre
        stats["post_total"] += post
        stats["improved"] += post > pre
        ctx.put(module_key(module), stats)
        _edge(ctx, ctx.member_id, learner, "taught")
        return {"module": module, "completions": stats["completions"]}
