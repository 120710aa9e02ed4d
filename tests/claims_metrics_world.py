"""A seeded set of prior-authorisation requests for the metrics tests, built through the
real claims contract (claims_world), with what the metrics must then say computed by hand.

Every decision lands one block (1 s of block time) after its submission unless the scene
moves the clock; dates of service differ so that no item is a duplicate of another.

acme-health, 2025 (submitted in 2025 by block time):
  standard  A  mri 1 unit              approved at once                     1 s
            B  physical therapy 20     modified to 12 (partial); appealed,  1 s
                                       the appeal upholds it
            D  sleep study             pended, extended, approved by a      10 days 3 s
                                       medical reviewer 10 days later
            F  office visit            cancelled before a decision          (withdrawn)
            G  mri                     never decided                        (open)
            I  mri, submitted 2025-12-31 23:59:59, decided 2026-01-01       1 s
  expedited C  mammogram, male         denied (sex); the patient appeals,   1 s
                                       a medical reviewer approves it
            E  physical therapy 6      approved, 72 h after: late           72 h 1 s
  and a claim (not a prior authorisation: not counted).
acme-health, 2026: J mri standard, approved at once (1 s).
beacon-health, 2025: K cosmetic standard, denied (1 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from claims_world import (
    OTHER_PAYER,
    Claims,
    build_claims,
    coverage_id,
    item,
    member_hash,
    register_record,
)
from conftest import Chain, world_ledger
from salus.api import create_app
from salus.api.auth import TokenService
from salus.claims.contracts.layout import DAY_MS, HOUR_MS, days_of
from salus.node.node import Node
from salus.ordering import SoloOrderer
from salus.ports import free_port
from servers import ServerThread

NEW_YEAR_2026 = days_of("2026-01-01") * DAY_MS
APPROVE_MAMMOGRAM = {"sequence": 1, "outcome": "approved", "rule": "mammogram", "reason": None,
                     "carc": None, "units": 1, "amount_cents": 0}
APPROVE_SLEEP = {**APPROVE_MAMMOGRAM, "rule": "sleep-study"}
#: The patients: ana and ben at acme-health; ben also at beacon-health.
BEN_AT_BEACON = coverage_id("ben at beacon")


def _pa(c: Claims, patient: str, code: str, n: int, date: str, priority: str = "standard",
        **facts: Any):
    return c.facts(patient, [item(1, code, n, 0, date)], use="preauthorization",
                   priority=priority, **facts)


def _decide(c: Claims, rid: str, items: list[dict[str, Any]], who: str) -> None:
    c.ok(c.call(who, "decide", {"request": rid, "items": items, "human_review": True}))


def seed(chain: Chain) -> Claims:
    c = build_claims(chain)
    c.ok(c.call("other_officer", "record_coverage", {
        "coverage": BEN_AT_BEACON, "plan": "gold", "start": "2025-01-01",
        "member": member_hash("M-ben", OTHER_PAYER), "patient": c.did("ben")}))
    # A: approved at once
    a = _pa(c, "ana", "72148", 1, "2025-11-21")
    c.decide(c.submit(a), a)
    # B: modified (partial), appealed, upheld
    b = _pa(c, "ana", "97110", 20, "2025-11-22")
    rid = c.submit(b)
    (cut,) = c.decide(rid, b)
    assert cut.outcome == "modified"
    c.ok(c.call("registrar", "appeal", {"request": rid, "items": [1]}))
    _decide(c, rid, [cut.ledger()], "reviewer")
    # C: expedited, denied for the patient's sex, appealed, approved on appeal
    cc = _pa(c, "ben", "77067", 1, "2025-11-23", "expedited", sex="male")
    rid = c.submit(cc)
    (denied,) = c.decide(rid, cc)
    assert (denied.outcome, denied.reason) == ("denied", "sex")
    c.ok(c.call("ben", "appeal", {"request": rid, "items": [1]}))
    _decide(c, rid, [APPROVE_MAMMOGRAM], "reviewer")
    # D: pended for review, extended, approved by a human ten days on
    note = register_record(c, "ana", "sleep diary")
    d = _pa(c, "ana", "95810", 1, "2025-11-24", evidence=(note,))
    rid = c.submit(d)
    (pended,) = c.decide(rid, d)
    assert pended.outcome == "pended"
    c.ok(c.call("officer", "extend", {"request": rid}))
    c.chain.time += 10 * DAY_MS
    _decide(c, rid, [APPROVE_SLEEP], "reviewer")
    # E: expedited, decided 72 h and 1 s after: late
    e = _pa(c, "ben", "97110", 6, "2025-11-25", "expedited")
    rid = c.submit(e)
    c.chain.time += 72 * HOUR_MS
    c.decide(rid, e)
    assert c.request(rid)["late"] is True
    # F: cancelled before any decision; G: never decided
    rid = c.submit(_pa(c, "ana", "99213", 1, "2025-11-26"))
    c.ok(c.call("registrar", "cancel", {"request": rid}))
    c.submit(_pa(c, "ben", "72148", 1, "2025-11-27"))
    # a claim: not a prior authorisation
    claim = c.facts("ana", [item(1, "99213", date="2025-11-28")])
    c.decide(c.submit(claim), claim)
    # K: the other payer's, denied
    k = _pa(c, "ben", "15780", 1, "2025-11-29", coverage=BEN_AT_BEACON)
    c.decide(c.submit(k), k, who="other_officer")
    # I: submitted in the last second of 2025, decided in the first of 2026
    c.chain.time = NEW_YEAR_2026 - 2000
    i = _pa(c, "ana", "72148", 1, "2025-12-31")
    rid = c.submit(i)
    assert c.request(rid)["time"] == NEW_YEAR_2026 - 1000
    c.decide(rid, i)
    assert c.request(rid)["decided_time"] == NEW_YEAR_2026
    # J: 2026
    j = _pa(c, "ben", "72148", 1, "2026-01-02")
    c.decide(c.submit(j), j)
    return c


def _group(**counts: Any) -> dict[str, Any]:
    names = ("requests", "open", "withdrawn", "determined", "approved", "partially_approved",
             "denied", "appealed", "approved_after_appeal", "extended", "extended_approved",
             "late", "human_reviewed")
    return {n: counts.get(n, 0) for n in names}


#: What the metrics must say, by hand from the scenes above.
ACME_2025 = {
    "standard": {**_group(requests=6, open=1, withdrawn=1, determined=4, approved=3,
                          partially_approved=1, appealed=1, extended=1, extended_approved=1,
                          human_reviewed=1),
                 # A, B, I: 1 s; D: 10 days 3 s
                 "decision_time": {"count": 4, "mean_s": 216_002,  # 216001.5, half up
                                   "median_s": 1},
                 "share_bp": {"approved": 7500, "partially_approved": 2500, "denied": 0,
                              "approved_after_appeal": 0, "extended_approved": 2500,
                              "late": 0, "human_reviewed": 2500}},
    "expedited": {**_group(requests=2, determined=2, approved=1, denied=1, appealed=1,
                           approved_after_appeal=1, late=1),
                  # C: 1 s; E: 72 h 1 s
                  "decision_time": {"count": 2, "mean_s": (1 + 259_201) // 2,
                                    "median_s": (1 + 259_201) // 2},
                  "share_bp": {"approved": 5000, "partially_approved": 0, "denied": 5000,
                               "approved_after_appeal": 5000, "extended_approved": 0,
                               "late": 5000, "human_reviewed": 0}},
    "all": {**_group(requests=8, open=1, withdrawn=1, determined=6, approved=4,
                     partially_approved=1, denied=1, appealed=2, approved_after_appeal=1,
                     extended=1, extended_approved=1, late=1, human_reviewed=1),
            # (4 * 1 + 864003 + 259201) / 6 = 187201.33
            "decision_time": {"count": 6, "mean_s": 187_201, "median_s": 1},
            "share_bp": {"approved": 6667, "partially_approved": 1667, "denied": 1667,
                         "approved_after_appeal": 1667, "extended_approved": 1667,
                         "late": 1667, "human_reviewed": 1667}},
}


@contextmanager
def served(directory: Path) -> Iterator[tuple[str, Claims]]:
    """The seeded ledger, served by a node's API (as `salus node` serves it) on a free
    loopback port: (its URL, the claims world)."""
    chain = world_ledger(directory / "ledger.db")
    ledger = chain.ledger
    try:
        c = seed(chain)
        clock = lambda: c.chain.time  # noqa: E731  (the ledger's own time: nothing moves it)
        node = Node(ledger, SoloOrderer(max_wait_ms=5, clock=clock), clock=clock)
        port = free_port()
        tokens = TokenService(chain.orderer, ledger, public_url=f"http://127.0.0.1:{port}",
                              replay_file=directory / "replay.db")
        with ServerThread(create_app(node, tokens), port=port) as server:
            yield server.url, c
    finally:
        ledger.close()
