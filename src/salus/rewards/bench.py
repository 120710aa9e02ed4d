"""`salus bench rewards`: the rewards application end to end, over the REST API (issue 18).

1. Starts a node (one hospital, its records gateway and its rewards service) in a child
   process. The hospital's admin enrols ``feeds`` registrars (its EHR feeds) and a
   rewards officer, who publishes a programme (100 points for a kept appointment, the
   nominal-value caps); the node's rewards service starts for it (its own key).
   ``patients`` patients register and enrol themselves.
2. Awards: each patient's Bundle (a Patient, ``visits`` finished Encounters and one
   cancelled) is posted by a feed to ``/v1/records/{custodian}/ingest``, ``feeds`` in
   flight. The node's own rewards service sees each registration in its block, reads the
   Encounter in the vault (finished or not), and signs ``rewards.award``; nothing else
   awards. ``awards_per_s``: awards over the time from the first ingest sent to the
   block time of the last award on the ledger (node and client share a clock).
   ``ingest_per_s`` (records registered) is the ingest alone; ``award_lag_p50_ms`` /
   ``p99``: from the block that registered a visit to the block of its award (block
   times, from the patients' record indexes and statements).
3. Every award is checked: each patient's statement (``GET /v1/rewards/statement``, as
   herself) shows ``visits`` awards, a balance of ``visits`` x 100 points, equal to the
   contract's account; none for the cancelled visit.
4. ``statement_per_s``: ``statements`` statement reads, ``in_flight`` outstanding (closed
   loop), round robin over the patients, each with her own token; every answer checked.
5. Latency: statement reads offered open loop at ``latency_rate`` per second for
   ``latency_seconds``; p50 / p99 from send to answer.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from salus.bench.harness import (
    ChildNode,
    Population,
    drive,
    machine,
    percentile,
    progress_line,
    seeded_identity,
)
from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.records.demo import fhir_bundle
from salus.records.ingest_request import signed_headers

CHAIN = "salus-bench-rewards"
HOSPITAL = "bench-hospital"
PROGRAMME = "bench-care"
POINTS = 100  # per kept appointment: 500 cents at 5 cents a point; 15 a year under the cap
TERMS: dict[str, Any] = {
    "programme": PROGRAMME,
    "events": [{"kind": "appointment_kept", "points": POINTS}],
    "point_cents": 5, "expiry_days": 365, "custodians": "sponsor",
    "catalogue": [{"id": "parking", "code": "PARK-DAY", "points": 100, "retail_cents": 500,
                   "kind": "parking"}],
}
#: Awards a patient may get in a year under the nominal-value cap (7,500 cents).
MAX_VISITS = 7500 // (POINTS * TERMS["point_cents"])
ENCOUNTER_CLASS = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}


def _seeded(label: str, i: int) -> Identity:
    return seeded_identity(f"bench-rewards-{label}-{i}")


def patient_bundle(i: int, visits: int) -> dict[str, Any]:
    """A synthetic patient's Bundle: ``visits`` finished Encounters and one cancelled."""
    person = {"name": [{"family": f"Bench{i}", "given": ["Pat"]}], "gender": "unknown"}
    kept = [{"resourceType": "Encounter", "status": "finished", "class": ENCOUNTER_CLASS}
            for _ in range(visits)]
    missed = {"resourceType": "Encounter", "status": "cancelled", "class": ENCOUNTER_CLASS}
    return fhir_bundle(f"BENCH-RW-{i:06d}", person, *kept, missed)


class _Population(Population):
    """The benchmark's people, their nonces and tokens, against one node."""

    def __init__(self, url: str, data: Path, patients: int, feeds: int) -> None:
        super().__init__(url, Identity.load(admin_key_path(DataDir(data), HOSPITAL)), CHAIN)
        self.data = data
        self.feeds = [_seeded("feed", i) for i in range(feeds)]
        self.officer = _seeded("officer", 0)
        self.patients = [_seeded("patient", i) for i in range(patients)]

    def set_up(self, timeout: float = 60.0) -> None:
        """Staff enrolled, the programme published (and the node's service running for
        it), every patient registered and enrolled."""
        staff = [(f, "registrar") for f in self.feeds] + [(self.officer, "rewards_officer")]
        self.commit([self.admin.sign("membership", "enrol", {
            "org": HOSPITAL, "member": who.did, "roles": [role],
            "encryption_key": who.encryption_did}) for who, role in staff], "staff enrolment")
        self.commit([self.sign(self.officer, "rewards", "publish_programme", TERMS)],
                    "programme")
        self.commit([self.sign(p, "membership", "register_patient",
                               {"encryption_key": p.encryption_did}) for p in self.patients],
                    "patient registration")
        self.commit([self.sign(p, "rewards", "enrol", {"programme": PROGRAMME})
                     for p in self.patients], "enrolment")
        # The service starts when it sees the programme: it enrols its own key.
        key_file = self.data / "keys" / f"{HOSPITAL}-rewards.key"
        deadline = time.monotonic() + timeout
        while True:
            if key_file.exists():
                try:
                    if self.admin.member(Identity.load(key_file).did):
                        return
                except Exception:  # not enrolled yet (or the file is being written)
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("the node's rewards service did not start")
            time.sleep(0.1)

    def ingest_headers(self, who: Identity, patient: str, body: bytes) -> dict[str, str]:
        nonce = self.nonces[who.did] = self.nonces.get(who.did, 0) + 1
        return signed_headers(who, chain=CHAIN, custodian=HOSPITAL, patient=patient, body=body,
                              nonce=nonce, time=time.time_ns() // 1_000_000)

    def token(self, who: Identity) -> str:
        with SalusClient(self.url, who) as c:
            return c.token()


async def _ingest(pop: _Population, visits: int) -> tuple[int, float, float]:
    """Every patient's Bundle, one feed per worker. (records registered, wall-clock ms of
    the first request, seconds the ingest took)."""
    tokens = [pop.token(f) for f in pop.feeds]
    bodies = {i: json.dumps(patient_bundle(i, visits)).encode()
              for i in range(len(pop.patients))}
    todo = list(range(len(pop.patients)))
    stored = 0
    async with httpx.AsyncClient(base_url=pop.url, timeout=120,
                                 limits=httpx.Limits(max_connections=len(pop.feeds))) as client:

        async def worker(k: int) -> None:
            nonlocal stored
            while todo:
                i = todo.pop()
                patient, body = pop.patients[i].did, bodies[i]
                r = await client.post(
                    f"/v1/records/{HOSPITAL}/ingest", params={"patient": patient}, content=body,
                    headers={"Authorization": f"Bearer {tokens[k]}",
                             "Content-Type": "application/fhir+json",
                             **pop.ingest_headers(pop.feeds[k], patient, body)})
                if r.status_code != 201:
                    raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:300]}")
                stored += len(r.json()["records"])

        first_ms = time.time_ns() / 1e6
        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(len(tokens))))
        return stored, first_ms, time.perf_counter() - start


def _wait_for_awards(pop: _Population, expected: int, timeout: float) -> None:
    """Until the programme's totals count ``expected`` awards (the officer's read)."""
    deadline = time.monotonic() + timeout
    with SalusClient(pop.url, pop.officer) as officer:
        while True:
            awards = officer.rewards_totals(PROGRAMME)["awards"]
            if awards >= expected:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{awards} of {expected} awards after {timeout:g} s")
            time.sleep(0.1)


def check_statement(statement: dict[str, Any], visits: int) -> list[dict[str, Any]]:
    """The patient's awards, after checking her statement shows every visit kept and
    nothing else; raises otherwise."""
    (programme,) = statement["programmes"]
    awards = [e for e in programme["entries"] if e["kind"] == "award"]
    wrong = (programme["programme"] != PROGRAMME or len(awards) != visits
             or len(programme["entries"]) != visits
             or {e["points"] for e in awards} != {POINTS}
             or len({e["record"] for e in awards}) != visits
             or programme["balance"] != visits * POINTS or not programme["consistent"])
    if wrong:
        raise RuntimeError(f"statement of {statement['patient']}: {len(awards)} awards, "
                           f"balance {programme['balance']}, expected {visits} and "
                           f"{visits * POINTS}")
    return awards


async def _fire(url: str, requests: list[tuple[str, str]], in_flight: int,
                interval: float | None = None, *, keep: bool = False,
                path: str = "/v1/rewards/statement"
                ) -> tuple[float, list[float], list[dict[str, Any]]]:
    """GET each (patient, token) statement (or her record index, ``path``):
    ``in_flight`` workers (closed loop), or one every ``interval`` seconds (open loop).
    Returns elapsed, latencies (ms) and, with ``keep``, every answer (else each is
    checked to be 200 and hers)."""
    try:
        import aiohttp
    except ImportError:
        raise SystemExit("salus bench rewards needs aiohttp: pip install 'salus[bench]'") from None
    latencies: list[float] = []
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def one(i: int, _due: float) -> None:
            patient, token = requests[i]
            sent = time.perf_counter()
            async with client.get(path, params={"patient": patient},
                                   headers={"Authorization": f"Bearer {token}"}) as r:
                body = await r.read()
            latencies.append((time.perf_counter() - sent) * 1000)
            if r.status != 200:
                failures.append(f"{r.status} {body[:200]!r}")
            elif keep:
                answers.append(json.loads(body))
            elif f'"patient":"{patient}"'.encode() not in body.replace(b" ", b""):
                failures.append(f"not {patient}'s statement: {body[:200]!r}")

        elapsed = await drive(one, list(range(len(requests))), in_flight, interval)
    if failures:
        raise RuntimeError(f"{len(failures)} statement reads failed, first: {failures[0]}")
    return elapsed, latencies, answers


def run(patients: int = 200, visits: int = 2, feeds: int = 4, statements: int = 5_000,
        in_flight: int = 16, latency_rate: int = 200, latency_seconds: float = 5.0,
        award_timeout: float = 300.0, progress: Console | None = None) -> dict[str, Any]:
    if not 1 <= visits <= MAX_VISITS:
        raise ValueError(f"visits: 1 to {MAX_VISITS} (the annual cap allows {MAX_VISITS})")

    say = progress_line(progress)

    with tempfile.TemporaryDirectory(prefix="salus-bench-rewards-") as tmp:
        root = Path(tmp)
        init_datadir(root, CHAIN, [OrgSpec(HOSPITAL, "hospital", "Bench Hospital")])
        with ChildNode(root, "--custodian", HOSPITAL, "--no-supply") as node:
            pop = _Population(node.url, root, patients, feeds)
            try:
                say(f"publishing {PROGRAMME}; {patients} patients register and enrol ...")
                pop.set_up()
                tokens = [(p.did, pop.token(p)) for p in pop.patients]
                expected = patients * visits
                say(f"ingesting {patients} Bundles ({visits} kept visits and one cancelled "
                    f"each), {feeds} feeds in flight ...")
                records, first_ms, ingest_s = asyncio.run(_ingest(pop, visits))
                say(f"waiting for the node's service to award {expected} visits ...")
                _wait_for_awards(pop, expected, award_timeout)

                say("checking every patient's statement ...")
                _, _, answers = asyncio.run(_fire(node.url, tokens, in_flight, keep=True))
                awarded = [e for a in answers for e in check_statement(a, visits)]
                awards_s = (max(e["time"] for e in awarded) - first_ms) / 1000
                _, _, indexes = asyncio.run(_fire(node.url, tokens, in_flight, keep=True,
                                                  path="/v1/records"))
                registered = {r["id"]: r["time"] for i in indexes for r in i["records"]}
                lags = [e["time"] - registered[e["record"]] for e in awarded]

                say(f"reading {statements} statements, {in_flight} in flight ...")
                load = [tokens[i % len(tokens)] for i in range(statements)]
                read_s, busy, _ = asyncio.run(_fire(node.url, load, in_flight))

                n_lat = max(1, int(latency_rate * latency_seconds))
                say(f"offering {latency_rate} statement reads/s for {latency_seconds:g} s ...")
                lat_load = [tokens[i % len(tokens)] for i in range(n_lat)]
                lat_s, latencies, _ = asyncio.run(
                    _fire(node.url, lat_load, max(in_flight, 256), 1 / latency_rate))
            finally:
                pop.close()
    return {
        "benchmark": "rewards",
        "awards_per_s": round(expected / awards_s, 1),
        "awards_seconds": round(awards_s, 3),
        "award_lag_p50_ms": percentile(lags, 0.50),
        "award_lag_p99_ms": percentile(lags, 0.99),
        "ingest_per_s": round(records / ingest_s),
        "ingest_seconds": round(ingest_s, 3),
        "statement_per_s": round(statements / read_s),
        "statement_p50_ms": round(percentile(latencies, 0.50), 2),
        "statement_p99_ms": round(percentile(latencies, 0.99), 2),
        "offered_statement_per_s": round(n_lat / lat_s),
        "statement_p99_ms_saturated": round(percentile(busy, 0.99), 2),
        "awards": expected,
        "awards_checked": len(awarded),
        "statements_checked": len(answers),
        "records": records,
        "patients": patients,
        "visits": visits,
        "feeds": feeds,
        "statements": statements,
        "in_flight": in_flight,
        "latency_rate": latency_rate,
        "machine": machine(),
    }
