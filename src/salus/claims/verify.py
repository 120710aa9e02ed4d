"""Check a stored decision against the published rules: ``salus claims verify``.

Whoever holds a claim document (the patient, the provider, an auditor) re-runs the
adjudication (:func:`salus.claims.adjudicate.adjudicate`) with the rule-set version the
ledger recorded for the request, and with the ledger facts each decision recorded (CL15):
the coverage then, the cited authorisations' units before the claim used any, the
duplicates found at submission, and the cited records' registrations. The one fact the
ledger's claims state does not hold, the rendering practitioner's licence periods, the
caller supplies from the credentials application.

Every item decided without human review must be exactly what the rules give: outcome,
rule, reason, CARC, units, cents, the authorisation a claim item used, the period an
approval authorised. An item a human reviewed (a pended item decided later, an appeal, a
medical-necessity denial) is reported as such: the rules do not bind a human judgement,
but its reviewer and flag are on the ledger. And the document must be the one the ledger
holds: its SHA-256 is the request's id, so a byte changed anywhere is caught.

Pure: it reads the ledger through a getter (``state key -> value``) and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salus.claims.adjudicate import ClaimFacts, ItemDecision, adjudicate, fingerprints
from salus.claims.contracts.layout import GRANTED, request_key, rules_key
from salus.claims.facts import Licence, recorded
from salus.claims.rules import RuleSetError, load, version

Getter = Callable[[str], Any]
#: What a recorded item and a re-adjudicated one are compared on.
FIELDS = ("outcome", "rule", "reason", "carc", "units", "amount_cents")


@dataclass(frozen=True)
class ItemCheck:
    sequence: int
    decision: int
    #: ``same``: the rules give what the ledger holds; ``differs``: they do not;
    #: ``human``: decided by a human review (not bound to the rules).
    verdict: str
    ledger: dict[str, Any]
    rules: dict[str, Any]


@dataclass
class Report:
    request: str
    problems: list[str] = field(default_factory=list)
    items: list[ItemCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(i.verdict != "differs" for i in self.items)


def _as_ledger(d: ItemDecision) -> dict[str, Any]:
    granted = d.outcome in GRANTED
    return {**d.ledger(),
            "period": list(d.period) if granted and d.period is not None else None,
            "prior_auth": list(d.prior_auth) if granted and d.prior_auth is not None else None}


def _compared(item: dict[str, Any]) -> dict[str, Any]:
    granted = item["outcome"] in GRANTED
    return {**{k: item[k] for k in FIELDS}, "period": item["period"] if granted else None,
            "prior_auth": item["prior_auth"] if granted else None}


def _same_document(claim: ClaimFacts, request: dict[str, Any], key: bytes | None) -> list[str]:
    """Where ``claim`` is not the document the request registered."""
    want = {"use": request["use"], "coverage": request["coverage"],
            "provider": request["provider"], "patient": request["patient"],
            "priority": request["priority"], "items": request["items"],
            "evidence": sorted(e["record"] for e in request["evidence"]),
            "prior_auths": request["prior_auths"]}
    have = {"use": claim.use, "coverage": claim.coverage, "provider": claim.provider,
            "patient": claim.patient, "priority": claim.priority, "items": len(claim.items),
            "evidence": sorted(claim.evidence), "prior_auths": list(claim.prior_auths)}
    out = [f"the claim's {k} is {have[k]!r}, the ledger's {want[k]!r}"
           for k in want if have[k] != want[k]]
    if sorted(i.sequence for i in claim.items) != list(range(1, len(claim.items) + 1)):
        out.append("the claim's items are not numbered 1..n")
    if key is not None and fingerprints(key, claim) != request["fingerprints"]:
        out.append("the claim's fingerprints are not the ones it was submitted with")
    return out


def verify(document: bytes, claim: ClaimFacts, get: Getter, licence: Licence, *, request: str | None = None,
           key: bytes | None = None) -> Report:
    """Check the ledger's decisions on ``document`` (whose facts are ``claim``) against the
    rule set they were made under. ``request``: the request id, when the document might
    not be the one registered (default: the document's own hash); ``key``: the
    fingerprint key, to check the submitted fingerprints too."""
    digest = hashlib.sha256(document).hexdigest()
    request = request or digest
    report = Report(request)
    if digest != request:
        report.problems.append(f"the document's SHA-256 is {digest}, not the request's "
                               f"{request}: it is not the document registered")
    found = get(request_key(request))
    if found is None:
        report.problems.append(f"no request {request} on the ledger")
        return report
    report.problems += _same_document(claim, found, key)
    published = get(rules_key(found["rules"]))
    try:
        rules = load(published["table"])
    except RuleSetError as exc:  # the contract checked it: a ledger that lies
        report.problems.append(f"the recorded rule set does not load: {exc}")
        return report
    if version(published["table"]) != found["rules"]:
        report.problems.append("the stored rule set does not hash to its version")
        return report
    for decision in found["decisions"]:
        facts = recorded(get, found, decision, licence)
        given = {d.sequence: d for d in adjudicate(claim, rules, facts)}
        for item in decision["items"]:
            seq = item["sequence"]
            want = _as_ledger(given[seq]) if seq in given else {}
            verdict = "human" if decision["human_review"] else \
                "same" if want and _compared(want) == _compared(item) else "differs"
            report.items.append(ItemCheck(seq, decision["n"], verdict, item, want))
    return report
