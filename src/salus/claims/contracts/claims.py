"""The claims contract: payers' rules, coverage, and every decision on prior-authorisation
requests and claims, on the ledger (issue 17).

It holds what docs/claims.md decides: the rule sets themselves (public policy), coverage
by opaque id with the member id only as the payer's keyed hash, and each request by the
SHA-256 of its document, its keyed duplicate fingerprints, its rule-set version and every
decision (outcome, rule, reason, CARC, units, cents, reviewer, times). The claim, its
diagnoses and its services stay in the provider's and the payer's vaults.

A request (``claims/request/<claim hash>``) is ``{id, use, coverage, payer, provider,
patient, submitter, rules, items, priority, fingerprints, duplicates, evidence,
prior_auths, height, time, due, extended, status, replaces, replaced_by, lines,
decisions, appeals, payments, decided_time, late}``; ``lines`` holds each item's current
decision (``outcome``, ``rule``, ``reason``, ``carc``, ``units``, ``amount_cents``,
``decision``, ``human``), an authorisation's ``period`` and ``used`` units, a claim item's
``prior_auth`` reservation, and ``flagged`` with the ``flag`` (``{height, index, finding,
by, resolved_height, resolved_time}``: where it is on the review list, what the payer
found).

The rules, numbered as ``docs/security.md`` cites them; each check below cites its rule
(authority checks in :mod:`salus.claims.contracts.rules`, at admission):

* **CL1 Rule sets.** A payer's claims officer or admin publishes its own rule set, a
  table the schema holds closed and strict and :func:`salus.claims.rules.problems` finds
  sound; its version is the SHA-256 of its RFC 8785 bytes. Publishing makes a version
  current; every version stays readable; the current one again changes nothing.
* **CL2 Coverage.** A payer's claims officer or admin records coverage under an opaque id
  (``cv-`` and hex): plan, period (dates), the payer's keyed hash of the member id (never
  the id, a name or a birth date) and the patient. Only that payer changes it, never to
  another patient; a member hash names one coverage of a payer.
* **CL3 Submission.** A registrar or clinician of a provider (hospital, lab, pharmacy)
  registers a request or claim by its hash, once, under a coverage whose payer has
  published rules: the payer's current version is recorded with it (the rules it will be
  judged by), with one keyed fingerprint per item and its priority.
* **CL4 Evidence.** The records a request cites are held by the submitting provider as
  custodian (admission), are the coverage's patient's and not erased; the version each
  had at submission (hash, height) is recorded, so evidence rewritten later is seen.
* **CL5 Duplicates.** An item whose fingerprint is already held by a live request of the
  same use (at any payer), or by an earlier item of the same one, is marked a duplicate
  when submitted; its only decision is denied, CARC 18. Cancelling or replacing a
  request releases its fingerprints.
* **CL6 Decisions.** Only a claims officer or medical reviewer of the request's payer
  decides (admission). A first decision decides every item; pended items are decided
  later, each once, by a human review; a decided request is decided again only on appeal
  (CL11). Cancelled and replaced requests are not decided.
* **CL7 The published table.** Each decided item names the rule of the request's
  rule-set version that matched it (or none: ``unlisted``), a reason that rule allows
  (:func:`salus.claims.rules.reason_applies`), and exactly the CARC that table gives for
  it; only a covered rule grants; granted units stay within the rule's ``units.max`` and
  amounts within ``allowed_cents`` per unit. Whether the rule matched the claim's code,
  date and patient is checked off the ledger (``salus claims verify``).
* **CL8 Human review.** A medical-necessity denial (CARC 50) is made only by a medical
  reviewer, flagged as a human review (admission). Deciding pended items and appeals are
  human reviews.
* **CL9 Authorisation units.** ``use_units`` reserves units of an authorisation a claim
  cites (same coverage, live, the item granted) for one of the claim's undecided items,
  never more than are left. A decision granting a claim item under a rule requiring
  authorisation needs that reservation, under the same rule, for exactly the units
  granted; denying the item returns them.
* **CL10 Due times.** A prior-authorisation request is due 72 hours (expedited) or 7 days
  (standard) after submission, in block time (CMS-0057-F); the payer may extend it once,
  by 14 days, before it is due. A decision after the due time is marked late, and so is
  the request if its first complete decision is.
* **CL11 Appeals.** The submitting provider (registrar or clinician) or the coverage's
  patient appeals denied or modified items of a decided request, at most
  ``MAX_APPEALS`` times; a reviewer who made no earlier decision on the request decides
  the appeal (admission), as a human review.
* **CL12 Payments.** The payer's claims officer records a decided claim's remittance:
  paid and patient amounts in cents and the remittance document's hash; together they
  never exceed the amounts granted.
* **CL13 Phantom billing.** The patient a claim's coverage names flags items she never
  received (each once); they join the payer's review list.
* **CL16 Flags resolved.** A claims officer or medical reviewer of the claim's payer
  records what it found on a flagged item, once: ``confirmed`` (not rendered as billed)
  or ``unfounded``; the item leaves the review list, the finding, its reviewer and time
  stay on the claim's line, and the patient is told (an event).
* **CL14 Cancel and update** (PAS ``Claim.related``). Only the submitting provider, never
  once paid: a cancel ends the request; an update replaces it by a new request of the
  same use and coverage, each naming the other. Both release the old one's fingerprints
  and reservations.
* **CL15 Recorded facts.** Each decision records its reviewer, the human-review flag, its
  time, lateness, and the ledger facts it was made on (the coverage then, and each cited
  authorisation's units before this claim used any), so that anyone holding the claim
  re-runs the adjudication (:mod:`salus.claims.verify`).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from salus.claims.contracts.facts import snapshot
from salus.claims.contracts.layout import (
    APPEALED,
    CANCELLED,
    CLAIM,
    DECIDED,
    DENIED,
    EXTENSION_MS,
    GRANTED,
    LIVE,
    MAX_APPEALS,
    MAX_EVIDENCE,
    MAX_ITEMS,
    MAX_PAYMENTS,
    MAX_PRIOR_AUTHS,
    MODIFIED,
    OPEN,
    PENDED,
    PREAUTH,
    REPLACED,
    REVIEW_ROLES,
    SUBMITTED,
    CoverageId,
    CoverageRef,
    Finding,
    Fingerprint,
    ItemCount,
    MemberHash,
    Outcome,
    PlanId,
    Priority,
    RealDate,
    RequestId,
    RequestRef,
    Sequence,
    UnitCount,
    Use,
    authorised_period,
    coverage_key,
    current_rules_key,
    due_time,
    fingerprint_key,
    index_key,
    member_key,
    open_key,
    policy_key,
    request_key,
    review_key,
    rule_key,
    rules_history_key,
    rules_key,
)
from salus.claims.contracts.rules import (
    Decider,
    PatientOf,
    PayerStaff,
    Provider,
    ProviderOrPatient,
    coverage_payer,
    request_party,
    signer_org,
)
from salus.claims.rules import (
    CARCS,
    DEFAULT_CARC,
    MODIFY_REASONS,
    PEND_REASONS,
    REASONS,
    Cents,
    RuleId,
    RuleTable,
    effective_carc,
    problems,
    reason_applies,
    version,
)
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import PatientRef
from salus.ledger.schema import STRICT, Sha256Hex, array, one_of
from salus.records.contracts.layout import RecordRef, record_key


class ItemDecision(TypedDict):
    """One item's decision, as :meth:`salus.claims.adjudicate.ItemDecision.ledger` gives it."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    sequence: Sequence
    outcome: Outcome
    rule: RuleId | None
    reason: one_of(REASONS, "why the item is not approved as asked") | None
    carc: one_of(CARCS, "the X12 CARC the reason carries") | None
    units: UnitCount | None
    amount_cents: Cents | None


class UnitUse(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    sequence: Sequence
    prior_auth: RequestId
    prior_auth_item: Sequence
    units: UnitCount


ItemDecisions = array(ItemDecision, 1, MAX_ITEMS, "the decided items, each once")
Sequences = array(Sequence, 1, MAX_ITEMS, "item sequence numbers, each once")
Fingerprints = array(Fingerprint, 1, MAX_ITEMS, "one keyed fingerprint per item, in order")
Evidence = array(RecordRef, 0, MAX_EVIDENCE, "records the document cites, each once")
PriorAuths = array(RequestRef, 0, MAX_PRIOR_AUTHS, "authorisations a claim cites, each once")
UnitUses = array(UnitUse, 1, MAX_ITEMS, "reservations, in item order")


def _conflict(rule: str, reason: str) -> Rejected:
    return Rejected(Code.CONFLICT, f"{rule}: {reason}")


def _bad(rule: str, reason: str) -> Rejected:
    return Rejected(Code.BAD_ARGUMENTS, f"{rule}: {reason}")


def _once(values: list[Any], what: str) -> None:
    if len(set(values)) != len(values):
        raise Rejected(Code.BAD_ARGUMENTS, f"name each {what} once")


def _line(request: dict[str, Any], sequence: int) -> dict[str, Any]:
    if sequence > request["items"]:
        raise Rejected(Code.BAD_ARGUMENTS, f"the request has {request['items']} items, "
                                           f"no item {sequence}")
    return request["lines"][sequence - 1]


def _new_line(sequence: int) -> dict[str, Any]:
    return {"sequence": sequence, "outcome": None, "rule": None, "reason": None, "carc": None,
            "units": None, "amount_cents": None, "decision": None, "human": None,
            "period": None, "used": 0, "prior_auth": None, "flagged": False, "flag": None}


class ClaimsContract(Contract):
    name = "claims"

    # -- policy ----------------------------------------------------------------------------
    @method(who=PayerStaff(payer=lambda ctx, a: a["table"]["payer"], names="`table`"))
    def publish_rules(self, ctx: Context, table: RuleTable) -> dict[str, Any]:
        """A payer publishes its rule set (CL1); the version is the table's hash."""
        found = problems(table)
        if found:
            raise _bad("CL1", "; ".join(str(p) for p in found[:5]))
        payer, v = table["payer"], version(table)
        current = ctx.get(current_rules_key(payer))
        if current is not None and current["version"] == v:
            return {"version": v, "height": current["height"], "changed": False}
        if ctx.get(rules_key(v)) is None:
            ctx.put(rules_key(v), {"payer": payer, "version": v, "table": table,
                                   "height": ctx.height, "time": ctx.time,
                                   "previous": None if current is None else current["version"]})
            for rule in table["rules"]:
                ctx.put(rule_key(v, rule["id"]), {
                    **rule, "carc": {r: effective_carc(table, rule, r) for r in DEFAULT_CARC}})
            ctx.put(policy_key(v), {"payer": payer, "unlisted": table["unlisted"], "carc": {
                r: effective_carc(table, None, r) for r in DEFAULT_CARC}})
        ctx.put(current_rules_key(payer), {"version": v, "height": ctx.height})
        ctx.put(rules_history_key(payer, ctx.height), v)
        ctx.emit("claims_rules_published", payer=payer, version=v)
        return {"version": v, "height": ctx.height, "changed": True}

    @method(who=PayerStaff(payer=coverage_payer, names="an existing `coverage`", rule="CL2"))
    def record_coverage(self, ctx: Context, coverage: CoverageId, plan: PlanId, start: RealDate,
                        member: MemberHash, patient: PatientRef,
                        end: RealDate | None = None) -> dict[str, Any]:
        """A payer records (or changes) a patient's coverage (CL2)."""
        if end is not None and end < start:
            raise _bad("CL2", f"coverage ends ({end}) before it starts ({start})")
        payer = signer_org(ctx)
        before = ctx.get(coverage_key(coverage))
        if before is not None:
            if before["patient"] != patient:
                raise _conflict("CL2", f"coverage {coverage} is another patient's")
            if before["member"] != member:
                ctx.delete(member_key(payer, before["member"]))
        holder = ctx.get(member_key(payer, member))
        if holder is not None and holder != coverage:
            raise _conflict("CL2", "this member hash names another coverage of the payer")
        ctx.put(coverage_key(coverage), {
            "id": coverage, "payer": payer, "plan": plan, "start": start, "end": end,
            "member": member, "patient": patient, "height": ctx.height, "time": ctx.time})
        ctx.put(member_key(payer, member), coverage)
        ctx.emit("claims_coverage_recorded", coverage=coverage, payer=payer, patient=patient)
        return {"coverage": coverage, "payer": payer}

    # -- the provider's side -----------------------------------------------------------------
    @method(who=Provider())
    def submit(self, ctx: Context, use: Use, claim: RequestId, coverage: CoverageRef,
               items: ItemCount, fingerprints: Fingerprints, priority: Priority,
               evidence: Evidence | None = None,
               prior_auths: PriorAuths | None = None) -> dict[str, Any]:
        """A provider registers a prior-authorisation request or a claim by its hash
        (CL3-CL5)."""
        return _submit(ctx, use, claim, coverage, items, fingerprints, priority,
                       evidence or [], prior_auths or [], None)

    @method(who=Provider(request="request"))
    def update(self, ctx: Context, request: RequestRef, claim: RequestId, items: ItemCount,
               fingerprints: Fingerprints, priority: Priority, evidence: Evidence | None = None,
               prior_auths: PriorAuths | None = None) -> dict[str, Any]:
        """The provider replaces its request by a new one (PAS ``Claim.related``, CL14)."""
        old = _end(ctx, request, REPLACED)
        out = _submit(ctx, old["use"], claim, old["coverage"], items, fingerprints, priority,
                      evidence or [], prior_auths or [], request)
        old["replaced_by"] = claim
        ctx.put(request_key(request), old)
        ctx.emit("claims_updated", request=request, replaced_by=claim, payer=old["payer"],
                 provider=old["provider"], patient=old["patient"])
        return out

    @method(who=Provider(request="request", evidence=False))
    def cancel(self, ctx: Context, request: RequestRef) -> dict[str, Any]:
        """The provider cancels its request (PAS ``Claim.related``, CL14)."""
        old = _end(ctx, request, CANCELLED)
        ctx.put(request_key(request), old)
        ctx.emit("claims_cancelled", request=request, payer=old["payer"],
                 provider=old["provider"], patient=old["patient"])
        return {"request": request, "status": CANCELLED}

    @method(who=ProviderOrPatient())
    def appeal(self, ctx: Context, request: RequestRef, items: Sequences) -> dict[str, Any]:
        """The provider or the patient appeals denied or modified items (CL11)."""
        found = ctx.get(request_key(request))
        _once(items, "item")
        if found["status"] != DECIDED:
            raise _conflict("CL11", f"the request is {found['status']}: only a decided "
                                    "request is appealed")
        if len(found["appeals"]) >= MAX_APPEALS:
            raise _conflict("CL11", f"the request was appealed {MAX_APPEALS} times already")
        for sequence in items:
            if _line(found, sequence)["outcome"] not in (DENIED, MODIFIED):
                raise _conflict("CL11", f"item {sequence} was approved: nothing to appeal")
        n = len(found["appeals"]) + 1
        found["appeals"].append({"n": n, "by": ctx.member_id, "items": sorted(items),
                                 "height": ctx.height, "time": ctx.time, "decision": None})
        found["status"] = APPEALED
        ctx.put(request_key(request), found)
        _queue(ctx, found)
        ctx.emit("claims_appealed", request=request, payer=found["payer"],
                 provider=found["provider"], patient=found["patient"], appeal=n)
        return {"request": request, "appeal": n}

    @method(who=PatientOf())
    def flag_phantom(self, ctx: Context, request: RequestRef, items: Sequences) -> dict[str, Any]:
        """The patient flags claim items she never received (CL13)."""
        found = ctx.get(request_key(request))
        _once(items, "item")
        if found["use"] != CLAIM or found["status"] not in LIVE:
            raise _conflict("CL13", "only the items of a live claim are flagged")
        for sequence in items:
            line = _line(found, sequence)
            if line["flagged"]:
                raise _conflict("CL13", f"item {sequence} is flagged already")
            line["flagged"] = True
            line["flag"] = {"height": ctx.height, "index": ctx.index, "finding": None}
            ctx.put(review_key(found["payer"], ctx.height, ctx.index, sequence), {
                "request": request, "sequence": sequence, "kind": "phantom",
                "height": ctx.height, "time": ctx.time})
        ctx.put(request_key(request), found)
        ctx.emit("claims_phantom_flagged", request=request, payer=found["payer"],
                 items=sorted(items))
        return {"request": request, "flagged": sorted(items)}

    # -- the payer's side --------------------------------------------------------------------
    @method(who=PayerStaff(roles=REVIEW_ROLES, payer=request_party("payer"), names="`request`",
                           rule="CL16"))
    def resolve_phantom(self, ctx: Context, request: RequestRef, sequence: Sequence,
                        finding: Finding) -> dict[str, Any]:
        """The payer records what it found on an item its patient flagged (CL16)."""
        found = ctx.get(request_key(request))
        line = _line(found, sequence)
        # a line kept before flags could be resolved has no "flag": where its flag is on
        # the review list was not recorded
        flag = line.get("flag")
        if flag is None:
            raise _conflict("CL16", f"item {sequence} is not flagged" if not line["flagged"]
                            else f"item {sequence} was flagged before flags could be resolved")
        if flag["finding"] is not None:
            raise _conflict("CL16", f"item {sequence}'s flag was resolved already")
        ctx.delete(review_key(found["payer"], flag["height"], flag["index"], sequence))
        flag.update(finding=finding, by=ctx.member_id, resolved_height=ctx.height,
                    resolved_time=ctx.time)
        ctx.put(request_key(request), found)
        ctx.emit("claims_phantom_resolved", request=request, payer=found["payer"],
                 patient=found["patient"], sequence=sequence, finding=finding)
        return {"request": request, "sequence": sequence, "finding": finding}

    @method(who=PayerStaff(roles=REVIEW_ROLES, payer=request_party("payer"), names="`request`",
                           rule="CL10"))
    def extend(self, ctx: Context, request: RequestRef) -> dict[str, Any]:
        """The payer extends an open request's due time once, by 14 days (CL10)."""
        found = ctx.get(request_key(request))
        if found["use"] != PREAUTH or found["status"] not in (SUBMITTED, PENDED):
            raise _conflict("CL10", "only an undecided prior-authorisation request is extended")
        if found["extended"]:
            raise _conflict("CL10", "the request was extended already")
        if ctx.time > found["due"]:
            raise _conflict("CL10", "an extension is taken before the request is due")
        found.update(due=found["due"] + EXTENSION_MS, extended=True)
        ctx.put(request_key(request), found)
        _queue(ctx, found)
        ctx.emit("claims_extended", request=request, provider=found["provider"],
                 due=found["due"])
        return {"request": request, "due": found["due"]}

    @method(who=PayerStaff(roles=REVIEW_ROLES, payer=request_party("payer", "claim"),
                           names="`claim`", rule="CL9"))
    def use_units(self, ctx: Context, claim: RequestRef, uses: UnitUses) -> dict[str, Any]:
        """The payer reserves authorised units for a claim's items (CL9)."""
        found = ctx.get(request_key(claim))
        if found["use"] != CLAIM or found["status"] not in OPEN:
            raise _conflict("CL9", "units are reserved for an undecided claim")
        sequences = [u["sequence"] for u in uses]
        if sequences != sorted(set(sequences)):
            raise _bad("CL9", "name each item once, in sequence order")
        auths: dict[str, dict[str, Any]] = {}
        for use in uses:
            line = _line(found, use["sequence"])
            if not _decidable(found, line):
                raise _conflict("CL9", f"item {use['sequence']} is decided")
            if line["prior_auth"] is not None:
                raise _conflict("CL9", f"item {use['sequence']} already uses an authorisation")
            pa_id = use["prior_auth"]
            if pa_id not in found["prior_auths"]:
                raise _bad("CL9", f"the claim does not cite authorisation {pa_id}")
            pa = auths.get(pa_id) or ctx.get(request_key(pa_id))
            auths[pa_id] = pa
            if pa["status"] not in (DECIDED, APPEALED):
                raise _conflict("CL9", f"authorisation {pa_id} is {pa['status']}")
            granted = _line(pa, use["prior_auth_item"])
            if granted["outcome"] not in GRANTED:
                raise _conflict("CL9", f"item {use['prior_auth_item']} of authorisation "
                                       f"{pa_id} was not granted")
            left = granted["units"] - granted["used"]
            if use["units"] > left:
                raise _conflict("CL9", f"item {use['prior_auth_item']} of authorisation {pa_id} "
                                       f"has {left} units left, not {use['units']}")
            granted["used"] += use["units"]
            line["prior_auth"] = {"request": pa_id, "item": use["prior_auth_item"],
                                  "rule": granted["rule"], "units": use["units"],
                                  "left_before": left}
        for pa_id, pa in auths.items():
            ctx.put(request_key(pa_id), pa)
        ctx.put(request_key(claim), found)
        return {"claim": claim, "reserved": sequences}

    @method(who=Decider())
    def decide(self, ctx: Context, request: RequestRef, items: ItemDecisions,
               human_review: bool) -> dict[str, Any]:
        """The payer decides items of a request (CL6-CL10, CL15)."""
        found = ctx.get(request_key(request))
        status = found["status"]
        if status not in OPEN:
            raise _conflict("CL6", f"the request is {status}: a decided request is decided "
                                   "again only on appeal")
        sequences = [i["sequence"] for i in items]
        _once(sequences, "item")
        for sequence in sequences:
            _line(found, sequence)
        owed = [line["sequence"] for line in found["lines"] if _decidable(found, line)]
        if status == SUBMITTED and sorted(sequences) != owed:
            raise _bad("CL6", f"a first decision decides every item (1-{found['items']})")
        if status == APPEALED and sorted(sequences) != owed:
            raise _bad("CL11", f"an appeal decision decides the appealed items {owed}")
        if not set(sequences) <= set(owed):
            raise _bad("CL6", f"only the pended items {owed} are decided now")
        if status != SUBMITTED and not human_review:
            raise _bad("CL8", "pended items and appeals are decided by a human review")
        facts = snapshot(ctx.get, found)
        checked = [(item, _checked(ctx, found, item, status)) for item in items]
        n = len(found["decisions"]) + 1
        decided = [_apply(ctx, found, item, rule, n, human_review) for item, rule in checked]
        late = status != APPEALED and found["due"] is not None and ctx.time > found["due"]
        found["decisions"].append({
            "n": n, "reviewer": ctx.member_id, "human_review": human_review,
            "height": ctx.height, "time": ctx.time, "late": late,
            "items": sorted(decided, key=lambda i: i["sequence"]),
            "appeal": found["appeals"][-1]["n"] if status == APPEALED else None,
            "facts": facts})
        if status == APPEALED:
            found["appeals"][-1]["decision"] = n
        found["status"] = PENDED if any(line["outcome"] == PENDED for line in found["lines"]) \
            else DECIDED
        if found["status"] == DECIDED and found["decided_time"] is None:
            found.update(decided_time=ctx.time, late=late)
        ctx.put(request_key(request), found)
        _queue(ctx, found)
        ctx.emit("claims_decided", request=request, payer=found["payer"],
                 provider=found["provider"], patient=found["patient"], decision=n,
                 status=found["status"], late=late)
        return {"request": request, "decision": n, "status": found["status"], "late": late}

    @method(who=PayerStaff(roles=("claims_officer",), payer=request_party("payer", "claim"),
                           names="`claim`", rule="CL12"))
    def record_payment(self, ctx: Context, claim: RequestRef, paid_cents: Cents,
                       patient_cents: Cents, remittance: Sha256Hex) -> dict[str, Any]:
        """The payer records a decided claim's remittance, in cents (CL12)."""
        found = ctx.get(request_key(claim))
        if found["use"] != CLAIM or found["status"] != DECIDED:
            raise _conflict("CL12", "a payment is recorded for a decided claim")
        if len(found["payments"]) >= MAX_PAYMENTS:
            raise _conflict("CL12", f"a claim has at most {MAX_PAYMENTS} payments")
        granted = sum(line["amount_cents"] for line in found["lines"]
                      if line["outcome"] in GRANTED)
        so_far = sum(p["paid_cents"] + p["patient_cents"] for p in found["payments"])
        if so_far + paid_cents + patient_cents > granted:
            raise _conflict("CL12", f"payments would exceed the {granted} cents granted "
                                    f"({so_far} recorded)")
        found["payments"].append({"paid_cents": paid_cents, "patient_cents": patient_cents,
                                  "remittance": remittance, "height": ctx.height,
                                  "time": ctx.time})
        ctx.put(request_key(claim), found)
        ctx.emit("claims_paid", request=claim, payer=found["payer"], provider=found["provider"],
                 patient=found["patient"], paid_cents=paid_cents)
        return {"claim": claim, "payments": len(found["payments"])}


# -- submission ----------------------------------------------------------------------------
def _submit(ctx: Context, use: str, claim: str, coverage: str, items: int,
            fingerprints: list[str], priority: str, evidence: list[str],
            prior_auths: list[str], replaces: str | None) -> dict[str, Any]:
    if ctx.get(request_key(claim)) is not None:
        raise _conflict("CL3", f"request {claim} exists: a document is submitted once")
    if len(fingerprints) != items:
        raise _bad("CL5", f"{len(fingerprints)} fingerprints for {items} items")
    _once(evidence, "record")
    _once(prior_auths, "authorisation")
    cover = ctx.get(coverage_key(coverage))
    payer, patient = cover["payer"], cover["patient"]
    current = ctx.get(current_rules_key(payer))
    if current is None:
        raise _conflict("CL3", f"{payer} has published no rules")
    if prior_auths and use != CLAIM:
        raise _bad("CL9", "only a claim cites authorisations")
    for pa_id in prior_auths:
        pa = ctx.get(request_key(pa_id))
        if pa["use"] != PREAUTH or pa["coverage"] != coverage:
            raise _conflict("CL9", f"{pa_id} is no authorisation under this coverage")
    cited = []
    for record in evidence:
        found = ctx.get(record_key(record))
        if found["patient"] != patient or found["status"] == "erased":
            raise _conflict("CL4", f"record {record} is not the coverage's patient's, or is "
                                   "erased")
        cited.append({"record": record, "version": found["version"], "hash": found["hash"],
                      "height": found["height"]})
    duplicates = []
    for sequence, fp in enumerate(fingerprints, start=1):
        key = fingerprint_key(use, fp)
        if ctx.get(key) is not None:
            duplicates.append(sequence)
        else:
            ctx.put(key, {"request": claim, "sequence": sequence})
    provider = signer_org(ctx)
    doc = {"id": claim, "use": use, "coverage": coverage, "payer": payer, "provider": provider,
           "patient": patient, "submitter": ctx.member_id, "rules": current["version"],
           "items": items, "priority": priority, "fingerprints": fingerprints,
           "duplicates": duplicates, "evidence": cited, "prior_auths": prior_auths,
           "height": ctx.height, "time": ctx.time, "due": due_time(use, priority, ctx.time),
           "extended": False, "status": SUBMITTED, "replaces": replaces, "replaced_by": None,
           "lines": [_new_line(s) for s in range(1, items + 1)], "decisions": [],
           "appeals": [], "payments": [], "decided_time": None, "late": None}
    ctx.put(request_key(claim), doc)
    _queue(ctx, doc)
    for kind, who in (("by-patient", patient), ("by-provider", provider), ("by-payer", payer)):
        ctx.put(index_key(kind, who, ctx.height, claim), {"use": use})
    ctx.emit("claims_submitted", request=claim, use=use, payer=payer, provider=provider,
             patient=patient, priority=priority, due=doc["due"], duplicates=duplicates)
    return {"request": claim, "rules": current["version"], "due": doc["due"],
            "duplicates": duplicates}


def _end(ctx: Context, request: str, status: str) -> dict[str, Any]:
    """CL14: end a live, unpaid request (cancelled or replaced): its fingerprints and the
    units it reserved are released, and the payer no longer owes a decision."""
    found = ctx.get(request_key(request))
    if found["status"] not in LIVE:
        raise _conflict("CL14", f"the request is {found['status']}")
    if found["payments"]:
        raise _conflict("CL14", "a paid claim is neither cancelled nor replaced")
    for sequence, fp in enumerate(found["fingerprints"], start=1):
        key = fingerprint_key(found["use"], fp)
        if ctx.get(key) == {"request": request, "sequence": sequence}:
            ctx.delete(key)
    for line in found["lines"]:
        _release(ctx, line)
    ctx.delete(open_key(found["payer"], request))
    found["status"] = status
    return found


# -- decisions -----------------------------------------------------------------------------
def _decidable(request: dict[str, Any], line: dict[str, Any]) -> bool:
    """Is ``line`` owed a decision: undecided, pended, or under the open appeal?"""
    if request["status"] == APPEALED:
        return line["sequence"] in request["appeals"][-1]["items"]
    return line["outcome"] in (None, PENDED)


def _checked(ctx: Context, request: dict[str, Any], item: dict[str, Any],
             status: str) -> dict[str, Any] | None:
    """CL5, CL7-CL9: ``item`` is a decision the published table allows; returns its rule."""
    seq, outcome, reason = item["sequence"], item["outcome"], item["reason"]
    where = f"item {seq}"
    rule = None
    if item["rule"] is not None:
        rule = ctx.get(rule_key(request["rules"], item["rule"]))
        if rule is None:
            raise _bad("CL7", f"{where}: rule set {request['rules']} has no rule {item['rule']}")
    if (seq in request["duplicates"]) != (outcome == DENIED and reason == "duplicate"):
        raise _bad("CL5", f"{where}: a duplicate item is denied as a duplicate, and only it")
    if reason is not None and not reason_applies(rule, reason, request["use"]):
        raise _bad("CL7", f"{where}: {reason} is not a reason its rule gives")
    used = request["lines"][seq - 1]["used"]
    if used and (outcome not in GRANTED or item["units"] is None or item["units"] < used):
        raise _conflict("CL9", f"{where}: claims use {used} of its units; it keeps at least "
                               "those")
    policy = ctx.get(policy_key(request["rules"]))
    if outcome == PENDED:
        if status != SUBMITTED:
            raise _bad("CL6", f"{where}: a review decides, it does not pend again")
        if reason not in PEND_REASONS or (reason == "unlisted" and policy["unlisted"] != "pend"):
            raise _bad("CL7", f"{where}: not a reason to pend")
        if (item["carc"], item["units"], item["amount_cents"]) != (None, None, None):
            raise _bad("CL7", f"{where}: a pended item carries no CARC, units or amount")
        return rule
    if outcome == DENIED:
        if reason is None or reason not in DEFAULT_CARC \
                or (reason == "unlisted" and policy["unlisted"] != "deny"):
            raise _bad("CL7", f"{where}: a denial carries a reason the table denies for")
        if (item["units"], item["amount_cents"]) != (None, None):
            raise _bad("CL7", f"{where}: a denied item grants no units or amount")
        _carc(rule or policy, item, where)
        return rule
    # approved or modified
    if rule is None or not rule["covered"]:
        raise _bad("CL7", f"{where}: only a covered rule grants")
    if item["units"] is None or item["amount_cents"] is None:
        raise _bad("CL7", f"{where}: a granted item carries its units and amount")
    if outcome == MODIFIED:
        if reason not in MODIFY_REASONS:
            raise _bad("CL7", f"{where}: a modified item carries why its units were cut")
        _carc(rule, item, where)
    elif (reason, item["carc"]) != (None, None):
        raise _bad("CL7", f"{where}: an approved item carries no reason or CARC")
    units = item["units"]
    reserved = request["lines"][seq - 1]["prior_auth"]
    if request["use"] == CLAIM and rule["prior_auth"]:
        if reserved is None or reserved["rule"] != rule["id"] or reserved["units"] != units:
            raise _conflict("CL9", f"{where}: its rule requires authorisation: reserve exactly "
                                   f"{units} units of an authorisation of rule {rule['id']} first")
        if ctx.get(request_key(reserved["request"]))["status"] not in (DECIDED, APPEALED):
            raise _conflict("CL9", f"{where}: authorisation {reserved['request']} was ended")
    elif rule["units"] is not None and units > rule["units"]["max"]:
        raise _bad("CL7", f"{where}: rule {rule['id']} grants at most "
                          f"{rule['units']['max']} units")
    if rule["allowed_cents"] is not None and item["amount_cents"] > rule["allowed_cents"] * units:
        raise _bad("CL7", f"{where}: rule {rule['id']} allows at most "
                          f"{rule['allowed_cents']} cents a unit")
    return rule


def _carc(table: dict[str, Any], item: dict[str, Any], where: str) -> None:
    """CL7: the CARC the published table gives the reason (``table``: the rule's entry, or
    the rule set's policy when no rule matched)."""
    want = table["carc"][item["reason"]]
    if item["carc"] != want:
        raise _bad("CL7", f"{where}: {item['reason']} carries CARC {want} in this rule set")


def _apply(ctx: Context, request: dict[str, Any], item: dict[str, Any],
           rule: dict[str, Any] | None, n: int, human: bool) -> dict[str, Any]:
    """Record one checked item on its line; returns the item as the decision keeps it
    (with the authorisation it uses, or the period it authorises)."""
    line = request["lines"][item["sequence"] - 1]
    line.update({k: item[k] for k in ("outcome", "rule", "reason", "carc", "units",
                                      "amount_cents")}, decision=n, human=human)
    granted = item["outcome"] in GRANTED
    if request["use"] == PREAUTH:
        line["period"] = list(authorised_period(ctx.time, rule["units"]["period_days"])) \
            if granted and rule["units"] is not None else None
    elif item["outcome"] != PENDED and not (granted and rule["prior_auth"]):
        _release(ctx, line)  # CL9: units reserved for an item not granted go back
    used = line["prior_auth"]
    return {**item, "period": line["period"],
            "prior_auth": None if used is None else [used["request"], used["item"]]}


def _release(ctx: Context, line: dict[str, Any]) -> None:
    """Give a claim item's reserved units back to its authorisation."""
    reserved = line["prior_auth"]
    if reserved is None:
        return
    pa = ctx.get(request_key(reserved["request"]))
    pa["lines"][reserved["item"] - 1]["used"] -= reserved["units"]
    ctx.put(request_key(reserved["request"]), pa)
    line["prior_auth"] = None


def _queue(ctx: Context, request: dict[str, Any]) -> None:
    """The payer's review queue holds exactly the requests that owe a decision."""
    key = open_key(request["payer"], request["id"])
    if request["status"] in OPEN:
        ctx.put(key, {"use": request["use"], "priority": request["priority"],
                      "due": request["due"] if request["status"] != APPEALED else None,
                      "status": request["status"]})
    else:
        ctx.delete(key)

