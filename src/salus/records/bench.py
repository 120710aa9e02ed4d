"""`salus bench records`: FHIR ingest and consent-checked, audited reads, over the REST API.

1. Starts a node (one hospital custodian) in a child process; enrols ``clinicians``
   clinicians and an auditor; ``patients`` patients register themselves.
2. Ingest: each patient's FHIR Bundle (a Patient and eight clinical resources) is posted
   by a clinician to ``/v1/records/{custodian}/ingest`` with the clinician's signed
   ``records.ingest`` request, several in flight. The request is checked, every resource
   validated, encrypted into the vault and registered on the ledger (each registration
   carrying the request, checked again by the contract) before the answer;
   ``ingest_per_s`` counts registered records per second.
3. Each patient grants TREAT to the hospital's clinicians (one consent transaction).
4. Every clinician reads a panel of ``panel`` records once: the first read of a record by
   a reader wraps its key to them (``first_reads_per_s``).
5. ``reads`` pre-signed ``access.read`` requests are fired at ``/v1/records/read`` with
   ``in_flight`` outstanding: consent and role are checked at the committed height, an
   audit entry is handed to the orderer, then ciphertext and the wrapped key are
   returned (``reads_per_s``). A sample is decrypted here to prove it is the record.
6. Latency: requests offered open-loop at ``latency_rate`` per second for
   ``latency_seconds``; p50 / p99 from send to answer. (``p99_ms_saturated`` is the
   p99 of step 5, where the node runs flat out with ``in_flight`` queued.)
7. Every read must appear in the custodian's audit log on the ledger (``audited``).
"""

from __future__ import annotations

import asyncio
import base64
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
from salus.records import sealing
from salus.records.demo import LOINC, SNOMED, codeable, fhir_bundle
from salus.records.ingest_request import signed_headers

CHAIN = "salus-bench-records"
HOSPITAL = "bench-hospital"


def _seeded(label: str, i: int) -> Identity:
    return seeded_identity(f"bench-records-{label}-{i}")


def patient_bundle(i: int) -> dict[str, Any]:
    """A synthetic patient's Bundle: nine resources, none of them about a real person."""
    person = {"name": [{"family": f"Bench{i}", "given": ["Pat"]}], "gender": "unknown",
              "birthDate": f"19{40 + i % 60:02d}-0{1 + i % 9}-1{i % 10}"}
    obs = [("8480-6", "Systolic blood pressure", 110 + i % 50, "mm[Hg]"),
           ("2093-3", "Cholesterol", 150 + i % 90, "mg/dL"),
           ("4548-4", "Hemoglobin A1c", 4 + i % 6, "%")]
    return fhir_bundle(
        f"BENCH-{i:06d}", person,
        {"resourceType": "Encounter", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}},
        {"resourceType": "Condition", "code": codeable(SNOMED, "38341003", "Hypertension")},
        *({"resourceType": "Observation", "status": "final", "code": codeable(LOINC, c, d),
           "valueQuantity": {"value": v, "unit": u}} for c, d, v, u in obs),
        {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
         "medicationCodeableConcept": codeable("http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "314076", "lisinopril 10 MG Oral Tablet")},
        {"resourceType": "AllergyIntolerance",
         "code": codeable(SNOMED, "91936005", "Allergy to penicillin")},
        {"resourceType": "Immunization", "status": "completed",
         "vaccineCode": codeable("http://hl7.org/fhir/sid/cvx", "140", "Influenza"),
         "occurrenceDateTime": "2026-10-02"})


class _Population(Population):
    """The benchmark's people and their tokens, against one node."""

    def __init__(self, url: str, data: Path, patients: int, clinicians: int) -> None:
        super().__init__(url, Identity.load(admin_key_path(DataDir(data), HOSPITAL)), CHAIN)
        self.clinicians = [_seeded("clinician", i) for i in range(clinicians)]
        self.patients = [_seeded("patient", i) for i in range(patients)]
        self.auditor = _seeded("auditor", 0)

    def enrol_everyone(self) -> None:
        staff = [(c, ["clinician"]) for c in self.clinicians] + [(self.auditor, ["auditor"])]
        self.commit([self.admin.sign("membership", "enrol", {
            "org": HOSPITAL, "member": who.did, "roles": roles,
            "encryption_key": who.encryption_did}) for who, roles in staff], "enrolment")
        self.commit([self.sign(p, "membership", "register_patient",
                               {"encryption_key": p.encryption_did}) for p in self.patients],
                    "patient registration")

    def grant_clinicians(self) -> None:
        self.commit([self.sign(p, "consent", "grant", {
            "grantee": {"org": HOSPITAL, "role": "clinician"}, "purposes": ["TREAT"]})
            for p in self.patients], "consent")

    def ingest_headers(self, who: Identity, patient: str, body: bytes) -> dict[str, str]:
        nonce = self.nonces[who.did] = self.nonces.get(who.did, 0) + 1
        return signed_headers(who, chain=CHAIN, custodian=HOSPITAL, patient=patient, body=body,
                              nonce=nonce, time=time.time_ns() // 1_000_000)

    def token(self, who: Identity) -> str:
        with SalusClient(self.url, who) as c:
            return c.token()


async def _ingest(pop: _Population, in_flight: int) -> tuple[list[dict[str, Any]], float]:
    authors = pop.clinicians[:in_flight]
    tokens = [pop.token(c) for c in authors]
    todo = list(range(len(pop.patients)))
    stored: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=pop.url, timeout=120,
                                 limits=httpx.Limits(max_connections=in_flight)) as client:

        async def worker(k: int) -> None:
            while todo:
                i = todo.pop()
                patient, body = pop.patients[i].did, json.dumps(patient_bundle(i)).encode()
                r = await client.post(
                    f"/v1/records/{HOSPITAL}/ingest", params={"patient": patient}, content=body,
                    headers={"Authorization": f"Bearer {tokens[k]}",
                             "Content-Type": "application/fhir+json",
                             **pop.ingest_headers(authors[k], patient, body)})
                if r.status_code != 201:
                    raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:300]}")
                stored.extend(r.json()["records"])

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(len(tokens))))
        return stored, time.perf_counter() - start


def _read_body(pop: _Population, reader: Identity, record: str) -> bytes:
    raw = pop.sign(reader, "access", "read",
                   {"custodian": HOSPITAL, "record": record, "purpose": "TREAT"})
    return json.dumps({"request": base64.b64encode(raw).decode()}).encode()


async def _fire(url: str, bodies: list[bytes], in_flight: int, interval: float | None = None
                ) -> tuple[float, list[float], list[tuple[int, dict[str, Any]]]]:
    """POST every body to /v1/records/read: ``in_flight`` workers (closed loop), or one
    request every ``interval`` seconds (open loop). Returns elapsed, latencies (ms) and
    the first answers with their body's index (to decrypt).

    The load comes from aiohttp: on this class of machine httpx's async client tops out
    near 450 requests/s on a core, well below what the node serves, and would measure
    itself instead of the node."""
    try:
        import aiohttp
    except ImportError:
        raise SystemExit("salus bench records needs aiohttp: pip install 'salus[bench]'") from None
    latencies: list[float] = []
    sample: list[tuple[int, dict[str, Any]]] = []
    failures: list[str] = []
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def one(i: int, _due: float) -> None:
            sent = time.perf_counter()
            async with client.post("/v1/records/read", data=bodies[i], headers=headers) as r:
                body = await r.read()
            latencies.append((time.perf_counter() - sent) * 1000)
            if r.status != 200:
                failures.append(f"{r.status} {body[:200]!r}")
            elif len(sample) < 20:
                sample.append((i, json.loads(body)))

        elapsed = await drive(one, list(range(len(bodies))), in_flight, interval)
    if failures:
        raise RuntimeError(f"{len(failures)} reads failed, first: {failures[0]}")
    return elapsed, latencies, sample


def _audited(pop: _Population) -> int:
    """Entries in the custodian's audit log on the ledger, paged."""
    n, after = 0, ""
    with SalusClient(pop.url, pop.auditor) as auditor:
        while True:
            page = auditor.custodian_log(HOSPITAL, limit=1000, after=after)
            n += len(page["entries"])
            if page["next"] is None:
                return n
            after = page["next"]


def _settle(expected: int, pop: _Population, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        n = _audited(pop)
        if n >= expected or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def run(patients: int = 200, clinicians: int = 100, panel: int = 10, reads: int = 20_000,
        in_flight: int = 32, latency_rate: int = 1000, latency_seconds: float = 5.0,
        progress: Console | None = None) -> dict[str, Any]:
    say = progress_line(progress)

    with tempfile.TemporaryDirectory(prefix="salus-bench-records-") as tmp:
        root = Path(tmp)
        init_datadir(root, CHAIN, [OrgSpec(HOSPITAL, "hospital", "Bench Hospital")])
        with ChildNode(root, "--custodian", HOSPITAL, "--no-supply") as node:
            pop = _Population(node.url, root, patients, clinicians)
            try:
                say(f"enrolling {clinicians} clinicians, registering {patients} patients ...")
                pop.enrol_everyone()
                say(f"ingesting {patients} FHIR Bundles ...")
                stored, ingest_s = asyncio.run(_ingest(pop, min(8, clinicians)))
                pop.grant_clinicians()

                records = [r["record"] for r in stored]
                pairs = [(c, records[(k * panel + j) % len(records)])
                         for k, c in enumerate(pop.clinicians) for j in range(panel)]
                say(f"first reads: {len(pairs)} (clinician, record) pairs ...")
                first = [_read_body(pop, c, r) for c, r in pairs]
                first_s, _, _ = asyncio.run(_fire(node.url, first, in_flight))

                say(f"pre-signing {reads} read requests ...")
                bodies = [_read_body(pop, *pairs[i % len(pairs)]) for i in range(reads)]
                say(f"reading, {in_flight} in flight ...")
                read_s, busy, sample = asyncio.run(_fire(node.url, bodies, in_flight))
                for i, answer in sample:  # what was served is the record, for its reader
                    reader = pairs[i % len(pairs)][0]
                    key = sealing.unwrap(base64.b64decode(answer["wrapped_key"]),
                                         reader.encryption_key)
                    doc = json.loads(sealing.decrypt(key, base64.b64decode(answer["ciphertext"]),
                                                     answer["record"], answer["version"]))
                    if "resourceType" not in doc:
                        raise RuntimeError("a read did not decrypt to a FHIR resource")

                n_lat = max(1, int(latency_rate * latency_seconds))
                say(f"offering {latency_rate} reads/s for {latency_seconds:g} s ...")
                lat_bodies = [_read_body(pop, *pairs[i % len(pairs)]) for i in range(n_lat)]
                lat_s, latencies, _ = asyncio.run(
                    _fire(node.url, lat_bodies, max(in_flight, 256), 1 / latency_rate))
                total = len(first) + reads + n_lat
                say("waiting for every access to be on the ledger ...")
                audited = _settle(total, pop)
            finally:
                pop.close()
    return {
        "benchmark": "records",
        "reads_per_s": round(reads / read_s),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "offered_reads_per_s": round(n_lat / lat_s),
        "p99_ms_saturated": round(percentile(busy, 0.99), 2),
        "ingest_per_s": round(len(stored) / ingest_s),
        "first_reads_per_s": round(len(first) / first_s),
        "reads": reads,
        "records": len(stored),
        "patients": patients,
        "clinicians": clinicians,
        "in_flight": in_flight,
        "audited": audited,
        "accesses": total,
        "machine": machine(),
    }
