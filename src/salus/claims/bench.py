"""`salus bench claims`: Da Vinci PAS prior authorisation and claims through
``POST /fhir/Claim/$submit``, from a separate process (issue 17 item 10).

1. Founds a chain with an insurer, a hospital and a medical board; enrols the insurer's
   claims officer and the hospital's registrar; registers ``members`` patients, publishes
   the insurer's rules (:func:`rules`) and records each patient's coverage under the
   insurer's member key (only its keyed hash reaches the ledger).
2. Starts a node in a child process (no records gateway, no supply service): it hosts
   the insurer and the hospital, so it opens the claims services for both. The board
   issues the practitioner's licence (anchored on the ledger), which the hospital keeps
   with its claims service, so claim lines are judged on a licence that verifies.
3. Prior authorisation, every Bundle distinct and valid, items mixing what the rules
   approve (an MRI), cut to the units allowed (three MRIs), deny (a cosmetic procedure)
   and send to review (a CT: pended):
   ``pa_decisions_per_s``: ``requests`` Bundles, ``in_flight`` outstanding (closed
   loop); each answer is the PAS response Bundle of the payer's recorded decision (the
   request registered, units reserved, decided: each a committed transaction).
   ``p50_ms`` / ``p99_ms``: Bundles offered open loop at ``latency_rate`` a second for
   ``latency_seconds``, latency from the moment each was due (so a node that falls
   behind shows it).
4. Claims: ``claims_per_s``: ``use=claim`` Bundles for the service each approved MRI
   authorisation of step 3 covers, citing it (``preAuthRef``), ``in_flight``
   outstanding: registered, the licence verified on the date of service, the units used
   and the claim decided.

Every answer must be a PAS response Bundle; its items' outcomes are counted
(:func:`outcomes`: ``pa_items``, ``claim_lines``). The load comes
from :mod:`salus.bench.keepalive` (whole requests prepared before the clock starts).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from salus.bench import keepalive
from salus.bench.harness import ChildNode, machine, percentile, progress_line, seeded_identity
from salus.bench.ledger import NODE_LIMITS
from salus.claims.keys import member_hash, payer_member_key
from salus.claims.licences import licences_dir
from salus.client import SalusClient
from salus.credentials.issuer import CredentialRequest, Issuer
from salus.identity import Identity
from salus.node.bootstrap import LedgerSession, OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir

CHAIN = "salus-bench-claims"
PAYER, PROVIDER, BOARD = "bench-insurer", "bench-hospital", "bench-board"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
CPT = "http://www.ama-assn.org/go/cpt"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NPI = "http://hl7.org/fhir/sid/us-npi"
PRACTITIONER_NPI = "1122334455"
MRI, CT, COSMETIC, VISIT = "70551", "70450", "15780", "99213"
#: The items of the ``i``-th request, by ``i % 4``: (code, units). An MRI is approved (at
#: most two units), a CT pended for review, a cosmetic procedure denied.
MIXES: tuple[tuple[tuple[str, int], ...], ...] = (
    ((MRI, 1),), ((MRI, 1), (COSMETIC, 1)), ((CT, 1),), ((VISIT, 1), (MRI, 3)))
_SETUP_BLOCK = 500  # transactions per founding block


def _rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    base = {"id": rule_id, "codes": [], "code_sets": [], "plans": [], "covered": True,
            "prior_auth": False, "review": False, "documentation": False, "units": None,
            "age": None, "sex": None, "places": None, "allowed_cents": None, "carc": {}}
    return {**base, **fields}


def rules() -> dict[str, Any]:
    """The insurer's published rule set."""
    return {"payer": PAYER, "unlisted": "deny", "carc": {}, "code_sets": [], "rules": [
        _rule("mri-brain", codes=[MRI], prior_auth=True,
              units={"max": 2, "period_days": 60}, allowed_cents=200_000),
        _rule("ct-review", codes=[CT], prior_auth=True, review=True,
              units={"max": 1, "period_days": 30}),
        _rule("cosmetic", codes=[COSMETIC], covered=False),
        _rule("office-visit", codes=[VISIT], units={"max": 1, "period_days": 1},
              places=["11", "22"], allowed_cents=15_000)]}


def member_id(n: int) -> str:
    return f"BENCH-M-{n:07d}"


def coverage_id(n: int) -> str:
    return "cv-" + hashlib.sha256(b"bench-coverage-%d" % n).hexdigest()[:32]


def patient(n: int) -> Identity:
    return seeded_identity(f"bench-claims-patient-{n}")


def _item(sequence: int, code: str, units: int, date: str,
          cents: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sequence": sequence, "productOrService": {"coding": [{"system": CPT, "code": code}]},
        "servicedDate": date, "careTeamSequence": [1], "quantity": {"value": units},
        "locationCodeableConcept": {"coding": [{"system": POS, "code": "22"}]},
        "extension": [{"url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
                              "extension-itemTraceNumber",
                       "valueIdentifier": {"system": "http://example.org/TRN",
                                           "value": f"T{sequence}"}}]}
    if cents is not None:
        item["net"] = {"value": cents / 100, "currency": "USD"}
    return item


_TEMPLATE: dict[str, Any] = {
    "resourceType": "Bundle", "type": "collection",
    "identifier": {"system": "http://example.org/SUBMITTER_TRANSACTION_IDENTIFIER"},
    "entry": [
        {"fullUrl": "http://example.org/fhir/Claim/req-1", "resource": {
            "resourceType": "Claim", "id": "req-1", "status": "active",
            "identifier": [{"system": "http://example.org/PATIENT_EVENT_TRACE_NUMBER"}],
            "type": {"coding": [{"system": TERMINOLOGY + "claim-type",
                                 "code": "professional"}]},
            "patient": {"reference": "Patient/pat-1"},
            "insurer": {"reference": "Organization/payer"},
            "provider": {"reference": "Organization/clinic"},
            "priority": {"coding": [{"system": TERMINOLOGY + "processpriority",
                                     "code": "normal"}]},
            "careTeam": [{"sequence": 1, "provider": {"reference": "Practitioner/dr"}}],
            "insurance": [{"sequence": 1, "focal": True,
                           "coverage": {"reference": "Coverage/cov"}}]}},
        {"fullUrl": "http://example.org/fhir/Coverage/cov", "resource": {
            "resourceType": "Coverage", "id": "cov", "status": "active",
            "beneficiary": {"reference": "Patient/pat-1"},
            "payor": [{"reference": "Organization/payer"}]}},
        {"fullUrl": "http://example.org/fhir/Patient/pat-1", "resource": {
            "resourceType": "Patient", "id": "pat-1", "gender": "female",
            "birthDate": "1970-03-15"}},
        {"fullUrl": "http://example.org/fhir/Organization/payer", "resource": {
            "resourceType": "Organization", "id": "payer", "identifier": [
                {"system": NPI, "value": "1234567893"}]}},
        {"fullUrl": "http://example.org/fhir/Organization/clinic", "resource": {
            "resourceType": "Organization", "id": "clinic", "identifier": [
                {"system": NPI, "value": "8189991234"}]}},
        {"fullUrl": "http://example.org/fhir/Practitioner/dr", "resource": {
            "resourceType": "Practitioner", "id": "dr", "identifier": [
                {"system": NPI, "value": PRACTITIONER_NPI}]}}]}


def bundle(tag: str, member: int, use: str, items: list[dict[str, Any]], created: str,
           pre_auth: str | None = None) -> bytes:
    """A PAS request Bundle (``use``: preauthorization or claim) for ``member``."""
    doc = copy.deepcopy(_TEMPLATE)
    doc["identifier"]["value"] = tag
    claim = doc["entry"][0]["resource"]
    claim["identifier"][0]["value"] = tag
    claim.update(use=use, created=created, item=items)
    if pre_auth is not None:
        claim["insurance"][0]["preAuthRef"] = [pre_auth]
    doc["entry"][1]["resource"]["identifier"] = [
        {"system": "http://example.org/MIN", "value": member_id(member)}]
    return json.dumps(doc, separators=(",", ":")).encode()


def pa_bundle(i: int, members: int, today: datetime) -> bytes:
    """The ``i``-th prior-authorisation request: member ``i % members``, its items by
    :data:`MIXES`, for a day of service ``i // members`` days from ``today`` (no two alike,
    so none is another's duplicate)."""
    day = (today + timedelta(days=i // members)).date().isoformat()
    items = [_item(k, code, units, day)
             for k, (code, units) in enumerate(MIXES[i % len(MIXES)], start=1)]
    return bundle(f"pa-{i}", i % members, "preauthorization", items,
                  today.strftime("%Y-%m-%dT%H:%M:%SZ"))


def claim_bundle(i: int, member: int, authorisation: str, today: datetime) -> bytes:
    """A claim for one MRI on ``today`` citing the request that authorised it."""
    return bundle(f"claim-{i}", member, "claim",
                  [_item(1, MRI, 1, today.date().isoformat(), cents=90_000)],
                  today.strftime("%Y-%m-%dT%H:%M:%SZ"), pre_auth=authorisation)


# -- the chain ------------------------------------------------------------------------------
@dataclass
class Actors:
    officer: Identity
    registrar: Identity
    issuer: Identity


def found(root: Path, members: int) -> Actors:
    """The chain of the benchmark, written before the node starts."""
    init_datadir(root, CHAIN, [OrgSpec(PAYER, "insurer", "Bench Insurer"),
                               OrgSpec(PROVIDER, "hospital", "Bench Hospital"),
                               OrgSpec(BOARD, "board", "Bench Medical Board")])
    datadir = DataDir(root)
    admins = {org: Identity.load(admin_key_path(datadir, org)) for org in (PAYER, PROVIDER, BOARD)}
    actors = Actors(seeded_identity("bench-claims-officer"),
                    seeded_identity("bench-claims-registrar"),
                    seeded_identity("bench-claims-board-issuer"))
    key = payer_member_key(datadir, PAYER)
    ledger = datadir.open_ledger()
    try:
        s = LedgerSession(ledger)

        def commit() -> None:
            verdicts = s.commit()
            bad = [v for v in verdicts if v[0] != "VALID"]
            if bad:
                raise RuntimeError(f"founding the claims benchmark: {bad[0]}")

        for org, who, role in ((PAYER, actors.officer, "claims_officer"),
                               (PROVIDER, actors.registrar, "registrar"),
                               (BOARD, actors.issuer, "issuer")):
            s.tx(admins[org], "membership", "enrol", {
                "org": org, "member": who.did, "roles": [role],
                "encryption_key": who.encryption_did})
        s.tx(actors.officer, "claims", "publish_rules", {"table": rules()})
        commit()
        for first in range(0, members, _SETUP_BLOCK):
            people = [(n, patient(n)) for n in range(first, min(first + _SETUP_BLOCK, members))]
            for _, who in people:
                s.tx(who, "membership", "register_patient", {})
            commit()
            for n, who in people:
                s.tx(actors.officer, "claims", "record_coverage", {
                    "coverage": coverage_id(n), "plan": "gold", "start": "2025-01-01",
                    "member": member_hash(key, member_id(n)), "patient": who.did})
            commit()
    finally:
        ledger.close()
    return actors


def licence(url: str, root: Path, issuer: Identity) -> None:
    """The board issues the practitioner's licence; the hospital keeps it with its claims
    service (``claims/licences/<provider>/``)."""
    with SalusClient(url, issuer) as c, Issuer(c, root / "issuer.db") as board:
        (cred,) = board.issue([CredentialRequest("LicenseCredential", {
            "id": seeded_identity("bench-claims-practitioner").did,
            "achievement": {"type": ["Achievement"], "achievementType": "License",
                            "name": "Licence to practise medicine"},
            "jurisdiction": "US-CA", "licenseNumber": PRACTITIONER_NPI,
            "licenseStatus": "active"}, valid_from="2025-01-01T00:00:00Z")])
    folder = licences_dir(root, PROVIDER)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "practitioner.json").write_text(json.dumps(cred))


# -- the load -------------------------------------------------------------------------------
def _post(authority: str, token: str, body: bytes) -> bytes:
    return (f"POST /fhir/Claim/$submit HTTP/1.1\r\nHost: {authority}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def outcomes(response: dict[str, Any]) -> list[str]:
    """Each item's outcome in a PAS response Bundle: its review action code (A1 approved,
    A2 approved in part, A3 denied, A4 pended), or for a claim, the CARC of a line not
    paid as billed, else "paid"."""
    claim_response = response["entry"][0]["resource"]
    out = []
    for item in claim_response.get("item") or []:
        submitted = item["adjudication"][0]
        actions = [part["valueCodeableConcept"]["coding"][0]["code"]
                   for ext in submitted.get("extension") or []
                   for part in ext.get("extension") or []
                   if part["url"].endswith("reviewActionCode")]
        reason = (submitted.get("reason") or {}).get("coding") or [{}]
        out.append(actions[0] if actions else reason[0].get("code") or "paid")
    return out


@dataclass
class Answers:
    """What the node answered: item outcomes counted, the authorisations granted."""

    outcomes: Counter[str]
    granted: set[str]

    def check(self, status: int, body: bytes) -> str | None:
        if status != 200:
            return f"{status} {body[:300]!r}"
        try:
            doc = json.loads(body)
            self.outcomes.update(outcomes(doc))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            return f"not a PAS response ({exc!r}): {body[:300]!r}"
        ref = doc["entry"][0]["resource"].get("preAuthRef")
        if isinstance(ref, str):
            self.granted.add(ref)
        return None


def _send(url: str, token: str, bodies: list[bytes], in_flight: int,
          interval: float | None = None) -> tuple[float, list[float], Answers]:
    """POST every Bundle to ``$submit`` (:func:`keepalive.send_all`), on uvloop when it is
    there (as the node runs)."""
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run  # type: ignore[assignment]
    host, port = url.removeprefix("http://").rsplit(":", 1)
    authority = f"{host}:{port}"
    requests = [_post(authority, token, b) for b in bodies]
    answers = Answers(Counter(), set())
    warm = f"GET /v1/status HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode()
    elapsed, latencies = run_loop(keepalive.send_all(
        host, int(port), requests, in_flight, answers.check, interval, warm=warm))
    return elapsed, latencies, answers


def _ticks(stat: str) -> int:
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by process group ``pid`` (the node and its worker
    processes), and by its main thread alone (the event loop: what one request holds up
    the others with)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[2]) == pid:  # its process group
            total += _ticks(stat)
    main = _ticks((Path("/proc") / str(pid) / "task" / str(pid) / "stat").read_text())
    return total / tick, main / tick


@dataclass(frozen=True)
class Options:
    members: int = 1000
    requests: int = 2000
    in_flight: int = 32
    latency_rate: int = 200
    latency_seconds: float = 10.0
    claims: int = 500


def run(options: Options | None = None, progress: Console | None = None) -> dict[str, Any]:
    o = options or Options()

    say = progress_line(progress)

    today = datetime.now(UTC).replace(microsecond=0)
    load_before = os.getloadavg()[0]
    offered = max(1, int(o.latency_rate * o.latency_seconds))
    with tempfile.TemporaryDirectory(prefix="salus-bench-claims-") as tmp:
        root = Path(tmp)
        say(f"founding the chain: {o.members:,} members with coverage ...")
        actors = found(root, o.members)
        # the first `members` requests are for services today: those the claims cite
        pas = [pa_bundle(i, o.members, today) for i in range(o.requests + offered)]
        # a few more, untimed, before the clock starts: the node's worker processes load
        # the FHIR models on their first request
        warm = [pa_bundle(i, o.members, today)
                for i in range(len(pas), len(pas) + 2 * o.in_flight)]
        with ChildNode(root, "--no-records", "--no-supply", *NODE_LIMITS) as node, \
                SalusClient(node.url, actors.registrar) as c:
            licence(node.url, root, actors.issuer)
            token = c.token()
            _send(node.url, token, warm, o.in_flight)
            say(f"{o.requests:,} prior-authorisation requests, {o.in_flight} in flight ...")
            height = c.status()["height"]
            cpu_before, loop_before, mine = *cpu_seconds(node.proc.pid), time.process_time()
            busy_s, busy, saturated = _send(node.url, token, pas[:o.requests], o.in_flight)
            cpu_after, loop_after = cpu_seconds(node.proc.pid)
            blocks = c.status()["height"] - height
            mine = time.process_time() - mine
            say(f"offering {o.latency_rate} requests/s for {o.latency_seconds:g} s ...")
            offered_s, latencies, paced = _send(node.url, token, pas[o.requests:],
                                                max(o.in_flight, 256), 1 / o.latency_rate)
            # each approved MRI of a request for today (its id: the hash of its bytes),
            # cited by one claim
            cited = [(i, rid) for i in range(min(o.members, o.requests))
                     if MIXES[i % len(MIXES)][0][0] == MRI
                     and (rid := hashlib.sha256(pas[i]).hexdigest()) in saturated.granted]
            claims = [claim_bundle(k, member, ref, today)
                      for k, (member, ref) in enumerate(cited[:o.claims])]
            say(f"{len(claims):,} claims citing their authorisations ...")
            claims_s, claim_ms, claimed = _send(node.url, token, claims, o.in_flight)
    return {"benchmark": "claims",
            "pa_decisions_per_s": round(o.requests / busy_s, 1),
            "p50_ms": round(percentile(latencies, 0.50), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "claims_per_s": round(len(claims) / claims_s, 1) if claims else 0.0,
            "requests": o.requests, "in_flight": o.in_flight,
            "p99_ms_saturated": round(percentile(busy, 0.99), 2),
            # CPU per decision in the saturated run: the node's processes, its event loop's
            # thread alone, and this benchmark's client (the machine is shared)
            "node_cpu_ms_per_decision": round((cpu_after - cpu_before) * 1000 / o.requests, 2),
            "node_loop_cpu_ms_per_decision": round(
                (loop_after - loop_before) * 1000 / o.requests, 2),
            "client_cpu_ms_per_decision": round(mine * 1000 / o.requests, 2),
            # blocks committed in the saturated run, per decision (each decision is two
            # transactions at least: the request registered, then decided)
            "blocks_per_decision": round(blocks / o.requests, 3),
            "latency_rate": o.latency_rate, "offered": offered,
            "offered_per_s": round(offered / offered_s, 1),
            "claims": len(claims), "claims_p99_ms": round(percentile(claim_ms, 0.99), 2),
            "members": o.members,
            "pa_items": dict(sorted((saturated.outcomes + paced.outcomes).items())),
            "claim_lines": dict(sorted(claimed.outcomes.items())),
            # the machine is shared: its 1-minute load average before and after
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "machine": machine()}
