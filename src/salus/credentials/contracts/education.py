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
from salus.ledger.authority import HoldsRole
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import KeyRef, member_of_key, org_key
from salus.ledger.schema import Date, OptionalCode, ShortCode, array, integer, one_of, text

Kind = one_of(("epa", "milestone"), "an AAMC core EPA or an ACGME milestone")
#: EPA1-EPA13 (AAMC core EPAs) or a sub-competency code such as PC1 or MK2.
Competency = text("EPA([1-9]|1[0-3])|[A-Z]{2,4}[0-9]{1,2}", 6, "EPA1-EPA13, or a milestone "
                  "sub-competency code such as PC1")
EPA = re.compile(r"EPA([1-9]|1[0-3])\Z")
Level = integer(1, 5, "entrustment or milestone level")
Learners = array(KeyRef, 1, MAX_LEARNERS, "learners, each once")
CmeHours = integer(1, 100_000, "hours in hundredths (150 = 1.5 h)")
RequiredHours = integer(1, 1_000_000, "hours in hundredths")
Months = integer(1, 120, "the requirement's period in months")
CmeCategory = one_of(CME_CATEGORIES, "CME credit category")
Score = integer(0, 100, "test score")
ASSESSOR = HoldsRole(("assessor",), ASSESSING_ORG_TYPES)
EDUCATOR = HoldsRole(("educator", "assessor"), ASSESSING_ORG_TYPES)


def _org(ctx: Context) -> dict[str, Any]:
    """The signer's organisation (the method's rule admitted the signer)."""
    assert ctx.member is not None
    return ctx.get(org_key(ctx.member["org"]))


def _member(ctx: Context, did: str) -> str:
    """The member id behind any of a member's keys, past or present (records stay under
    one id when a member rotates their key); the schema checked the key exists."""
    return str(member_of_key(ctx.get, did)["id"])


def _edge(ctx: Context, educator: str, learner: str, how: str) -> None:
    if educator == learner:
        return
    key = edge_key(educator, learner)
    edge = ctx.get(key) or {"from": ctx.height, "assessed": 0, "taught": 0}
    edge[how] += 1
    ctx.put(key, edge)


class EducationContract(Contract):
    name = "education"

    @method(who=ASSESSOR)
    def assess(self, ctx: Context, learner: KeyRef, kind: Kind, competency: Competency,
               level: Level, date: Date, setting: OptionalCode = "") -> dict[str, Any]:
        """Record an EPA entrustment or milestone level; ``setting`` is a code for where."""
        org = _org(ctx)
        learner = _member(ctx, learner)
        if (kind == "epa") != (EPA.match(competency) is not None) or (
                kind == "milestone" and competency.startswith("EPA")):
            raise Rejected(Code.BAD_ARGUMENTS, "an epa is EPA1 to EPA13; a milestone is a "
                                               "sub-competency code such as PC1")
        if ctx.member_id == learner:
            raise Rejected(Code.FORBIDDEN, "no one assesses themself")
        key = assessment_key(learner, competency)
        history = ctx.get(key) or {"kind": kind, "entries": []}
        history["entries"].append({"level": level, "date": date, "assessor": ctx.member_id,
                                   "org": org["id"], "setting": setting, "height": ctx.height})
        ctx.put(key, history)
        _edge(ctx, ctx.member_id, learner, "assessed")
        ctx.emit("assessed", learner=learner, competency=competency, level=level)
        return {"learner": learner, "competency": competency, "level": level}

    @method(who=EDUCATOR)
    def teach(self, ctx: Context, learners: Learners, activity: ShortCode) -> dict[str, Any]:
        if len(set(learners)) != len(learners):
            raise Rejected(Code.BAD_ARGUMENTS, f"1 to {MAX_LEARNERS} distinct learners")
        for learner in learners:
            _edge(ctx, ctx.member_id, _member(ctx, learner), "taught")
        return {"educator": ctx.member_id, "learners": len(learners)}

    @method(who=HoldsRole(("issuer",), frozenset({"cme_provider"})))
    def record_cme(self, ctx: Context, professional: KeyRef, activity: ShortCode, hours: CmeHours,
                   category: CmeCategory, completed: Date) -> dict[str, Any]:
        org = _org(ctx)
        professional = _member(ctx, professional)
        key = cme_key(professional, org["id"], activity)
        if ctx.get(key) is not None:
            raise Rejected(Code.CONFLICT, f"{activity} is already recorded for {professional}")
        ctx.put(key, {"hours": hours, "category": category, "completed": completed,
                      "provider": org["id"], "height": ctx.height})
        return {"professional": professional, "activity": activity, "hours": hours}

    @method(who=HoldsRole(("issuer", "admin"), frozenset({"board"})))
    def set_cme_requirement(self, ctx: Context, id: ShortCode, hours: RequiredHours,
                            months: Months, category: CmeCategory | None = None
                            ) -> dict[str, Any]:
        org = _org(ctx)
        ctx.put(requirement_key(org["id"], id), {
            "board": org["id"], "id": id, "hours": hours, "months": months,
            "category": category, "height": ctx.height})
        return {"requirement": f"{org['id']}/{id}"}

    @method(who=EDUCATOR)
    def record_module(self, ctx: Context, module: ShortCode, learner: KeyRef, pre: Score,
                      post: Score) -> dict[str, Any]:
        learner = _member(ctx, learner)
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
