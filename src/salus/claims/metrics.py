"""The prior-authorisation metrics CMS-0057-F requires payers to publish, from the ledger.

The rule (CMS Interoperability and Prior Authorization final rule, CMS-0057-F, 89 FR 8758,
8889; 42 CFR 422.122(c) for MA organisations, and its counterparts 42 CFR 438.210(f),
440.230(e), 457.732, 457.1230(d) and 45 CFR 156.223) has each impacted payer post, by
March 31, for the previous calendar year and aggregated for all items and services
(drugs excluded):

1. the list of items and services that require prior authorisation (here: the payer's
   published rule set, ``claims/rules-current/<payer>``, read it whole);
2. the percentage of standard requests approved, 3. denied;
4. the percentage approved after appeal;
5. the percentage for which the timeframe for review was extended and the request was
   approved;
6. the percentage of expedited requests approved, 7. denied;
8. the average and median time between the submission of a standard request and the
   determination, 9. the same for expedited requests.

:func:`payer_metrics` computes items 2-9 for one payer and one calendar year from the
claims contract's state, and more than the rule asks where the ledger knows it (late
determinations, human reviews, requests still open or withdrawn), each for standard,
expedited and both. How Salus reads the rule (docs/claims.md, "Metrics (CMS-0057-F)"):

* **A request** is a prior-authorisation request (``use`` preauthorization); claims are
  not counted. It belongs to the calendar year (UTC) of its **submission's block time**:
  the year's requests form one range of the payer's index (block times never go back),
  so the work is that year's requests, and the figures of a closed year change only as
  its open requests are decided or appealed.
* **The determination** is the request's first complete decision (every item decided,
  none pended: the contract's ``decided_time``); appeal decisions are not determinations.
  At its determination a request is **approved** (every item approved as asked),
  **partially approved** (something granted, but not everything as asked: an item
  modified or denied beside a granted one) or **denied** (nothing granted). The shares
  are of the requests determined; the open and the withdrawn (cancelled or replaced
  before a determination) are counted beside them, not in them.
* **Approved after appeal**: an appeal decision granted an appealed item more than it had
  (denied to approved or modified, modified to approved).
* **Extended and approved**: the due time was extended (CL10) and the determination
  granted something (approved or partially approved).
* **Decision time**: determination block time minus submission block time, late ones
  included (``late``: determined after the due time). Mean and median are in whole
  seconds, rounded half up, from integer milliseconds; a share is in basis points
  (1/100 of a percent), rounded half up, beside the counts it is made of, so the exact
  fraction is ``count / determined``.

Pure: reads state through ``get`` (key -> value) and ``scan`` (prefix, after, limit ->
``[(key, value)]`` in key order) and nothing else; only the payer's index
(``claims/by-payer/<payer>/``) is scanned, never the whole state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.claims.contracts.layout import (
    APPROVED,
    CANCELLED,
    DAY_MS,
    DENIED,
    EXPEDITED,
    GRANTED,
    MODIFIED,
    PENDED,
    PREAUTH,
    PREFIX,
    REPLACED,
    STANDARD,
    date_of,
    days_of,
    request_key,
)
from salus.ledger.members import org_key

Getter = Callable[[str], Any]
Scanner = Callable[[str, str, int], list[tuple[str, Any]]]

FIRST_YEAR, LAST_YEAR = 1970, 9998
#: Index entries (prior-authorisation requests and claims) one computation reads at most.
MAX_SCANNED = 50_000
PAGE = 1000
#: Index heights are 12 digits (layout.index_key).
_HEIGHTS = 10**12
#: How well an item fared: an appeal overturns when an appealed item moves up.
_RANK = {DENIED: 0, MODIFIED: 1, APPROVED: 2}
COUNTS = ("requests", "open", "withdrawn", "determined", "approved", "partially_approved",
          "denied", "appealed", "approved_after_appeal", "extended", "extended_approved",
          "late", "human_reviewed")
#: Shares of the determined requests.
SHARES = ("approved", "partially_approved", "denied", "approved_after_appeal",
          "extended_approved", "late", "human_reviewed")


class MetricsError(Exception):
    """A question metrics cannot answer: ``code`` is stable (``NOT_FOUND``: no such
    insurer; ``BAD_REQUEST``: a year out of range; ``TOO_LARGE``: more than
    :data:`MAX_SCANNED` requests in the year)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def year_bounds(year: int) -> tuple[int, int]:
    """The block times (ms, UTC) the calendar year ``year`` spans: [start, end)."""
    return days_of(f"{year:04d}-01-01") * DAY_MS, days_of(f"{year + 1:04d}-01-01") * DAY_MS


def share_bp(count: int, of: int) -> int | None:
    """``count / of`` in basis points, rounded half up; None when ``of`` is 0."""
    return None if of == 0 else (20_000 * count + of) // (2 * of)


def _seconds(total_ms: int, n: int) -> int:
    """``total_ms / n`` milliseconds in whole seconds, rounded half up."""
    return (2 * total_ms + 1000 * n) // (2000 * n)


def _times(times: list[int]) -> dict[str, int | None]:
    if not times:
        return {"mean_s": None, "median_s": None, "count": 0}
    ordered = sorted(times)
    mid = len(ordered) // 2
    median = _seconds(ordered[mid], 1) if len(ordered) % 2 else \
        _seconds(ordered[mid - 1] + ordered[mid], 2)
    return {"mean_s": _seconds(sum(ordered), len(ordered)), "median_s": median,
            "count": len(ordered)}


def _determination(request: dict[str, Any]) -> tuple[dict[int, str], bool, bool]:
    """Each item's outcome at the request's determination, whether a human review took
    part in it, and whether an appeal later granted an appealed item more."""
    outcomes: dict[int, str] = {}
    at_determination: dict[int, str] | None = None
    human = overturned = False
    for decision in request["decisions"]:
        if decision["appeal"] is not None:
            for item in decision["items"]:
                before = outcomes.get(item["sequence"], DENIED)
                if item["outcome"] in GRANTED and _RANK[item["outcome"]] > _RANK[before]:
                    overturned = True
        elif at_determination is None:
            human = human or decision["human_review"]
        for item in decision["items"]:
            outcomes[item["sequence"]] = item["outcome"]
        if at_determination is None and len(outcomes) == request["items"] \
                and PENDED not in outcomes.values():
            at_determination = dict(outcomes)
    return at_determination or {}, human, overturned


def _classify(request: dict[str, Any]) -> dict[str, Any]:
    """One request's contribution to the counts."""
    if request["decided_time"] is None:
        ended = request["status"] in (CANCELLED, REPLACED)
        return {"withdrawn" if ended else "open": 1}
    outcomes, human, overturned = _determination(request)
    values = list(outcomes.values())
    granted = any(v in GRANTED for v in values)
    kind = "approved" if values and all(v == APPROVED for v in values) else \
        "partially_approved" if granted else "denied"
    out: dict[str, Any] = {"determined": 1, kind: 1,
                           "time_ms": request["decided_time"] - request["time"]}
    for name, flag in (("appealed", bool(request["appeals"])),
                       ("approved_after_appeal", overturned),
                       ("extended", request["extended"]),
                       ("extended_approved", request["extended"] and granted),
                       ("late", bool(request["late"])), ("human_reviewed", human)):
        if flag:
            out[name] = 1
    return out


def _group(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {name: sum(r.get(name, 0) for r in rows) for name in COUNTS if name != "requests"}
    counts = {"requests": len(rows), **counts}
    return {**counts,
            "share_bp": {name: share_bp(counts[name], counts["determined"]) for name in SHARES},
            "decision_time": _times([r["time_ms"] for r in rows if "time_ms" in r])}


def _first_at_or_after(scan: Scanner, get: Getter, prefix: str, start_ms: int) -> str:
    """The scan cursor before the payer's first request submitted at or after
    ``start_ms``: a binary search over heights (block times never go back)."""
    def time_from(height: int) -> int | None:
        rows = scan(prefix, f"{prefix}{height:012d}", 1)
        if not rows:
            return None
        return int(get(request_key(rows[0][0].rsplit("/", 1)[1]))["time"])

    lo, hi = 0, _HEIGHTS
    while lo < hi:  # the least height whose first request is at or after start_ms (or none)
        mid = (lo + hi) // 2
        found = time_from(mid)
        if found is None or found >= start_ms:
            hi = mid
        else:
            lo = mid + 1
    return f"{prefix}{lo:012d}"


def payer_metrics(get: Getter, scan: Scanner, payer: str, year: int,
                  max_scanned: int = MAX_SCANNED) -> dict[str, Any]:
    """The CMS-0057-F metrics of ``payer``'s prior-authorisation requests submitted in
    calendar year ``year`` (UTC block time)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise MetricsError("BAD_REQUEST", f"year is {FIRST_YEAR}-{LAST_YEAR}")
    org = get(org_key(payer))
    if org is None or org["type"] != "insurer":
        raise MetricsError("NOT_FOUND", f"{payer} is no insurer of this ledger")
    start, end = year_bounds(year)
    prefix = f"{PREFIX}by-payer/{payer}/"
    after = _first_at_or_after(scan, get, prefix, start)
    stop = _first_at_or_after(scan, get, prefix, end)  # every key past it is a later year's
    rows: dict[str, list[dict[str, Any]]] = {STANDARD: [], EXPEDITED: []}
    scanned = 0
    while after < stop:
        page = [(k, v) for k, v in scan(prefix, after, PAGE) if k < stop]
        scanned += len(page)
        if scanned > max_scanned:
            raise MetricsError("TOO_LARGE", f"{payer} has more than {max_scanned} requests "
                                            f"and claims in {year}")
        for key, entry in page:
            if entry["use"] == PREAUTH:
                request = get(request_key(key.rsplit("/", 1)[1]))
                rows[request["priority"]].append(_classify(request))
        if len(page) < PAGE:
            break
        after = page[-1][0]
    return {"payer": payer, "year": year,
            "period": {"from": date_of(start // DAY_MS), "to": date_of(end // DAY_MS - 1),
                       "from_ms": start, "to_ms": end},
            "standard": _group(rows[STANDARD]), "expedited": _group(rows[EXPEDITED]),
            "all": _group(rows[STANDARD] + rows[EXPEDITED])}
