"""The sponsor's rewards service on a running node (issue 18): it awards exactly the kept
appointments and completed surveys of enrolled patients, once each, reading the sponsor's
vault; ``POST /v1/rewards/awards`` refuses whoever is not the sponsor's officer, and every
record the service would not reward; no health information in its logs or the ledger."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from records_net import RecordsNet, phi_in, start, stop
from salus.client import SalusClient, TransactionRejected
from salus.rewards.contracts.layout import event_key
from salus.rewards.service import RewardsService
from servers import node_server

CATALOGUE = [{"id": "mug", "code": "MUG-STMARY", "points": 10, "retail_cents": 800,
              "kind": "merchandise"}]
#: Marked health information in the records: none of it may reach a log or the ledger.
MARKS = ["QxMajorDepression", "QxDrPettigrew", "QxPsychiatryWing", "QxBetterOffDead",
         "QxAnaQuackenbush"]


def programme(pid: str, **changes: Any) -> dict[str, Any]:
    return {"programme": pid, "events": [{"kind": "appointment_kept", "points": 5},
                                         {"kind": "survey_completed", "points": 3}],
            "point_cents": 100, "expiry_days": 30, "catalogue": CATALOGUE, **changes}


def encounter(source: str, status: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": source, "status": status,
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                      "code": "AMB"},
            "reasonCode": [{"text": "QxMajorDepression F32.1"}],
            "participant": [{"individual": {"display": "QxDrPettigrew"}}],
            "location": [{"location": {"display": "QxPsychiatryWing"}}],
            "subject": {"display": "QxAnaQuackenbush"}}


def survey(source: str, status: str) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "id": source, "status": status,
            "questionnaire": "http://example.org/Questionnaire/phq-9",
            "item": [{"linkId": "9", "answer": [{"valueString": "QxBetterOffDead"}]}]}


def wait_for(what: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


class World:
    def __init__(self, net: RecordsNet) -> None:
        self.net = net
        self.records: dict[str, str] = {}

    @property
    def service(self) -> RewardsService:
        return self.net.app.state.rewards  # type: ignore[attr-defined, no-any-return]

    def get(self, key: str) -> Any:
        return self.net.app.state.node.ledger.state_value(key)  # type: ignore[attr-defined]

    def ingest(self, name: str, patient: str, resource: dict[str, Any],
               author: str = "dr-adams", custodian: str = "st-mary") -> str:
        with self.net.client(author) as c:
            (out,) = [r for r in c.ingest(custodian, self.net.did(patient), resource)]
        self.records[name] = out["record"]
        return str(out["record"])

    def decided(self, org: str, name: str) -> str | None:
        record = self.get(f"record/{self.records[name]}")
        return self.service.sponsors[org].decisions.decided(record["id"], record["version"])

    def awarded(self, org: str, name: str) -> bool:
        return self.get(event_key(org, self.records[name])) is not None

    def settled(self) -> None:
        """Wait until the service has decided every block so far."""
        height = self.net.app.state.node.ledger.height  # type: ignore[attr-defined]
        wait_for(lambda: self.service.idle.is_set()
                 and self.net.app.state.node.ledger.height >= height)  # type: ignore[attr-defined]
        time.sleep(0.1)
        wait_for(lambda: self.service.idle.is_set() and self.net.app.state.node.pending == 0)

    def post(self, who: str, body: dict[str, Any] | bytes) -> httpx.Response:
        with self.net.client(who) as c:
            token = c.token()
        content = body if isinstance(body, bytes) else None
        return httpx.post(f"{self.net.url}/v1/rewards/awards",
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"},
                          content=content, json=None if content else body, timeout=30)

    def awards_of(self, patient: str) -> list[dict[str, Any]]:
        ledger = self.net.app.state.node.ledger  # type: ignore[attr-defined]
        return [e for _, e in ledger.store.state_items(f"rewards/entry/{self.net.did(patient)}/")
                if e["kind"] == "award"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """St Mary's publishes a programme (its service starts then), North General another;
    ana enrols in St Mary's, ben in none; St Mary's clinician registers their records."""
    logging.getLogger("salus.rewards").setLevel(logging.INFO)
    net, server, node = start(tmp_path_factory.mktemp("rewards-svc") / "node")
    try:
        w = World(net)
        for name in ("ana", "ben", "cat"):
            net.patient(name)
        with net.client("st-mary-admin") as c:
            c.call("rewards", "publish_programme", programme("stm-keep"))
        with net.client("north-admin") as c:
            c.call("rewards", "publish_programme", programme("north-keep"))
        wait_for(lambda: {"st-mary", "north"} <= set(w.service.sponsors))
        for name in ("ana", "cat"):
            with net.client(name) as c:
                c.call("rewards", "enrol", {"programme": "stm-keep"})
        yield w
    finally:
        stop(server, node)


def test_the_service_awards_exactly_the_kept_appointments_and_surveys(world: World,
                                                                      caplog) -> None:
    caplog.set_level(logging.INFO, logger="salus.rewards")
    w = world
    w.ingest("kept", "ana", encounter("e-1", "finished"))
    w.ingest("cancelled", "ana", encounter("e-2", "cancelled"))
    w.ingest("survey", "ana", survey("q-1", "completed"))
    w.ingest("unfinished-survey", "ana", survey("q-2", "in-progress"))
    w.ingest("not-enrolled", "ben", encounter("e-3", "finished"))
    w.ingest("in-progress", "ana", encounter("e-4", "in-progress"))
    w.settled()
    assert w.awarded("st-mary", "kept") and w.awarded("st-mary", "survey")
    for name in ("cancelled", "unfinished-survey", "not-enrolled", "in-progress"):
        assert not w.awarded("st-mary", name), name
    assert w.decided("st-mary", "cancelled") == "NOT_KEPT"
    assert w.decided("st-mary", "in-progress") == "NOT_KEPT"
    assert w.decided("st-mary", "not-enrolled") is None  # quiet: no memory of strangers
    points = sorted((a["record"], a["points"]) for a in w.awards_of("ana"))
    assert points == sorted([(w.records["kept"], 5), (w.records["survey"], 3)])
    assert w.awards_of("ben") == []
    # The same encounter, amended to finished, is a new version: now it is rewarded, once.
    assert w.ingest("in-progress", "ana", encounter("e-4", "finished")) == w.records["in-progress"]
    w.settled()
    assert w.awarded("st-mary", "in-progress")
    assert w.decided("st-mary", "in-progress") == "AWARD"
    assert len(w.awards_of("ana")) == 3
    # A refusal is logged once, with its code; no health information in the log.
    text = caplog.text
    assert text.count(f"record {w.records['cancelled']} v1: NOT_KEPT") == 1
    assert not [m for m in MARKS if m in text]
    assert w.net.did("ana") not in text and w.net.did("ben") not in text


def test_awards_by_record_id_refuse_whoever_is_not_the_sponsors_officer(world: World) -> None:
    w = world
    record = w.ingest("cat-kept", "cat", encounter("e-10", "finished"))
    w.settled()
    before = len(w.awards_of("cat"))
    # A patient, a clinician, another sponsor's officer (for this sponsor's programme).
    for who in ("ana", "cat", "dr-adams"):
        resp = w.post(who, {"record": record})
        assert (resp.status_code, resp.json()["error"]["code"]) == (403, "FORBIDDEN"), who
    resp = w.post("north-admin", {"record": record, "programme": "stm-keep"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (403, "FORBIDDEN")
    # North's own service: a St Mary's record is answered as a made-up one (red team:
    # its type, custodian and patient's enrolment are not North's to learn).
    resp = w.post("north-admin", {"record": record})
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "UNKNOWN_RECORD")
    # Enrolled with North, a St Mary's record is still not North's to reward.
    with w.net.client("cat") as c:
        c.call("rewards", "enrol", {"programme": "north-keep"})
    w.ingest("cat-kept-2", "cat", encounter("e-11", "finished"))
    w.settled()
    resp = w.post("north-admin", {"record": w.records["cat-kept-2"]})
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "UNKNOWN_RECORD")
    # A patient signing an award herself: the contract drops it (FORBIDDEN, RW5).
    with w.net.client("cat") as c, pytest.raises(TransactionRejected) as refused:
        c.call("rewards", "award", {"programme": "stm-keep", "event": "appointment_kept",
                                    "record": w.records["cat-kept-2"]})
    assert refused.value.receipt.code == "FORBIDDEN"
    assert not w.awarded("north", "cat-kept")
    assert len(w.awards_of("cat")) == before + 1  # St Mary's service rewarded cat-kept-2


def test_awards_by_record_id_refuse_what_the_service_would_not_reward(world: World) -> None:
    w = world
    w.settled()
    cases = {"kept": "ALREADY_AWARDED", "cancelled": "NOT_KEPT",
             "not-enrolled": "NOT_ENROLLED", "unfinished-survey": "NOT_KEPT"}
    for name, code in cases.items():
        resp = w.post("st-mary-admin", {"record": w.records[name]})
        assert (resp.status_code, resp.json()["error"]["code"]) == (409, code), name
    resp = w.post("st-mary-admin", {"record": "r-" + "0" * 32})
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "UNKNOWN_RECORD")
    for bad in ({"record": "Encounter/e-1"}, {"record": w.records["kept"], "extra": 1},
                {"record": w.records["kept"], "programme": "NOT A PROGRAMME"}, {}):
        assert w.post("st-mary-admin", bad).status_code == 422, bad
    assert w.post("st-mary-admin", b'{"record": "' + b"r" * 5000 + b'"}').status_code == 413
    resp = w.post("st-mary-admin", {"record": w.records["kept"], "programme": "nope"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert len(w.awards_of("ana")) == 3  # nothing changed
    with SalusClient(w.net.url) as anonymous:
        assert anonymous._http.post("/v1/rewards/awards", json={}).status_code == 401


def test_an_officers_award_by_record_id_is_made_once(world: World) -> None:
    """The officer's request and the service race for a new record: one award either way."""
    w = world
    record = w.ingest("raced", "ana", survey("q-9", "completed"))
    resp = w.post("st-mary-admin", {"record": record})
    w.settled()
    if resp.status_code == 200:
        assert resp.json()["points"] == 3 and resp.json()["event"] == "survey_completed"
        assert w.get(event_key("st-mary", record))["award"] == resp.json()["tx_id"]
    else:
        assert resp.json()["error"]["code"] == "ALREADY_AWARDED"
    assert [a["record"] for a in w.awards_of("ana")].count(record) == 1


def test_no_health_information_reaches_the_ledger(world: World) -> None:
    w = world
    w.settled()
    data = w.net.data
    blobs = [p.read_bytes() for p in Path(data).glob("ledger*") if p.is_file()]
    blobs += [p.read_bytes() for p in (Path(data) / "rewards").glob("*")]
    assert blobs
    assert phi_in(blobs, MARKS) == []


def test_catch_up_after_a_restart_awards_what_was_missed_and_nothing_twice(tmp_path: Path
                                                                           ) -> None:
    data = tmp_path / "node"
    net, server, node = start(data)
    try:
        w = World(net)
        net.patient("ana")
        with net.client("st-mary-admin") as c:
            c.call("rewards", "publish_programme", programme("stm-keep"))
        wait_for(lambda: "st-mary" in w.service.sponsors)
        with net.client("ana") as c:
            c.call("rewards", "enrol", {"programme": "stm-keep"})
        w.ingest("first", "ana", encounter("e-1", "finished"))
        w.settled()
        assert w.awarded("st-mary", "first")
    finally:
        stop(server, node)

    def serve(**config: Any) -> tuple[World, Any, Any]:
        server, node = node_server(data, block_max_wait_ms=5, **config)
        server.__enter__()
        return World(RecordsNet(data, server.url, server.app, net.people)), server, node

    off, server, node = serve(rewards_orgs=())  # `salus node --no-rewards`
    try:
        assert off.net.app.state.rewards is None  # type: ignore[attr-defined]
        off.records = w.records
        off.ingest("missed", "ana", encounter("e-2", "finished"))
        off.ingest("missed-survey", "ana", survey("q-1", "completed"))
        off.ingest("missed-cancelled", "ana", encounter("e-3", "cancelled"))
        resp = off.post("st-mary-admin", {"record": off.records["missed"]})
        assert (resp.status_code, resp.json()["error"]["code"]) == (503, "REWARDS_UNAVAILABLE")
        assert not off.awarded("st-mary", "missed")
    finally:
        stop(server, node)

    service_key = None
    for restart in range(2):
        on, server, node = serve()
        try:
            on.records = off.records
            on.settled()
            assert [on.awarded("st-mary", n) for n in
                    ("first", "missed", "missed-survey", "missed-cancelled")] == \
                [True, True, True, False]
            assert len(on.awards_of("ana")) == 3
            assert on.decided("st-mary", "missed-cancelled") == "NOT_KEPT"
            did = on.service.sponsors["st-mary"].key.did
            nonce = on.get(f"nonce/{did}")
            if restart:  # the second restart signs nothing: everything was decided
                assert nonce == service_key
            service_key = nonce
        finally:
            stop(server, node)


def test_the_cli_publishes_enrols_awards_redeems_and_reverses(world: World,
                                                             tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app

    runner = CliRunner()
    keys = {}
    for name in ("st-mary-admin", "dan", "cat"):
        if name == "dan":
            world.net.patient("dan")
        keys[name] = tmp_path / f"{name}.key"
        world.net.people[name].save(keys[name])

    def salus(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--node", world.net.url])
        return result.exit_code, result.output

    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps(programme("stm-cli", events=[
        {"kind": "appointment_kept", "points": 10}])))
    code, out = salus("rewards", "programme", "publish", str(terms), "-k", str(keys["st-mary-admin"]))
    assert code == 0 and json.loads(out)["version"] == 1, out
    cash = tmp_path / "cash.json"
    cash.write_text(json.dumps(programme("stm-cash", catalogue=[
        {"id": "cash", "code": "CASH", "points": 10, "retail_cents": 500, "kind": "cash"}])))
    code, out = salus("rewards", "programme", "publish", str(cash), "-k", str(keys["st-mary-admin"]))
    assert code == 2 and "BAD_ARGUMENTS" in out and "RW3" in out
    code, out = salus("rewards", "enrol", "stm-cli", "-k", str(keys["dan"]))
    assert code == 0 and json.loads(out)["enrolled"] is True, out
    record = world.ingest("dan-kept", "dan", encounter("e-20", "finished"))
    world.settled()
    assert world.awarded("st-mary", "dan-kept")
    code, out = salus("rewards", "award", record, "-k", str(keys["st-mary-admin"]))
    assert code == 1 and "ALREADY_AWARDED" in out
    code, out = salus("rewards", "award", record, "-k", str(keys["dan"]))
    assert code == 1 and "FORBIDDEN" in out
    code, out = salus("rewards", "redeem", "stm-cli", "mug", "-k", str(keys["dan"]))
    assert code == 0 and json.loads(out)["balance"] == 0, out
    award = world.get(event_key("st-mary", record))["award"]
    code, out = salus("rewards", "reverse", award, "--reason", "entered_in_error", "-k",
                      str(keys["dan"]))
    assert code == 2 and "FORBIDDEN" in out  # a patient reverses nothing
    code, out = salus("rewards", "expire", "stm-cli", world.net.did("dan"), "-k", str(keys["cat"]))
    assert code == 2 and "FORBIDDEN" in out  # another patient's points are not hers to expire
    code, out = salus("rewards", "expire", "stm-cli", world.net.did("dan"), "-k", str(keys["dan"]))
    assert code == 2 and "CONFLICT" in out  # nothing is past its expiry
