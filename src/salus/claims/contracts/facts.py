"""The ledger facts a decision is made on (CL15), read from state by key.

One function, run by the contract when it records a decision and by the payer's service
before it adjudicates (:func:`salus.claims.facts.current`), so that both see the same
facts: the request's coverage as it is now, and each authorisation the claim cites with
its granted items and the units each had left before this claim reserved any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.claims.contracts.layout import (
    APPEALED,
    DECIDED,
    GRANTED,
    coverage_key,
    request_key,
)

#: The coverage fields adjudication reads.
COVERAGE_FIELDS = ("payer", "plan", "start", "end", "patient")


def snapshot(get: Callable[[str], Any], request: dict[str, Any]) -> dict[str, Any]:
    """``{coverage, prior_auths}`` for ``request``, as the ledger holds them now."""
    cover = get(coverage_key(request["coverage"]))
    own: dict[tuple[str, int], int] = {}
    for line in request["lines"]:
        reserved = line["prior_auth"]
        if reserved is not None:
            key = (reserved["request"], reserved["item"])
            own[key] = own.get(key, 0) + reserved["units"]
    auths = []
    for pa_id in request["prior_auths"]:
        pa = get(request_key(pa_id))
        auths.append({
            "request": pa_id, "coverage": pa["coverage"],
            "active": pa["status"] in (DECIDED, APPEALED),
            "items": [{"sequence": g["sequence"], "rule": g["rule"],
                       "units_left": g["units"] - g["used"] + own.get((pa_id, g["sequence"]), 0),
                       "period": g["period"]}
                      for g in pa["lines"] if g["outcome"] in GRANTED]})
    return {"coverage": {k: cover[k] for k in COVERAGE_FIELDS}, "prior_auths": auths}
