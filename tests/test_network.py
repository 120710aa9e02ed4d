"""A real network on loopback: 3 NATS servers (R3 streams) and 3 peers, under faults."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import signal
import socket
import time
from dataclasses import replace
from pathlib import Path

import httpx
import nats
import pytest
from typer.testing import CliRunner

from network_net import (
    Load,
    assert_exactly_once,
    ledger_txs,
    read_ledger,
    running_network,
    wait_converged,
)
from records_net import bundle_for, phi_in
from salus.bench.harness import patient_registrations
from salus.cli.main import app as cli
from salus.client import SalusClient
from salus.identity import Identity
from salus.ledger.log import leaf_hash
from salus.network.attestation import AttestationError, check_quorum
from salus.network.local import LocalNetwork, NetworkError
from salus.network.nats_server import process_alive
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.ordering.jetstream import ensure_stream

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    with running_network(tmp_path_factory.mktemp("network") / "net") as network:
        yield network


def _post(net: LocalNetwork, i: int, raws: list[bytes], **params) -> httpx.Response:
    return httpx.post(f"{net.peers[i].url}/v1/txs", params={"wait": True, **params},
                      json={"txs": [base64.b64encode(r).decode() for r in raws]}, timeout=60)


def _trusted_peers(net: LocalNetwork) -> dict[str, str]:
    genesis = DataDir(net.peers[0].data).genesis()
    return {p["did"]: p["org"] for p in genesis.peers}


def test_every_peer_builds_the_same_blocks_and_receipts_carry_k_of_n_attestations(net) -> None:
    chain = net.config.chain_id
    raws = patient_registrations(chain, 0, 300, int(time.time() * 1000), "same-blocks")
    for i in range(3):  # a third through each peer
        r = _post(net, i, raws[i * 100:(i + 1) * 100], attestations=3)
        assert r.status_code == 200
        for receipt in r.json()["receipts"]:
            assert receipt["status"] == "committed" and receipt["code"] == "VALID"
            orgs = check_quorum(receipt["attestations"], _trusted_peers(net), chain,
                                receipt["height"], bytes.fromhex(receipt["block_hash"]), 3)
            assert orgs == sorted(p.org for p in net.peers)
    height, _ = wait_converged(net)
    blocks = [httpx.get(f"{p.url}/v1/blocks/{height}").json() for p in net.peers]
    assert len({b["hash"] for b in blocks}) == 1
    assert len({b["signer"] for b in blocks}) == 3  # each peer signed the block it built

    # A receipt is worth only its signatures: one forged attestation fails the check.
    receipt = r.json()["receipts"][0]
    forged = [dict(a) for a in receipt["attestations"]]
    forged[0]["state_hash"] = "00" * 32
    with pytest.raises(AttestationError):
        check_quorum(forged, _trusted_peers(net), chain, receipt["height"],
                     bytes.fromhex(receipt["block_hash"]), 3)


def test_a_hospital_peer_serves_its_records_with_consent(net) -> None:
    """Each custodian's peer runs its records gateway: ingest, consent and a read, with
    the registration and the consent ordered through the network."""
    hospital = net.peers[0]
    assert hospital.org.startswith("hospital")
    admin = Identity.load(admin_key_path(DataDir(hospital.data), hospital.org))
    doctor, patient = Identity.generate(), Identity.generate()
    with SalusClient(hospital.url, admin) as a:
        assert a.call("membership", "enrol", {"org": hospital.org, "member": doctor.did,
                                              "roles": ["clinician"],
                                              "encryption_key": doctor.encryption_did}).valid
    with SalusClient(net.peers[1].url, patient) as p:  # registered through another peer
        assert p.call("membership", "register_patient",
                      {"encryption_key": patient.encryption_did}).valid
    wait_converged(net)
    with SalusClient(hospital.url, doctor) as d:
        records = d.ingest(hospital.org, patient.did, bundle_for("MRN-NET-1"))
    assert records and all(r["tx_id"] for r in records)
    with SalusClient(hospital.url, patient) as p:
        p.grant({"member": doctor.did}, ["TREAT"])
        assert {r["id"] for r in p.record_index()} == {r["record"] for r in records}
    with SalusClient(hospital.url, doctor) as d:
        first = d.read_record(hospital.org, records[0]["record"])
    assert first["resourceType"] == "Patient"
    # Every peer holds the registrations; none holds any of the record's content.
    wait_converged(net)
    for i in range(len(net.peers)):
        blobs = [raw + (detail or "").encode() for raw, detail in
                 read_ledger(net, i, "SELECT raw, detail FROM txs")]
        blobs += [key.encode() + value for key, value in
                  read_ledger(net, i, "SELECT key, value FROM state")]
        assert any(r["record"].encode() in b for b in blobs for r in records)  # registered
        assert not phi_in(blobs, ["MRN-NET-1"]), net.peers[i].org  # ... and nothing else


def test_single_transaction_messages_of_the_first_format_are_still_ordered(net) -> None:
    (raw,) = patient_registrations(net.config.chain_id, 0, 1, int(time.time() * 1000), "old-format")
    # A batch message that is not well formed is ignored by every peer alike.
    asyncio.run(_publish(net, net.config.ordering.txs_subject, b"\x01\x00\x00\x00\x09abc"))
    asyncio.run(_publish(net, net.config.ordering.tx_subject, raw))
    tx_id = leaf_hash(raw)
    deadline = time.monotonic() + 60
    while not all((tx_id, "VALID") in ledger_txs(net, i) for i in range(len(net.peers))):
        assert time.monotonic() < deadline, "the single-transaction message was not ordered"
        time.sleep(0.3)
    wait_converged(net)


async def _publish(net: LocalNetwork, subject: str, payload: bytes) -> None:
    nc = await nats.connect(net.config.ordering.servers)
    try:
        await nc.jetstream().publish(subject, payload)
    finally:
        await nc.close()


def test_a_stream_made_by_an_earlier_version_gains_the_batch_subject(tmp_path) -> None:
    net = LocalNetwork.create(tmp_path / "old", 1)
    net.start_nats(0)
    settings = net.config.ordering
    old = replace(settings.stream_config(), subjects=[settings.tx_subject, settings.cut_subject])

    async def run() -> list[str]:
        nc = await nats.connect(settings.servers)
        try:
            js = nc.jetstream()
            await js.add_stream(old)
            await ensure_stream(js, settings.stream_config())
            await js.publish(settings.txs_subject, b"\x01\x00\x00\x00\x01x")  # accepted now
            return list((await js.stream_info(settings.stream)).config.subjects or [])
        finally:
            await nc.close()

    try:
        subjects = asyncio.run(run())
    finally:
        net.stop_nats(0)
    assert sorted(subjects) == sorted([settings.tx_subject, settings.txs_subject,
                                       settings.cut_subject])


def test_bad_receipt_requests_are_refused_with_a_code(net) -> None:
    raws = patient_registrations(net.config.chain_id, 0, 1, int(time.time() * 1000), "bad-k")
    before = wait_converged(net)
    too_many = _post(net, 0, raws, attestations=4)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "BAD_REQUEST"
    no_wait = httpx.post(f"{net.peers[0].url}/v1/txs", params={"attestations": 2},
                         json={"txs": [base64.b64encode(raws[0]).decode()]})
    assert no_wait.status_code == 400 and "wait" in no_wait.json()["error"]["reason"]
    time.sleep(0.3)
    assert wait_converged(net) == before  # nothing was ordered


def test_a_nats_server_killed_during_load_does_not_stop_writes(net) -> None:
    with Load(net, [0, 1, 2], "nats-kill") as load:
        load.wait_for(300)
        net.signal_nats(0, signal.SIGKILL)
        after_kill = len(load.acked)
        load.wait_for(after_kill + 500, timeout=120)  # writes go on with 2 of 3 servers
        net.start_nats(0)
        load.wait_for(len(load.acked) + 300, timeout=120)
    wait_converged(net)
    assert_exactly_once(net, load.acked)
    _wait_cluster_healthy(net)


def test_a_peer_killed_during_load_catches_up_to_the_same_state(net) -> None:
    with Load(net, [0, 1], "peer-kill") as load:
        load.wait_for(300)
        net.signal_peer(2, signal.SIGKILL)
        load.wait_for(len(load.acked) + 600, timeout=120)  # the other two go on
        net.start_peer(2)
        load.wait_for(len(load.acked) + 200, timeout=120)
    wait_converged(net)
    assert_exactly_once(net, load.acked)


def test_a_paused_peer_catches_up_when_resumed(net) -> None:
    with Load(net, [0, 1], "peer-pause") as load:
        load.wait_for(200)
        net.signal_peer(2, signal.SIGSTOP)
        try:
            load.wait_for(len(load.acked) + 600, timeout=120)
        finally:
            net.signal_peer(2, signal.SIGCONT)
        load.wait_for(len(load.acked) + 200, timeout=120)
    wait_converged(net)
    assert_exactly_once(net, load.acked)


def test_network_status_reports_agreement(net) -> None:
    result = CliRunner().invoke(cli, ["network", "status", "--dir", str(net.root), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["agree"] is True
    assert {p["org"] for p in status["peers"]} == {p.org for p in net.peers}
    assert all(n["healthy"] for n in status["nats"])
    assert all(p["caught_up"] is True for p in status["peers"])
    first = status["peers"][0]
    assert first["stream"]["leader"] and len(first["stream"]["replicas"]) == 2


def test_a_peer_joining_after_the_stream_was_trimmed_bootstraps_from_an_export(net) -> None:
    raws = patient_registrations(net.config.chain_id, 0, 50, int(time.time() * 1000), "pre-trim")
    assert _post(net, 0, raws).status_code == 200
    wait_converged(net)
    net.stop_peer(2)
    data = net.peers[2].data
    for f in data.glob("ledger.db*"):
        f.unlink()
    # Retention removes everything the running peers have already built into blocks.
    asyncio.run(_purge(net, below=_cursor(net, 0) + 1))

    # Started on an empty ledger, the peer cannot replay; it halts and says why.
    net.start_peer(2)
    deadline = time.monotonic() + 30
    while (health := httpx.get(f"{net.peers[2].url}/health").json())["status"] != "halted":
        assert time.monotonic() < deadline, health
        time.sleep(0.2)
    assert "trimmed" in health["halted"] and "export" in health["halted"]
    net.stop_peer(2)
    for f in data.glob("ledger.db*"):
        f.unlink()

    runner = CliRunner()
    result = runner.invoke(cli, ["ledger", "import", "--data", str(data), net.peers[0].url])
    assert result.exit_code == 0, result.output
    net.start_peer(2)
    raws = patient_registrations(net.config.chain_id, 0, 50, int(time.time() * 1000), "joined")
    r = _post(net, 2, raws, attestations=3)  # the bootstrapped peer follows the stream
    assert r.status_code == 200, r.text
    assert all(x["code"] == "VALID" and len(x["attestations"]) == 3 for x in r.json()["receipts"])
    wait_converged(net)


def _cursor(net: LocalNetwork, i: int) -> int:
    ((cursor,),) = read_ledger(net, i, "SELECT cursor FROM block_cursors "
                                       "ORDER BY height DESC LIMIT 1")
    return int(cursor)


async def _purge(net: LocalNetwork, below: int | None = None, stream: str | None = None) -> None:
    """Trim a stream (the ordering stream unless named) below a sequence, or entirely."""
    nc = await nats.connect(net.config.ordering.servers)
    try:
        await nc.jetstream().purge_stream(stream or net.config.ordering.stream, seq=below)
    finally:
        await nc.close()


def test_attestations_outlive_their_trimmed_stream_and_a_restart(net) -> None:
    chain = net.config.chain_id
    now = int(time.time() * 1000)
    r = _post(net, 0, patient_registrations(chain, 0, 20, now, "archived"), attestations=3)
    assert r.status_code == 200, r.text
    old = r.json()["receipts"][0]
    net.stop_peer(1)
    away = _post(net, 0, patient_registrations(chain, 0, 20, now, "while-away"), attestations=2)
    assert away.status_code == 200, away.text
    # Retention drops every attestation, including those peer 1 has not read yet.
    asyncio.run(_purge(net, stream=net.config.ordering.attestation_stream_config().name))
    net.start_peer(1)

    # The restarted peer still answers for the old block, from its archive...
    found = httpx.get(f"{net.peers[1].url}/v1/network/attestations/{old['height']}").json()
    assert check_quorum(found["attestations"], _trusted_peers(net), chain, old["height"],
                        bytes.fromhex(old["block_hash"]), 3) == sorted(p.org for p in net.peers)
    # ... and reads on from where the stream now starts: new receipts carry all three.
    r = _post(net, 1, patient_registrations(chain, 0, 20, now, "after-trim"), attestations=3)
    assert r.status_code == 200, r.text
    assert all(x["code"] == "VALID" and len(x["attestations"]) == 3 for x in r.json()["receipts"])
    wait_converged(net)


def _wait_cluster_healthy(net: LocalNetwork, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = net.status()
        replicas = status["peers"][0].get("stream", {}).get("replicas") or []
        if all(n.get("healthy") for n in status["nats"]) and len(replicas) == 2 and all(
                r["current"] for r in replicas):
            return
        assert time.monotonic() < deadline, f"cluster did not heal: {status['nats']} {replicas}"
        time.sleep(0.5)


def test_nothing_is_left_running_after_down(tmp_path) -> None:
    with running_network(tmp_path / "small", orgs=1) as small:
        pids = json.loads(small.run_file.read_text())
        assert len(pids) == 2
    assert not small.run_file.exists()
    assert not any(process_alive(pid) for pid in pids.values())
    shutil.rmtree(tmp_path / "small")


def test_a_failed_up_leaves_nothing_running(tmp_path) -> None:
    net = LocalNetwork.create(tmp_path / "broken", 1)
    with socket.socket() as squatter:  # the peer's port is taken: the peer cannot start
        squatter.bind(("127.0.0.1", net.peers[0].port))
        squatter.listen()
        with pytest.raises(NetworkError, match="exited"):
            net.up(timeout=60)
    assert json.loads(net.run_file.read_text()) == {}
    assert not net.nats_running(0) and not net.peer_running(0)
    assert _processes_mentioning(str(net.root)) == []  # the NATS server it started is gone


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text.encode() in (proc / "cmdline").read_bytes() \
                    and process_alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_streams_wait_for_the_cluster_to_gather(tmp_path) -> None:
    """An R3 stream cannot be placed until three servers have joined; a peer starting
    first waits for them instead of giving up."""
    net = LocalNetwork.create(tmp_path / "gathering", 3)
    settings = net.config.ordering
    net.start_nats(0)
    net.start_nats(1)  # two of three: a JetStream leader, but no room for three replicas

    async def run() -> int:
        nc = await nats.connect(settings.servers[:2])
        try:
            js = nc.jetstream()
            await _meta_leader(js)
            creating = asyncio.create_task(ensure_stream(js, settings.stream_config()))
            await asyncio.sleep(2)
            assert not creating.done()  # still waiting for placement, not failed
            await asyncio.get_running_loop().run_in_executor(None, net.start_nats, 2)
            await asyncio.wait_for(creating, 60)
            return (await js.stream_info(settings.stream)).config.num_replicas
        finally:
            await nc.close()

    try:
        assert asyncio.run(run()) == 3
    finally:
        for i in range(3):
            net.stop_nats(i)


async def _meta_leader(js, timeout: float = 30.0) -> None:
    """Wait until the JetStream cluster answers account requests (it has a leader)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await js.account_info()
            return
        except Exception:
            assert asyncio.get_running_loop().time() < deadline, "no JetStream leader"
            await asyncio.sleep(0.3)
