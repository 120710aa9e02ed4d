"""Views of the competency ledger: a learner's progress, an educator's lineage, CME
against a requirement, a learning module's effectiveness.

Each is computed from committed state that the education contract wrote
(:mod:`salus.credentials.contracts.education`); none is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from salus.credentials.contracts.layout import (
    ASSESSMENT_PREFIX,
    CME_PREFIX,
    EDGE_PREFIX,
    module_key,
    requirement_key,
)

#: AAMC: at level 4 a learner may perform the activity with indirect supervision.
ENTRUSTED_LEVEL = 4
MAX_DEPTH = 6

#: every entry under a prefix: (the key after the prefix, decoded value), as Store.state_items
Scan = Callable[[str], Iterable[tuple[str, Any]]]
Get = Callable[[str], Any]


class EducationError(ValueError):
    """A query that cannot be answered: ``code`` is NOT_FOUND or BAD_REQUEST."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def progress(scan: Scan, learner: str) -> dict[str, Any]:
    """Per competency: the latest and highest level, and every assessment in order."""
    competencies = []
    for competency, history in scan(f"{ASSESSMENT_PREFIX}{learner}/"):
        levels = [e["level"] for e in history["entries"]]
        competencies.append({"competency": competency, "kind": history["kind"],
                             "latest": levels[-1], "highest": max(levels),
                             "assessments": len(levels), "history": history["entries"]})
    epas = {c["competency"]: c["latest"] for c in competencies if c["kind"] == "epa"}
    entrusted = sorted((k for k, v in epas.items() if v >= ENTRUSTED_LEVEL),
                       key=lambda k: int(k[3:]))
    return {"learner": learner, "competencies": competencies,
            "epas_assessed": len(epas), "epas_entrusted": entrusted,
            "epas_remaining": [f"EPA{i}" for i in range(1, 14) if f"EPA{i}" not in entrusted]}


def lineage(scan: Scan, educator: str, depth: int = 3) -> dict[str, Any]:
    """educator -> the learners they taught or assessed (generation 1) -> those learners'
    own learners (generation 2) ... Each person is counted once, in the first generation
    they reach."""
    if not 1 <= depth <= MAX_DEPTH:
        raise EducationError("BAD_REQUEST", f"depth is 1 to {MAX_DEPTH}")
    seen = {educator}
    frontier = [educator]
    generations = []
    for generation in range(1, depth + 1):
        found: list[str] = []
        for person in frontier:
            for learner, _edge in scan(f"{EDGE_PREFIX}{person}/"):
                if learner not in seen:
                    seen.add(learner)
                    found.append(learner)
        if not found:
            break
        generations.append({"generation": generation, "count": len(found),
                            "members": sorted(found)})
        frontier = found
    return {"educator": educator, "generations": generations,
            "total": sum(g["count"] for g in generations)}


def _months_before(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    year, month = divmod(month, 12)
    for d in (day.day, 30, 29, 28):  # the same day of the month, or that month's last
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def cme_status(scan: Scan, get: Get, professional: str, requirement: str, as_of: date
               ) -> dict[str, Any]:
    """CME hours (in hundredths) earned in the requirement's period ending ``as_of``,
    against what it requires. ``requirement`` is ``<board>/<id>``."""
    board, _, req_id = requirement.partition("/")
    req = get(requirement_key(board, req_id)) if req_id else None
    if req is None:
        raise EducationError("NOT_FOUND", f"no CME requirement {requirement!r} (as <board>/<id>)")
    start = _months_before(as_of, req["months"])
    counted, other = [], []
    for key, rec in scan(f"{CME_PREFIX}{professional}/"):
        provider, _, activity = key.partition("/")
        entry = {"provider": provider, "activity": activity, **rec}
        in_period = start.isoformat() < rec["completed"] <= as_of.isoformat()
        fits = req["category"] is None or rec["category"] == req["category"]
        (counted if in_period and fits else other).append(entry)
    earned = sum(e["hours"] for e in counted)
    return {"professional": professional, "requirement": requirement,
            "period": {"after": start.isoformat(), "through": as_of.isoformat()},
            "category": req["category"], "required_hours": req["hours"],
            "earned_hours": earned, "met": earned >= req["hours"],
            "shortfall_hours": max(0, req["hours"] - earned),
            "counted": counted, "not_counted": other, "unit": "hundredths of an hour"}


def module_stats(get: Get, module: str) -> dict[str, Any]:
    """Usage (completions, learners) and effectiveness (mean pre / post scores, gain,
    share of completions that improved) of a learning module."""
    stats = get(module_key(module))
    if stats is None:
        raise EducationError("NOT_FOUND", f"no module {module!r} has been recorded")
    n = stats["completions"]
    return {"module": module, "completions": n, "learners": stats["learners"],
            "mean_pre": round(stats["pre_total"] / n, 1),
            "mean_post": round(stats["post_total"] / n, 1),
            "mean_gain": round((stats["post_total"] - stats["pre_total"]) / n, 1),
            "improved_share": round(stats["improved"] / n, 3)}
