"""``Claim/$submit`` on a node that hosts both the provider and the payer: a PAS Bundle
read, sealed in both vaults, registered by the provider's key, adjudicated by the
published rules, units reserved and the decision recorded by the payer's key; answered
with the PAS response Bundle the ledger's state gives (docs/claims.md, "Services").

Nothing is recorded for a Bundle that is refused: everything that can be checked is
checked before the first transaction, and the vault copies of a submission the ledger
refuses are dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from salus.claims import facts as ledger_facts
from salus.claims import offload, pas
from salus.claims import pas_request as pr
from salus.claims.adjudicate import ClaimFacts, Item, adjudicate, fingerprints
from salus.claims.contracts.layout import (
    APPROVED,
    CANCELLED,
    CLAIM,
    DENIED,
    EXPEDITED,
    LIVE,
    MAX_EVIDENCE,
    MAX_ITEMS,
    MAX_PRIOR_AUTHS,
    MODIFIED,
    PAYER_TYPES,
    PROVIDER_ROLES,
    REPLACED,
    STANDARD,
    member_key,
    request_key,
    rules_key,
)
from salus.claims.keys import member_hash
from salus.claims.licences import held, of_practitioner, periods, subject_of
from salus.claims.pas_response import Action, Answer
from salus.claims.pas_response import ItemDecision as PasDecision
from salus.claims.rules import load
from salus.claims.service import ClaimsService, Host
from salus.clock import iso_from_ms, wall_clock_ms
from salus.ledger.members import has_role, org_key
from salus.ledger.members import member_key as ledger_member_key
from salus.node.receipt import Receipt
from salus.records import sealing
from salus.records.contracts.layout import RECORD_ID
from salus.records.sealing import SealingError
from salus.records.vault import Document, VaultError

log = logging.getLogger("salus.claims")
REQUEST_ID = re.compile(r"[0-9a-f]{64}\Z")
DOCUMENT_TYPE = "Bundle"


class ClaimsError(Exception):
    """A request the claims service will not serve: HTTP status, stable code, reason."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _refused(receipt: Receipt) -> ClaimsError:
    status = {"FORBIDDEN": 403, "CONFLICT": 409, "NOT_FOUND": 422}.get(receipt.code or "", 422)
    return ClaimsError(status, receipt.code or "REFUSED", receipt.reason)


@dataclass(frozen=True)
class Found:
    """Whose request a Bundle is: the hosts, the coverage and its patient."""

    provider: Host
    payer: Host
    coverage: dict[str, Any]


def provider_of(service: ClaimsService, caller: dict[str, Any] | None, height: int,
                get: Any) -> Host:
    """The provider the caller submits for: their organisation, hosted here, in which
    they hold a provider role."""
    if caller is None or caller.get("org") is None:
        raise ClaimsError(403, "FORBIDDEN", "a request is submitted by a registrar or "
                                            "clinician of a provider organisation")
    org = caller["org"]
    if not any(has_role(get, caller, r, org, height) for r in PROVIDER_ROLES):
        raise ClaimsError(403, "FORBIDDEN", f"only a {' or '.join(PROVIDER_ROLES)} of a "
                                            "provider submits its requests")
    host = service.providers.get(org)
    if host is None:
        raise ClaimsError(409, "NOT_HOSTED",
                          f"this node does not host provider {org}: submit to the node that "
                          f"does, or start this node with {org}'s admin or claims key")
    return host


def find_coverage(service: ClaimsService, request: pr.PasRequest, get: Any
                  ) -> tuple[Host, dict[str, Any]]:
    """The payer and coverage a Bundle's Coverage names by member id (the payer's keyed
    hash of it), at the insurer the Claim names if it names one by its Salus id."""
    named = [i.value for i in request.payer.identifiers
             if (get(org_key(i.value)) or {}).get("type") in PAYER_TYPES]
    if named:
        payer = named[0]
        if payer not in service.payers:
            raise ClaimsError(409, "NOT_HOSTED",
                              f"this node does not host payer {payer}: submit to the node "
                              f"that does, or start this node with {payer}'s admin or "
                              "claims key")
        hosts = [service.payers[payer]]
    else:
        hosts = list(service.payers.values())
    for host in hosts:
        assert host.member_key is not None
        for member_id in sorted(request.member.ids()):
            coverage = get(member_key(host.org, member_hash(host.member_key, member_id)))
            if coverage is not None:
                return host, get(f"claims/coverage/{coverage}")
    where = f"payer {hosts[0].org}" if named else "any payer this node hosts"
    raise ClaimsError(422, "NO_COVERAGE", f"no coverage of {where} has the Bundle's Coverage "
                                          "member id (identifier or subscriberId)")


def _patient(body: bytes, reference: str | None) -> tuple[str, str]:
    """(birth date, gender) of the Claim's Patient in the Bundle."""
    doc = json.loads(body)
    for entry in doc.get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") != "Patient":
            continue
        names = {entry.get("fullUrl"), f"Patient/{resource.get('id')}"}
        if reference in names:
            birth = resource.get("birthDate")
            if not isinstance(birth, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth):
                break
            return birth, resource.get("gender") or "unknown"
    raise ClaimsError(422, "PATIENT_REQUIRED", "the Claim's patient must be a Patient in the "
                                               "Bundle with a full birthDate (age limits)")


def live_items(request: pr.PasRequest) -> list[pr.Item]:
    """The items the ledger registers, in order: ledger sequence k is the k-th."""
    return [i for i in sorted(request.items, key=lambda i: i.sequence) if not i.cancelled]


def claim_facts(service: ClaimsService, request: pr.PasRequest, found: Found, body: bytes,
                practitioner: str) -> ClaimFacts:
    return facts_of(request, body, found.coverage, found.provider.org, practitioner)


def facts_of(request: pr.PasRequest, body: bytes, coverage: dict[str, Any], provider: str,
             practitioner: str) -> ClaimFacts:
    """What adjudication reads of a Bundle registered under ``coverage`` by ``provider``
    (the payer's service, and ``salus claims verify``, read it the same way)."""
    birth, sex = _patient(body, request.patient_reference)
    items = live_items(request)
    if len(items) > MAX_ITEMS:
        raise ClaimsError(422, "TOO_MANY_ITEMS", f"at most {MAX_ITEMS} items a request")
    created = request.created[:10]
    evidence = tuple(dict.fromkeys(
        s.reference.rpartition("/")[2] for s in request.supporting_info
        if s.reference and not s.cancelled and RECORD_ID.match(s.reference.rpartition("/")[2])))
    auths = tuple(dict.fromkeys(r for r in request.pre_auth_refs if REQUEST_ID.match(r))) \
        if request.use == CLAIM else ()
    if len(evidence) > MAX_EVIDENCE or len(auths) > MAX_PRIOR_AUTHS:
        raise ClaimsError(422, "TOO_MANY_CITED", f"at most {MAX_EVIDENCE} records and "
                                                 f"{MAX_PRIOR_AUTHS} authorisations cited")
    return ClaimFacts(
        use=request.use, coverage=coverage["id"], patient=coverage["patient"],
        birth_date=birth, sex=sex, provider=provider, practitioner=practitioner,
        priority=EXPEDITED if request.expedited else STANDARD,
        items=tuple(Item(k, i.service.code, i.units, i.amount_cents or 0,
                         i.service_date or created, i.place_of_service or "")
                    for k, i in enumerate(items, start=1)),
        evidence=evidence, prior_auths=auths)


def licence(service: ClaimsService, found: Found, request: pr.PasRequest
            ) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    """The rendering practitioner (their did if a licence names them) and the days of
    service on which their licence was valid."""
    party = request.practitioner
    ids = [i.value for i in party.identifiers] if party else []
    assert found.provider.licences is not None
    creds = of_practitioner(held(found.provider.licences), ids)
    who = subject_of(creds) or (party.npi if party and party.npi else "unknown")
    if request.use != CLAIM:
        return who, ()
    dates = [i.service_date for i in request.items if i.service_date]
    return who, periods(service.node.ledger, creds, dates)


# -- the vaults ---------------------------------------------------------------------------
def _recipients(host: Host, patient: dict[str, Any] | None) -> dict[str, str]:
    out = {host.key.did: host.key.encryption_did}
    if patient is not None and patient.get("encryption_key"):
        out[patient["id"]] = patient["encryption_key"]
    return out


def seal(found: Found, rid: str, body: bytes, patient: dict[str, Any] | None) -> None:
    """The Bundle into the provider's and the payer's vaults, each copy's key wrapped to
    that organisation's claims key and to the patient (her member record: ``patient``)."""
    for host in (found.provider, found.payer):
        host.vault.seal(rid, 1, found.coverage["patient"], DOCUMENT_TYPE, body,
                        _recipients(host, patient))


def unseal(host: Host, rid: str) -> bytes | None:
    doc = host.vault.document(rid, 1)
    return None if doc is None else opened(host, doc)


def opened(host: Host, doc: Document) -> bytes | None:
    wrapped = host.vault.wrapped_key(doc, host.key.did)
    if wrapped is None:
        return None
    try:
        key = sealing.unwrap(wrapped, host.key.encryption_key)
        return sealing.decrypt(key, host.vault.ciphertext(doc), doc.record, doc.version)
    except (SealingError, VaultError) as exc:
        log.error("claims document %s cannot be opened: %s", doc.record, exc)
        return None


def stored_requests(host: Host, patient: str) -> list[tuple[str, pr.PasRequest]]:
    """The patient's requests in ``host``'s vault, read back (request id, request)."""
    out = []
    for doc in host.vault.documents_of(patient, DOCUMENT_TYPE):
        body = opened(host, doc)
        if body is not None:
            out.append((doc.record, pas.read_request(body)))
    return out


def earlier(found: Found, request: pr.PasRequest, get: Any) -> str:
    """The live request of this provider an update or cancellation names."""
    for rid, stored in reversed(stored_requests(found.provider, found.coverage["patient"])):
        state = get(request_key(rid))
        if state is None or state["provider"] != found.provider.org or state["status"] not in LIVE:
            continue
        for related in request.related:
            if (related.identifier is not None and related.identifier == stored.identifier) \
                    or (related.reference is not None
                        and related.reference == stored.claim_reference):
                return rid
    raise ClaimsError(422, "UNKNOWN_RELATED", "Claim.related names no live request of this "
                                              "provider for this member")


# -- answers ------------------------------------------------------------------------------
def answer(request: pr.PasRequest, state: dict[str, Any]) -> Answer:
    """What the ledger says of ``state`` (a request), as PAS decisions on ``request``'s
    items (the document it was registered from)."""
    ended = state["status"] in (CANCELLED, REPLACED)
    lines = dict(zip((i.sequence for i in live_items(request)), state["lines"], strict=True))
    decisions = []
    for item in sorted(request.items, key=lambda i: i.sequence):
        line = lines.get(item.sequence)
        decisions.append(PasDecision(item.sequence, Action.CANCELLED) if line is None or ended
                         else _decision(item, line))
    periods_ = [tuple(line["period"]) for line in state["lines"]
                if line.get("period") and line["outcome"] in (APPROVED, MODIFIED)]
    granted = bool(periods_) and not ended
    times = [d["time"] for d in state["decisions"]] or [state["time"]]
    return Answer(state["id"], iso_from_ms(max(times)), tuple(decisions),
                  pre_auth_ref=state["id"] if granted else None,
                  pre_auth_period=(min(p[0] for p in periods_), max(p[1] for p in periods_))
                  if granted else None, cancelled=ended)


def _decision(item: pr.Item, line: dict[str, Any]) -> PasDecision:
    outcome = line["outcome"]
    if outcome == APPROVED:
        return PasDecision(item.sequence, Action.APPROVED, units=line["units"],
                           amount_cents=line["amount_cents"])
    if outcome == MODIFIED:
        action = Action.PARTIAL if line["units"] < item.units else Action.MODIFIED
        return PasDecision(item.sequence, action, reason=line["carc"],
                           rule=line["rule"] or line["reason"], units=line["units"],
                           amount_cents=line["amount_cents"])
    if outcome == DENIED:
        # a denial no rule matched (duplicate, no coverage, unlisted) names its reason
        return PasDecision(item.sequence, Action.DENIED, reason=line["carc"],
                           rule=line["rule"] or line["reason"])
    return PasDecision(item.sequence, Action.PENDED, rule=line["rule"])


# -- the flow -----------------------------------------------------------------------------
async def _send(host: Host, method: str, args: dict[str, Any]) -> Receipt:
    pending = await host.writer.send("claims", method, args, wall_clock_ms(), want_commit=True)
    return pending if isinstance(pending, Receipt) else await pending


async def decide(service: ClaimsService, payer: Host, rid: str, claim: ClaimFacts,
                 licence_periods: tuple[tuple[str, str | None], ...]) -> None:
    """The payer's automatic decision: the published rules' answer, units reserved first.
    Items a rule sends to review stay pended; nothing is denied for medical necessity
    (only a medical reviewer does that). A refusal leaves the request in the payer's
    queue for a person."""
    get = service.node.ledger.state_value
    state = get(request_key(rid))
    rules = service.rule_table(state["rules"], lambda v: load(get(rules_key(v))["table"]))
    now = wall_clock_ms()
    decisions = adjudicate(claim, rules, ledger_facts.current(get, rid, now, licence_periods))
    uses = [{"sequence": d.sequence, "prior_auth": d.prior_auth[0],
             "prior_auth_item": d.prior_auth[1], "units": d.units}
            for d in decisions if d.prior_auth is not None]
    if uses:
        receipt = await _send(payer, "use_units", {"claim": rid, "uses": uses})
        if not receipt.valid:
            log.warning("claims: units for %s not reserved: %s %s", rid, receipt.code,
                        receipt.reason)
            return
    receipt = await _send(payer, "decide", {"request": rid, "human_review": False,
                                            "items": [d.ledger() for d in decisions]})
    if not receipt.valid:
        log.warning("claims: %s left for review: %s %s", rid, receipt.code, receipt.reason)


async def submit(service: ClaimsService, body: bytes, caller: dict[str, Any] | None,
                 base: str | None) -> dict[str, Any]:
    """The PAS response Bundle for ``body`` (raises PasRefused or ClaimsError)."""
    ledger = service.node.ledger
    get = ledger.state_value
    request = await offload.read_request(body)
    provider = provider_of(service, caller, ledger.height, get)
    payer, coverage = find_coverage(service, request, get)
    found = Found(provider, payer, coverage)
    if request.kind == "cancel":
        old = earlier(found, request, get)
        receipt = await _send(provider, "cancel", {"request": old})
        if not receipt.valid:
            raise _refused(receipt)
        state = get(request_key(old))
        return await offload.response_bundle(
            request, answer(request, state).decisions, response_id=old,
            created=iso_from_ms(wall_clock_ms()), base=base)
    rid = hashlib.sha256(body).hexdigest()
    if get(request_key(rid)) is not None:
        raise ClaimsError(409, "DUPLICATE_SUBMISSION",
                          f"this Bundle was submitted already (request {rid}); "
                          "Claim/$inquire answers its state")
    practitioner, periods_ = licence(service, found, request)
    claim = claim_facts(service, request, found, body, practitioner)
    args: dict[str, Any] = {"claim": rid, "items": len(claim.items), "priority": claim.priority,
                            "fingerprints": fingerprints(service.fingerprint_key, claim)}
    if claim.evidence:
        args["evidence"] = list(claim.evidence)
    if claim.prior_auths:
        args["prior_auths"] = list(claim.prior_auths)
    if request.kind == "update":
        method, args = "update", {"request": earlier(found, request, get), **args}
    else:
        method, args = "submit", {"use": claim.use, "coverage": coverage["id"], **args}
    # encryption and two SQLite commits (each an fsync) in the vaults' own threads
    patient = get(ledger_member_key(found.coverage["patient"]))
    await asyncio.get_running_loop().run_in_executor(service.vault_io, seal, found, rid, body,
                                                      patient)
    try:
        receipt = await _send(provider, method, args)
    except BaseException:
        _forget(found, rid)
        raise
    if not receipt.valid:
        _forget(found, rid)
        raise _refused(receipt)
    await decide(service, payer, rid, claim, periods_)
    state = get(request_key(rid))
    said = answer(request, state)
    return await offload.response_bundle(
        request, said.decisions, response_id=rid, created=said.created,
        pre_auth_ref=said.pre_auth_ref, pre_auth_period=said.pre_auth_period, base=base)


def _forget(found: Found, rid: str) -> None:
    for host in (found.provider, found.payer):
        host.vault.forget(rid, 1)
