"""No flooding: failed authentications and transaction floods are refused, counted in
the node's metrics and rate-limited per client address and per signer; nothing of them
reaches a patient's access log or the ledger; memory stays bounded; the node keeps
serving.

Every client here is on loopback, but not all on 127.0.0.1: Linux routes the whole of
127.0.0.0/8 to lo, so a client that binds 127.0.0.2 before connecting is, to the node, a
different address. The node runs as `salus node` runs it (``server.build`` and
``server.uvicorn_options``), with small budgets set through ``NodeConfig``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from conftest import ident
from records_net import bundle_for
from salus.cli.main import app as cli
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.identity.assertion import ASSERTION_TYPE, client_assertion
from salus.ledger import transaction
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.node.rate_limits import Buckets, Budget, RateLimits, address_key
from salus.node.server import NodeConfig, build, uvicorn_options
from salus.ports import free_port
from servers import ServerThread

CHAIN = "salus-flood-test"
HOSPITAL = "st-mary"
#: Small enough to reach in a test, slow enough to refill that counts are exact.
FAILURES = Budget(per_second=0.5, burst=20)
PER_ADDRESS = Budget(per_second=0.1, burst=200)
PER_SIGNER = Budget(per_second=1.0, burst=5)
REFUSED_READS = Budget(per_second=0.05, burst=8)
LIMITS = RateLimits(auth_failures=FAILURES, tx_per_address=PER_ADDRESS,
                    tx_per_signer=PER_SIGNER, refused_reads=REFUSED_READS, table_size=64)


# -- serving ---------------------------------------------------------------------------
class Served(ServerThread):
    """A node as `salus node` serves it, in a thread of the test process."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.app, self.node = build(config)
        super().__init__(self.app, **uvicorn_options(config))

    def __exit__(self, *_: object) -> None:
        super().__exit__()
        self.node.ledger.close()

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        text = httpx.get(f"{self.url}/metrics").text
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}


def metric(sample: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return sample.get((name, frozenset(labels.items())), 0.0)


def http_from(address: str, url: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8)."""
    return httpx.Client(base_url=url, timeout=60,
                        transport=httpx.HTTPTransport(local_address=address))


def salus_from(address: str, url: str, who: Identity) -> SalusClient:
    client = SalusClient(url, who)
    client._http.close()
    client._http = http_from(address, url)
    return client


class HealthWatch:
    """Polls /health from its own address while a flood runs; every answer must be 200."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.codes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with http_from("127.0.0.250", self.url) as http:
            while not self._stop.is_set():
                self.codes.append(http.get("/health").status_code)
                time.sleep(0.02)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, failed: type[BaseException] | None, *_: object) -> None:
        # A flood refused fast can end between two polls: wait for the third answer
        # (at most 10 s) rather than stop with too few to say the node kept serving.
        deadline = time.monotonic() + 10
        while len(self.codes) < 3 and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.01)
        self._stop.set()
        self._thread.join(timeout=30)
        if failed is None:  # else the test's own failure says more
            assert len(self.codes) >= 3 and set(self.codes) == {200}, self.codes


# -- a hospital, a clinician, a patient with a record she shared with him ---------------
@dataclass
class Site:
    served: Served
    people: dict[str, Identity] = field(default_factory=dict)
    record: str = ""

    @property
    def url(self) -> str:
        return self.served.url

    def client(self, name: str, address: str = "127.0.0.1") -> SalusClient:
        return salus_from(address, self.url, self.people[name])

    def read_body(self, who: Identity, record: str | None = None) -> dict[str, str]:
        raw = transaction.encode(who, chain=CHAIN, contract="access", method="read",
                                 args={"custodian": HOSPITAL, "record": record or self.record,
                                       "purpose": "TREAT"},
                                 nonce=time.time_ns() // 1000, time=time.time_ns() // 1_000_000)
        return {"request": base64.b64encode(raw).decode()}

    def access_log(self) -> list[dict]:
        deadline = time.monotonic() + 10
        while not self.served.app.state.gateway.settled:
            assert time.monotonic() < deadline, "access entries did not commit"
            time.sleep(0.005)
        with self.client("patient") as me:
            return me.access_log(limit=1000)["entries"]

    def enrol(self, name: str) -> Identity:
        who = ident(f"flood-{name}")
        self.people[name] = who
        with self.client("admin") as admin:
            admin.call("membership", "enrol", {"org": HOSPITAL, "member": who.did,
                                               "roles": ["clinician"],
                                               "encryption_key": who.encryption_did})
        return who


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("flood")
    init_datadir(data, CHAIN, [OrgSpec(HOSPITAL, "hospital", "St Mary's")])
    config = NodeConfig(data, port=free_port(), block_max_wait_ms=5, rate_limits=LIMITS)
    with Served(config) as served:
        s = Site(served)
        s.people["admin"] = Identity.load(admin_key_path(DataDir(data), HOSPITAL))
        s.enrol("dr-adams")
        s.people["patient"] = patient = ident("flood-patient")
        with s.client("patient") as me:
            me.call("membership", "register_patient", {"encryption_key": patient.encryption_did})
        with s.client("dr-adams") as doc:
            stored = doc.ingest(HOSPITAL, patient.did, bundle_for("MRN-FLOOD"))
        s.record = next(r["record"] for r in stored if r["type"] == "Observation")
        with s.client("patient") as me:
            me.grant({"member": s.people["dr-adams"].did}, ["TREAT"])
        yield s


def _forged(site: Site) -> dict[str, str]:
    """dr-adams's read request with one bit of its signature flipped."""
    raw = base64.b64decode(site.read_body(site.people["dr-adams"])["request"])
    return {"request": base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode()}


# -- failed reads ------------------------------------------------------------------------
def test_a_flood_of_forged_and_non_member_reads_is_refused_counted_and_limited(site: Site) -> None:
    node = site.served.node
    log_before = site.access_log()
    leaves_before = node.ledger.log_size
    before = site.served.metrics()
    stranger = Identity.generate()  # signs properly, but is no member's key
    answers = []
    started = time.monotonic()
    with HealthWatch(site.url), http_from("127.0.0.2", site.url) as attacker:
        for i in range(250):
            body = _forged(site) if i % 2 else site.read_body(stranger)
            # a forwarded-for header names someone else each time: believed from no one
            answers.append(attacker.post("/v1/records/read", json=body,
                                         headers={"X-Forwarded-For": f"203.0.113.{i}"}))
    elapsed = time.monotonic() - started
    refused = [a for a in answers if a.status_code != 429]
    limited = [a for a in answers if a.status_code == 429]
    # Refused as the gateway refuses them, until the budget is spent (plus what refilled)
    assert {(a.status_code, a.json()["error"]["code"]) for a in refused} == {
        (401, "BAD_REQUEST_SIGNATURE"), (403, "NOT_A_MEMBER")}
    assert FAILURES.burst <= len(refused) <= FAILURES.burst + elapsed * FAILURES.per_second + 1
    assert answers[:FAILURES.burst] == refused[:FAILURES.burst]
    # ... then 429 before any work, with a time to come back
    assert len(limited) == 250 - len(refused)
    for a in limited:
        assert a.json()["error"]["code"] == "RATE_LIMITED"
        assert int(a.headers["Retry-After"]) >= 1
    # Counted, by endpoint and code
    after = site.served.metrics()

    def delta(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("salus_auth_failures_total", endpoint="records_read",
                 code="BAD_REQUEST_SIGNATURE") + delta(
        "salus_auth_failures_total", endpoint="records_read", code="NOT_A_MEMBER") == len(refused)
    assert delta("salus_rate_limited_total", limit="auth_failures") == len(limited)
    # The patient's access log and the ledger did not move
    assert site.access_log() == log_before
    assert node.ledger.log_size == leaves_before
    # A member's read from any other address is served (and audited, under their name).
    # (From the attacker's own address it is refused like the rest until the budget
    # refills: test_only_failures_spend_an_address_budget_and_it_refills.)
    with site.client("dr-adams", "127.0.0.3") as doc:
        resource = doc.read_record(HOSPITAL, site.record)
    assert resource["resourceType"] == "Observation"
    log = site.access_log()
    new = [e for e in log if e not in log_before]
    assert len(log) == len(log_before) + 1
    assert [(e["requester"], e["code"]) for e in new] == [(site.people["dr-adams"].did, "CONSENT")]


def test_a_member_cannot_flood_a_patients_access_log_with_refused_reads(site: Site) -> None:
    """Each refused read is an entry on the patient's access log and on the ledger, signed
    by the gateway: a member with no grant, reading again and again (from fresh addresses,
    with properly signed requests), wrote one entry per try. Past the member's budget of
    refusals the gateway answers 429 without deciding, so without writing anything."""
    nosy = site.enrol("dr-nosy")
    log_before = site.access_log()
    answers = []
    for i in range(3 * REFUSED_READS.burst):
        with site.client("dr-nosy", f"127.0.1.{i + 1}") as c:
            try:
                c.read_record(HOSPITAL, site.record)
                answers.append("released")
            except SalusError as exc:
                answers.append(exc.code)
    refused = [a for a in answers if a != "RATE_LIMITED"]
    assert refused == ["NO_CONSENT"] * len(refused)
    assert REFUSED_READS.burst <= len(refused) <= REFUSED_READS.burst + 1  # + what refilled
    assert answers[len(refused):] == ["RATE_LIMITED"] * (len(answers) - len(refused))
    log = site.access_log()
    new = [e for e in log if e not in log_before]
    assert [(e["requester"], e["code"]) for e in new] == [(nosy.did, "NO_CONSENT")] * len(refused)
    with http_from("127.0.1.200", site.url) as http:  # the answer says when to come back
        token = site.client("dr-nosy", "127.0.1.200").token()
        limited = http.post("/v1/records/read", json=site.read_body(nosy),
                            headers={"Authorization": f"Bearer {token}"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    # nobody else is held back: the granted clinician and the patient read on
    with site.client("dr-adams", "127.0.1.201") as doc:
        assert doc.read_record(HOSPITAL, site.record)["resourceType"] == "Observation"
    with site.client("patient", "127.0.1.202") as me:
        assert me.read_record(HOSPITAL, site.record, "PATRQT")["resourceType"] == "Observation"


def test_only_failures_spend_an_address_budget_and_it_refills(site: Site) -> None:
    address = "127.0.0.4"
    with site.client("dr-adams", address) as doc:
        for _ in range(FAILURES.burst + 10):  # more good reads than the failure budget
            doc.read_sealed(HOSPITAL, site.record)
    with http_from(address, site.url) as http:
        codes = [http.post("/v1/records/read", json=_forged(site)).status_code
                 for _ in range(FAILURES.burst)]
        assert codes == [401] * FAILURES.burst  # the whole failure budget was still there
        limited = http.post("/v1/records/read", json=site.read_body(site.people["dr-adams"]))
        assert limited.status_code == 429
        time.sleep(int(limited.headers["Retry-After"]))
        again = http.post("/v1/records/read", json=site.read_body(site.people["dr-adams"]))
        assert again.status_code == 200, again.text


def test_malformed_read_requests_count_as_failures(site: Site) -> None:
    before = site.served.metrics()
    with http_from("127.0.0.5", site.url) as http:
        answers = [http.post("/v1/records/read", json={"request": "!!!"}),
                   http.post("/v1/records/read", content=b"{not json"),
                   http.post("/v1/records/read", json={}),
                   http.post("/v1/records/read", json={"request": base64.b64encode(b"x" * 70)
                                                       .decode()}),
                   http.post("/v1/records/read", content=b"x" * 100_000)]
    assert [a.status_code for a in answers] == [400, 400, 422, 400, 413]
    after = site.served.metrics()
    counted = sum(metric(after, "salus_auth_failures_total", endpoint="records_read", code=c)
                  - metric(before, "salus_auth_failures_total", endpoint="records_read", code=c)
                  for c in ("BAD_REQUEST", "INVALID_JSON", "TOO_LARGE"))
    assert counted == len(answers)


# -- failed client assertions ------------------------------------------------------------
def _token_request(http: httpx.Client, assertion: str) -> httpx.Response:
    return http.post("/v1/auth/token", data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion})


def test_a_flood_of_bad_client_assertions_is_limited(site: Site) -> None:
    before = site.served.metrics()
    url = f"{site.url}/v1/auth/token"
    stranger = Identity.generate()
    with HealthWatch(site.url), http_from("127.0.0.6", site.url) as attacker:
        answers = [_token_request(attacker, "not-a-jwt" if i % 2 else
                                  client_assertion(stranger, url, int(time.time())))
                   for i in range(60)]
    refused = [a for a in answers if a.status_code != 429]
    assert {a.json()["error"]["code"] for a in refused} == {"INVALID_CLIENT"}
    assert FAILURES.burst <= len(refused) <= FAILURES.burst + 2
    limited = [a for a in answers if a.status_code == 429]
    assert len(limited) == 60 - len(refused)
    assert all(a.json()["error"]["code"] == "RATE_LIMITED" and "Retry-After" in a.headers
               for a in limited)
    after = site.served.metrics()
    assert metric(after, "salus_auth_failures_total", endpoint="auth_token",
                  code="INVALID_CLIENT") - metric(
        before, "salus_auth_failures_total", endpoint="auth_token",
        code="INVALID_CLIENT") == len(refused)
    # A member from another address still gets a token, and so reads
    with site.client("dr-adams", "127.0.0.7") as doc:
        assert doc.token()
        assert doc.record_index(site.people["patient"].did)


# -- transactions --------------------------------------------------------------------------
def _anchors(who: Identity, count: int, first_nonce: int = 1) -> list[bytes]:
    now = time.time_ns() // 1_000_000
    return [transaction.encode(who, chain=CHAIN, contract="notary", method="anchor",
                               args={"hash": hashlib.sha256(
                                   f"{who.did}/{first_nonce + i}".encode()).hexdigest()},
                               nonce=first_nonce + i, time=now)
            for i in range(count)]


def _txs(raws: list[bytes]) -> dict[str, list[str]]:
    return {"txs": [base64.b64encode(r).decode() for r in raws]}


def test_a_signer_over_its_budget_is_refused_and_nothing_of_it_is_ordered(site: Site) -> None:
    baker = site.enrol("dr-baker")
    ledger = site.served.node.ledger
    before = site.served.metrics()
    raws = _anchors(baker, 12)
    with http_from("127.0.0.8", site.url) as http:
        resp = http.post("/v1/txs", params={"wait": "true"}, json=_txs(raws))
        assert resp.status_code == 200
        receipts = resp.json()["receipts"]
        assert [r["code"] for r in receipts] == ["VALID"] * 5 + ["RATE_LIMITED"] * 7
        assert all(r["status"] == "refused" for r in receipts[5:])
        assert int(resp.headers["Retry-After"]) >= 1
        one = http.post("/v1/tx", params={"wait": "true"},
                        json={"tx": base64.b64encode(_anchors(baker, 1, 13)[0]).decode()})
    assert one.status_code == 429 and int(one.headers["Retry-After"]) >= 1
    assert one.json()["error"]["code"] == "RATE_LIMITED"
    assert one.json()["receipt"]["status"] == "refused"
    # never ordered: in no block, not in the log
    refused_ids = [r["tx_id"] for r in receipts[5:]] + [one.json()["receipt"]["tx_id"]]
    assert all(ledger.store.tx_by_id(bytes.fromhex(t)) is None for t in refused_ids)
    after = site.served.metrics()
    assert metric(after, "salus_tx_refused_total", code="RATE_LIMITED") - metric(
        before, "salus_tx_refused_total", code="RATE_LIMITED") == 8
    assert metric(after, "salus_rate_limited_total", limit="tx_signer") - metric(
        before, "salus_rate_limited_total", limit="tx_signer") == 8
    # Other signers are not held up by this one
    with site.client("dr-adams", "127.0.0.8") as doc:
        assert doc.call("notary", "anchor", {"hash": "ab" * 32}).valid


def test_nobody_can_spend_another_signers_budget(site: Site) -> None:
    chen = site.enrol("dr-chen")
    first, *rest = _anchors(chen, PER_SIGNER.burst)
    with http_from("127.0.0.9", site.url) as http:
        assert http.post("/v1/txs", params={"wait": "true"},
                         json=_txs([first])).json()["receipts"][0]["code"] == "VALID"
        # an attacker replays chen's transaction and forges new ones in chen's name
        forged = [bytes([r[0] ^ 1]) + r[1:] for r in _anchors(chen, 20, 100)]
        codes = {r["code"] for r in http.post("/v1/txs", json=_txs([first] * 20 + forged))
                 .json()["receipts"]}
        assert codes == {"DUPLICATE", "BAD_SIGNATURE"}
        # chen's budget is untouched: the rest of the burst goes through
        receipts = http.post("/v1/txs", params={"wait": "true"}, json=_txs(rest)).json()["receipts"]
    assert [r["code"] for r in receipts] == ["VALID"] * (PER_SIGNER.burst - 1)


def test_an_address_over_its_budget_is_refused_whole_before_decoding(site: Site) -> None:
    stranger = Identity.generate()  # not a member: every transaction is refused at ingress
    before = site.served.metrics()
    with HealthWatch(site.url), http_from("127.0.0.10", site.url) as http:
        too_big = http.post("/v1/txs", json=_txs(_anchors(stranger, PER_ADDRESS.burst + 1)))
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "TOO_LARGE"
        for k in range(PER_ADDRESS.burst // 50):
            receipts = http.post("/v1/txs", json=_txs(_anchors(stranger, 50, 1 + 50 * k))
                                 ).json()["receipts"]
            assert {r["code"] for r in receipts} == {"UNKNOWN_SIGNER"}
        over = http.post("/v1/txs", json=_txs(_anchors(stranger, 50, 1000)))
        assert over.status_code == 429 and over.json()["error"]["code"] == "RATE_LIMITED"
        assert int(over.headers["Retry-After"]) >= 1
        # once the bucket is empty, not even the body is read: 5 MB of junk gets a 429
        # as fast as the above (never the 422 that parsing it would give)
        assert http.post("/v1/tx", content=b"x" * 5_000_000).status_code == 429
    after = site.served.metrics()
    received = metric(after, "salus_tx_received_total") - metric(before, "salus_tx_received_total")
    assert received == PER_ADDRESS.burst  # the refused requests reached no ingress
    assert metric(after, "salus_rate_limited_total", limit="tx_address") - metric(
        before, "salus_rate_limited_total", limit="tx_address") == 2
    # ... while a member elsewhere is served
    with site.client("dr-adams", "127.0.0.11") as doc:
        assert doc.call("notary", "anchor", {"hash": "cd" * 32}).valid


def test_bad_submission_bodies_answer_as_before(site: Site) -> None:
    with http_from("127.0.0.12", site.url) as http:
        assert http.post("/v1/txs", json={"txs": ["!!!"]}).json()["error"]["code"] == "BAD_REQUEST"
        wrong = http.post("/v1/txs", json={"txs": "not a list"})
        assert wrong.status_code == 422 and wrong.json()["error"]["reason"].startswith("body.txs")
        assert http.post("/v1/tx", content=b"{").status_code == 400  # not JSON: INVALID_JSON


# -- forwarded addresses, and memory under many addresses and keys ---------------------------
PROXY = "127.0.0.20"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[Served]:
    """A node (no records) that believes X-Forwarded-For from one proxy address only."""
    data = tmp_path_factory.mktemp("proxied")
    init_datadir(data, CHAIN, [OrgSpec(HOSPITAL, "hospital", "St Mary's")])
    limits = RateLimits(auth_failures=Budget(0.1, 3), tx_per_address=Budget(1000, 5000),
                        tx_per_signer=Budget(1.0, 5), table_size=64)
    config = NodeConfig(data, port=free_port(), block_max_wait_ms=5, custodians=(),
                        rate_limits=limits, trusted_proxies=(PROXY,))
    with Served(config) as served:
        yield served


def _bad_token(http: httpx.Client, forwarded_for: str) -> int:
    return http.post("/v1/auth/token", data={"grant_type": "client_credentials",
                                             "client_assertion_type": ASSERTION_TYPE,
                                             "client_assertion": "junk"},
                     headers={"X-Forwarded-For": forwarded_for}).status_code


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(proxied: Served) -> None:
    with http_from("127.0.0.21", proxied.url) as direct:  # not the proxy: header ignored
        assert [_bad_token(direct, f"198.51.100.{i}") for i in range(5)] == [400] * 3 + [429] * 2
    with http_from(PROXY, proxied.url) as proxy:
        assert [_bad_token(proxy, "198.51.100.7") for _ in range(4)] == [400] * 3 + [429]
        # another client behind the proxy has its own budget
        assert _bad_token(proxy, "198.51.100.8") == 400
        # a client cannot escape by naming someone else first: the proxy appends the
        # address it saw, and the rightmost one not of a trusted proxy counts
        assert _bad_token(proxy, "192.0.2.1, 198.51.100.7") == 429
        assert _bad_token(proxy, f"198.51.100.7, {PROXY}") == 429


def test_many_addresses_and_fresh_keys_stay_within_the_table_size(proxied: Served) -> None:
    limiter = proxied.app.state.rate_limiter
    cap = limiter.limits.table_size
    with HealthWatch(proxied.url), http_from(PROXY, proxied.url) as proxy:
        codes = {_bad_token(proxy, f"10.{i // 250}.{i % 250}.1") for i in range(500)}
        assert codes == {400}  # each address had its own budget ...
        assert len(limiter.auth_failures) <= cap  # ... and the table held at most its cap
        # 300 fresh keys, each registering a patient (the one thing a non-member may do)
        now = time.time_ns() // 1_000_000
        regs = [transaction.encode(Identity.generate(), chain=CHAIN, contract="membership",
                                   method="register_patient", args={}, nonce=1, time=now)
                for _ in range(300)]
        for k in range(0, 300, 100):
            receipts = proxy.post("/v1/txs", params={"wait": "true"}, json=_txs(regs[k:k + 100]),
                                  headers={"X-Forwarded-For": "10.99.0.1"}).json()["receipts"]
            assert {r["code"] for r in receipts} == {"VALID"}
        assert len(limiter.tx_signer) <= cap
    sample = proxied.metrics()
    for limit in ("auth_failures", "tx_signer"):
        assert 0 < metric(sample, "salus_rate_limit_buckets", limit=limit) <= cap
        assert metric(sample, "salus_rate_limit_evicted_total", limit=limit) > 0


# -- the tables themselves -------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_buckets_allow_a_burst_then_the_rate() -> None:
    clock = Clock()
    table = Buckets(Budget(per_second=2.0, burst=3), 10, clock)
    assert [table.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert table.take("a") == pytest.approx(0.5)
    assert table.take("b") == 0.0  # keys are independent
    clock.now += 0.5
    assert table.take("a") == 0.0 and table.take("a") == pytest.approx(0.5)
    assert table.take("c", 4) == pytest.approx(0.5) and table.wait("c", 3) == 0.0
    # charging failures empties a bucket but never digs it deeper
    for _ in range(10):
        table.charge("d")
    assert table.wait("d") == pytest.approx(0.5)


def test_buckets_forget_refilled_keys_and_hold_at_most_their_size() -> None:
    clock = Clock()
    evicted = itertools.count()
    table = Buckets(Budget(per_second=10.0, burst=5), 1000, clock, on_evict=evicted.__next__)
    for i in range(5000):  # keys that come once and refill in 0.1 s: dropped, not evicted
        table.take(f"k{i}")
        clock.now += 0.01
    assert len(table) <= 1000 and next(evicted) == 0
    tracemalloc.start()
    try:
        for i in range(30_000):  # many fresh keys at once: held at the cap, in bounded memory
            table.take(f"did:key:z6Mk{i:044d}")
        grown, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 900 <= len(table) <= 1000 and next(evicted) > 28_000
    assert grown < 1000 * 600  # a few hundred bytes per key held, nothing per key seen


def test_addresses_count_by_host_and_ipv6_by_its_64() -> None:
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key(None) == "unknown"
    assert len(address_key("x" * 10_000)) == 100


def test_budgets_and_proxies_are_checked(tmp_path: Path) -> None:
    for bad in (lambda: Budget(-1, 10), lambda: Budget(float("nan"), 10),
                lambda: Budget(1, 0), lambda: RateLimits(table_size=0),
                lambda: NodeConfig(tmp_path, trusted_proxies=("proxy.example",))):
        with pytest.raises(ValueError):
            bad()
    result = CliRunner().invoke(cli, ["node", "--data", str(tmp_path),
                                      "--tx-burst-per-signer", "0"])
    assert result.exit_code != 0 and "burst must be at least 1" in result.output
    result = CliRunner().invoke(cli, ["node", "--data", str(tmp_path),
                                      "--trusted-proxy", "not-an-address"])
    assert result.exit_code != 0 and "not an IP address" in result.output


def test_the_api_description_still_shows_the_bodies(site: Site) -> None:
    doc = json.loads(httpx.get(f"{site.url}/openapi.json").text)
    for path, field_name in (("/v1/tx", "tx"), ("/v1/txs", "txs"), ("/v1/records/read", "request")):
        schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert field_name in schema["properties"]
