"""A real network on loopback: 3 NATS servers (R3 streams) and 3 peers, under faults."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import nats
import pytest
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError
from typer.testing import CliRunner

from network_net import (
    Load,
    assert_exactly_once,
    ledger_txs,
    nats_as,
    publish,
    read_ledger,
    running_network,
    wait_converged,
)
from records_net import bundle_for, phi_in
from salus.bench.harness import patient_registrations
from salus.cli.main import app as cli
from salus.client import SalusClient
from salus.identity import Identity
from salus.identity.assertion import ASSERTION_TYPE, client_assertion
from salus.ledger import transaction
from salus.ledger.log import leaf_hash
from salus.network.attestation import Attestation, AttestationError, check_quorum
from salus.network.local import LocalNetwork, NetworkError
from salus.network.nats_server import process_alive
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.ordering import batch_message
from salus.ordering.jetstream import ensure_stream, login_options
from salus.ordering.orderer import OrdererUnavailable
from salus.ordering.signed_messages import MSG_ID, MessageSigner
from salus.ports import free_port, port_free

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


def test_an_assertion_made_for_one_peer_is_refused_by_the_others(net) -> None:
    """Each peer's public URL is its own (its ``api`` in its network.json): an assertion
    for one peer is no good at another (issue 14 redeemed one assertion at three)."""
    hospital = net.peers[0]
    admin = Identity.load(admin_key_path(DataDir(hospital.data), hospital.org))
    assertion = client_assertion(admin, f"{hospital.url}/v1/auth/token", int(time.time()))
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}
    for peer in net.peers:
        found = httpx.get(f"{peer.url}/.well-known/smart-configuration").json()
        assert found["token_endpoint"] == f"{peer.url}/v1/auth/token"
    for other in net.peers[1:]:  # the admin is a member there too (genesis)
        answer = httpx.post(f"{other.url}/v1/auth/token", data=form)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "INVALID_CLIENT"
        assert f"{other.url}/v1/auth/token" in answer.json()["error"]["reason"]
    assert httpx.post(f"{hospital.url}/v1/auth/token", data=form).status_code == 200


def test_unsigned_messages_of_the_earlier_formats_are_no_longer_ordered(net) -> None:
    """Changed on purpose: unsigned batches were ordered before the stream carried only
    what a genesis peer signed. (Single-transaction messages on ``<subject>.tx``, the first
    format, have no stream subject now, and peers skip those in streams made before:
    test_network_peer.py.)"""
    settings = net.config.ordering
    (unsigned,) = patient_registrations(net.config.chain_id, 0, 1, int(time.time() * 1000),
                                        "old-format")
    publish(net, [(settings.txs_subject, b"\x01\x00\x00\x00\x09abc", None),  # not a batch
                  (settings.txs_subject, batch_message.encode([unsigned]), None)])
    r = _post(net, 1, patient_registrations(net.config.chain_id, 0, 5, int(time.time() * 1000),
                                           "after-old-format"))
    assert r.status_code == 200 and all(x["code"] == "VALID" for x in r.json()["receipts"])
    wait_converged(net)
    for i in range(len(net.peers)):
        assert leaf_hash(unsigned) not in {tx_id for tx_id, _ in ledger_txs(net, i)}


def _peer_key(net: LocalNetwork, i: int) -> Identity:
    return Identity.load(DataDir(net.peers[i].data).key_file)


def _in_no_log(net: LocalNetwork, raws: list[bytes]) -> None:
    for i in range(len(net.peers)):
        ids = {tx_id for tx_id, _ in ledger_txs(net, i)}
        assert not any(leaf_hash(raw) in ids for raw in raws), net.peers[i].org


def _wait_valid_everywhere(net: LocalNetwork, raw: bytes, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not all((leaf_hash(raw), "VALID") in ledger_txs(net, i) for i in range(len(net.peers))):
        assert time.monotonic() < deadline, "the transaction was not committed on every peer"
        time.sleep(0.3)


def test_nats_refuses_anonymous_and_unknown_logins_and_holds_a_peer_to_its_subjects(net) -> None:
    settings = net.config.ordering

    async def login_refused(**login: str) -> str:
        with pytest.raises(NatsError) as refused:
            await nats.connect(settings.servers, allow_reconnect=False, connect_timeout=3,
                               max_reconnect_attempts=0, **login)
        return str(refused.value)

    async def run() -> tuple[list[str], list[Exception], list[bytes], int, int]:
        refusals = [await login_refused(),
                    await login_refused(user=net.peers[0].org, password="not-the-password"),
                    await login_refused(user="stranger", password="anything")]
        async with nats_as(net, None) as operator:
            before = (await operator.jetstream().stream_info(settings.stream)).state
        errors: list[Exception] = []
        overheard: list[bytes] = []
        async with nats_as(net, 0, errors) as peer:
            js = peer.jetstream(timeout=2)

            async def overhear(msg) -> None:
                overheard.append(msg.data)

            # Another peer's replies, and the stream's subjects as published: not for it.
            await peer.subscribe(">", cb=overhear)
            await peer.subscribe(f"_INBOX_{net.peers[1].org}.>", cb=overhear)
            attempts = [
                js.purge_stream(settings.stream),
                js.delete_stream(settings.stream),
                js.delete_msg(settings.stream, before.last_seq),
                js.update_stream(replace(settings.stream_config(), max_msgs=1)),
                js.add_stream(name="ROGUE", subjects=["rogue.>"]),
                js.publish("salus.elsewhere", b"x"),
                js.publish(f"{settings.subject}.tx", b"x"),
            ]
            for attempt in attempts:
                with pytest.raises(NatsError):  # the server says no; the request times out
                    await attempt
            async with nats_as(net, None) as operator:
                await operator.publish(f"{settings.subject}.probe", b"for the operator only")
                await operator.flush()
            await asyncio.sleep(0.5)
        async with nats_as(net, None) as operator:
            after = (await operator.jetstream().stream_info(settings.stream)).state
        return refusals, errors, overheard, before.first_seq, after.first_seq

    refusals, errors, overheard, first_before, first_after = asyncio.run(run())
    assert all("authorization violation" in r.lower() for r in refusals), refusals
    violations = " ".join(str(e).lower() for e in errors)
    for subject in ("$js.api.stream.purge.", "$js.api.stream.delete.", "$js.api.stream.msg.delete.",
                    "$js.api.stream.update.", "$js.api.stream.create.rogue", "salus.elsewhere",
                    f"{settings.subject}.tx".lower(), "subscription to \">\"",
                    f"_inbox_{net.peers[1].org}"):
        assert subject in violations, (subject, violations)
    assert overheard == []
    assert first_after == first_before  # nothing purged or deleted
    wait_converged(net)


def test_the_stream_carries_only_what_a_genesis_peer_signed(net) -> None:
    """Published under a peer's own NATS login, so NATS takes them all: an unsigned batch,
    one signed by a key that is not a genesis peer, one whose signature is over other
    bytes, one for another chain, one signed for another subject, and a genuine one
    replayed under another message id. None reaches a block; the genuine one counts
    once (a second copy would be kept as DUPLICATE); the network keeps committing."""
    settings = net.config.ordering
    chain, txs = net.config.chain_id, settings.txs_subject
    now = int(time.time() * 1000)
    t = patient_registrations(chain, 0, 7, now, "vouched")
    lab, stranger = _peer_key(net, 1), Identity.generate()
    admin = Identity.load(admin_key_path(DataDir(net.peers[1].data), net.peers[1].org))
    t[3] = transaction.encode(admin, chain=chain, contract="notary", method="anchor",
                              args={"hash": "ab" * 32}, nonce=now, time=now)

    def batch(raw: bytes) -> bytes:
        return batch_message.encode([raw])

    def sign(by: Identity, payload: bytes, subject: str = txs, chain_id: str = chain):
        return MessageSigner(by, chain_id).headers(subject, payload)

    genuine = sign(lab, batch(t[3]))
    publish(net, [
        (txs, batch(t[0]), None),
        (txs, batch(t[1]), sign(stranger, batch(t[1]))),
        (txs, batch(t[2]), sign(lab, batch(t[6]))),
        (txs, batch(t[3]), genuine),
        (txs, batch(t[3]), {**genuine, MSG_ID: "0" * 64}),
        (txs, batch(t[4]), sign(lab, batch(t[4]), chain_id="another-chain")),
        (txs, batch(t[5]), sign(lab, batch(t[5]), subject=settings.cut_subject)),
    ], peer=0)
    r = _post(net, 2, patient_registrations(chain, 0, 20, int(time.time() * 1000), "meanwhile"))
    assert r.status_code == 200 and all(x["code"] == "VALID" for x in r.json()["receipts"])
    _wait_valid_everywhere(net, t[3])
    height, _ = wait_converged(net)
    logs = [ledger_txs(net, i) for i in range(len(net.peers))]
    assert all(log == logs[0] for log in logs[1:])
    assert [code for tx_id, code in logs[0] if tx_id == leaf_hash(t[3])] == ["VALID"]  # once
    _in_no_log(net, t[:3] + t[4:])
    assert len({httpx.get(f"{p.url}/v1/blocks/{height}").json()["hash"] for p in net.peers}) == 1
    for p in net.peers:
        stream = httpx.get(f"{p.url}/v1/network/status", timeout=10).json()["stream"]
        assert stream["ignored_messages"] >= 6, (p.org, stream)


def test_a_peer_signed_batch_of_unadmitted_transactions_is_dropped_alike_by_every_peer(net) -> None:
    """A genesis peer vouches for a batch holding, beside one good registration, a
    non-member's notary anchor full of health data, a registration with an argument it
    does not declare, and a method that does not exist: every peer drops the three alike
    (same blocks, same state), and none of them is in any log or ledger file."""
    chain = net.config.chain_id
    now = int(time.time() * 1000)
    (good,) = patient_registrations(chain, 0, 1, now, "admitted")
    phi = "Ivy Smith DOB 1980-01-01 HIV positive"
    unadmitted = [
        transaction.encode(Identity.generate(), chain=chain, contract="notary", method="anchor",
                           args={"hash": phi}, nonce=1, time=now),
        transaction.encode(Identity.generate(), chain=chain, contract="membership",
                           method="register_patient", args={"diagnosis": phi}, nonce=1, time=now),
        transaction.encode(Identity.generate(), chain=chain, contract="membership",
                           method="no_such_method", args={}, nonce=1, time=now),
    ]
    payload = batch_message.encode([*unadmitted[:2], good, *unadmitted[2:]])
    subject = net.config.ordering.txs_subject
    headers = MessageSigner(_peer_key(net, 1), chain).headers(subject, payload)
    publish(net, [(subject, payload, headers)], peer=1)
    _wait_valid_everywhere(net, good)
    wait_converged(net)
    ((height,),) = read_ledger(net, 0, f"SELECT height FROM txs WHERE id = x'{leaf_hash(good).hex()}'")
    blocks = [httpx.get(f"{p.url}/v1/blocks/{height}").json() for p in net.peers]
    assert len({b["hash"] for b in blocks}) == 1
    assert len({b["header"]["state_hash"] for b in blocks}) == 1
    _in_no_log(net, unadmitted)
    for i in range(len(net.peers)):
        blobs = [raw + (detail or "").encode() for raw, detail in
                 read_ledger(net, i, "SELECT raw, detail FROM txs")]
        blobs += [key.encode() + value for key, value in
                  read_ledger(net, i, "SELECT key, value FROM state")]
        assert not phi_in(blobs, ["Ivy Smith", "HIV positive"]), net.peers[i].org


def test_attestations_on_the_stream_count_only_when_a_peer_signed_them(net) -> None:
    chain = net.config.chain_id
    r = _post(net, 0, patient_registrations(chain, 0, 5, int(time.time() * 1000), "attested"),
              attestations=3)
    assert r.status_code == 200, r.text
    receipt = r.json()["receipts"][0]
    height, block_hash = receipt["height"], bytes.fromhex(receipt["block_hash"])
    state_hash = bytes.fromhex(receipt["attestations"][0]["state_hash"])
    lab = _peer_key(net, 1)
    stranger = Attestation.sign(Identity.generate(), chain, height, block_hash, state_hash)
    forged = Attestation(chain, height + 1000, block_hash, state_hash, lab.did, b"\x00" * 64)
    subject = net.config.ordering.attest_subject
    publish(net, [(subject, json.dumps(a.to_json()).encode(), None) for a in (stranger, forged)])
    # Junk under the ids the next attestations would have had if ids were "<signer>-<height>":
    # the stream would drop the genuine ones as duplicates, and no receipt would gather 3.
    publish(net, [(subject, b"junk", {"Nats-Msg-Id": f"{did}-{h}"}) for did in _trusted_peers(net)
                  for h in range(height + 1, height + 20)])
    # Attestations of a later block come after them in the stream: once every peer holds
    # those, every peer has read (and refused) the two.
    r = _post(net, 0, patient_registrations(chain, 0, 5, int(time.time() * 1000), "later"),
              attestations=3)
    assert r.status_code == 200, r.text
    later = r.json()["receipts"][0]["height"]
    assert later < height + 20 and len(r.json()["receipts"][0]["attestations"]) == 3
    for p in net.peers:
        deadline = time.monotonic() + 60
        while len(httpx.get(f"{p.url}/v1/network/attestations/{later}").json()["attestations"]) < 3:
            assert time.monotonic() < deadline, p.org
            time.sleep(0.2)
        found = httpx.get(f"{p.url}/v1/network/attestations/{height}").json()["attestations"]
        assert sorted(a["signer"] for a in found) == sorted(_trusted_peers(net))
        assert httpx.get(f"{p.url}/v1/network/attestations/{height + 1000}").json()[
            "attestations"] == []
        status = httpx.get(f"{p.url}/v1/network/status").json()
        assert all((o["attested_height"] or 0) < height + 1000 for o in status["peers"])


def test_a_stream_made_by_an_earlier_version_gains_the_batch_subject(tmp_path) -> None:
    """Only the NATS operator may add it: a peer's login may not change a stream."""
    net = LocalNetwork.create(tmp_path / "old", 1)
    net.start_nats(0)
    settings = net.config.ordering
    old = replace(settings.stream_config(), subjects=[f"{settings.subject}.tx",
                                                      settings.cut_subject])

    async def run() -> list[str]:
        async with nats_as(net, None) as operator, nats_as(net, 0) as peer:
            js = operator.jetstream()
            await js.add_stream(old)
            with pytest.raises(OrdererUnavailable, match="NATS operator must"):
                await ensure_stream(peer.jetstream(timeout=2), settings.stream_config())
            await ensure_stream(js, settings.stream_config())
            await js.publish(settings.txs_subject, b"\x01\x00\x00\x00\x01x")  # accepted now
            return list((await js.stream_info(settings.stream)).config.subjects or [])

    try:
        subjects = asyncio.run(run())
    finally:
        net.stop_nats(0)
    assert sorted(subjects) == sorted([f"{settings.subject}.tx", settings.txs_subject,
                                       settings.cut_subject])


def test_a_stream_made_with_settings_that_could_trim_or_copy_it_is_refused(tmp_path) -> None:
    """The first peer up makes the streams, so its login may create them: a hostile
    first peer could make one that a publish header purges (rollups), that keeps ten
    messages, or whose duplicate window is too short for the freshness rule. Every
    peer checks the stream it finds and refuses such a one."""
    net = LocalNetwork.create(tmp_path / "hostile", 1)
    net.start_nats(0)
    settings = net.config.ordering

    async def run() -> str:
        async with nats_as(net, 0) as peer:
            js = peer.jetstream(timeout=5)
            await js.add_stream(replace(settings.stream_config(), allow_rollup_hdrs=True,
                                        max_msgs=10, duplicate_window=10.0))
            with pytest.raises(OrdererUnavailable) as refused:
                await ensure_stream(js, settings.stream_config(), timeout=5)
            await ensure_stream(js, settings.attestation_stream_config())  # a sound one
            await ensure_stream(js, settings.attestation_stream_config())  # ... is accepted
            return str(refused.value)

    try:
        reason = asyncio.run(run())
    finally:
        net.stop_nats(0)
    assert "allow_rollup_hdrs" in reason and "max_msgs 10" in reason, reason
    assert "duplicate_window" in reason and "recreate" in reason, reason


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
    # as a person reads it, in an 80-column terminal: no line longer, nothing cut short
    shown = subprocess.run([str(Path(sys.executable).with_name("salus")), "network", "status",
                            "--dir", str(net.root)], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "80"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80, shown.stdout
    for peer in status["peers"]:
        assert peer["org"] in shown.stdout and peer["api"] in shown.stdout
        assert peer["state_hash"][:12] in shown.stdout
    assert "all peers agree" in shown.stdout


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
    """Trim a stream (the ordering stream unless named) below a sequence, or entirely:
    what the NATS operator's retention limits do (no peer's login may)."""
    async with nats_as(net, None) as nc:
        await nc.jetstream().purge_stream(stream or net.config.ordering.stream, seq=below)


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


def test_a_network_made_before_nats_logins_is_refused_but_can_be_stopped(tmp_path) -> None:
    net = LocalNetwork.create(tmp_path / "old", 1)
    net.auth_file.unlink()  # what a directory from before NATS logins lacks
    runner = CliRunner()
    up = runner.invoke(cli, ["network", "up", "--dir", str(net.root), "--orgs", "1"])
    assert up.exit_code != 0 and "earlier version" in up.output, up.output
    assert not net.run_file.exists() or json.loads(net.run_file.read_text()) == {}
    down = runner.invoke(cli, ["network", "down", "--dir", str(net.root)])
    assert down.exit_code == 0, down.output


def test_each_peer_logs_in_as_itself_and_secrets_are_owner_only(tmp_path) -> None:
    net = LocalNetwork.create(tmp_path / "fresh", 2)
    for i, peer in enumerate(net.peers):
        own = net.peer_settings(i)
        assert own.user == peer.org and Path(own.password_file) == peer.password_file
        assert own.stream == net.config.ordering.stream  # the shared part is the same
    assert net.config.ordering.user is None  # the shared file names no login
    secrets = [net.auth_file, net.operator_password_file,
               *(p.password_file for p in net.peers)]
    net.start_nats(0)
    net.stop_nats(0)
    secrets.append(net.nats[0].config_file)
    for path in secrets:
        assert path.stat().st_mode & 0o077 == 0, path
    passwords = {path.read_text().strip() for path in secrets[1:4]}
    assert len(passwords) == 3  # operator and each peer: different passwords


def _free_run(count: int, avoid: set[int] = frozenset()) -> int:
    """A base port with ``count`` free ports from it (none in ``avoid``)."""
    for _ in range(50):
        base = free_port()
        ports = set(range(base, base + count))
        if not ports & avoid and all(port_free(p) for p in ports):
            return base
    raise AssertionError("no run of free ports")


def test_network_up_takes_the_ports_it_is_told_and_names_one_that_is_taken(tmp_path) -> None:
    runner = CliRunner()
    api = _free_run(2)
    nats_base = _free_run(6, set(range(api, api + 2)))
    ports = ["--api-port", str(api), "--nats-port", str(nats_base)]
    with socket.socket() as squatter:  # n2's cluster port is taken: nothing is made
        squatter.bind(("127.0.0.1", nats_base + 4))
        squatter.listen()
        up = runner.invoke(cli, ["network", "up", "--dir", str(tmp_path / "a"), "--orgs", "2",
                                 *ports])
        assert up.exit_code == 1, up.output
        assert (f"port {nats_base + 4} (NATS server n2's cluster port) is taken by another "
                "process; choose another --nats-port") in " ".join(up.output.split())
        assert not (tmp_path / "a").exists()
    overlap = runner.invoke(cli, ["network", "up", "--dir", str(tmp_path / "b"), "--orgs", "2",
                                  "--api-port", str(api), "--nats-port", str(api)])
    assert overlap.exit_code == 1 and "overlap" in overlap.output, overlap.output
    low = runner.invoke(cli, ["network", "up", "--dir", str(tmp_path / "b"), "--api-port", "80"])
    assert low.exit_code == 1 and "between 1024 and 65535" in low.output, low.output

    net = LocalNetwork.create(tmp_path / "c", 2, api_port=api, nats_port=nats_base)
    assert [p.port for p in net.peers] == [api, api + 1]
    assert [p["api"] for p in net.config.peers] == [f"http://127.0.0.1:{api + i}" for i in (0, 1)]
    assert [(n.client_port, n.cluster_port, n.monitor_port) for n in net.nats] == [
        (nats_base, nats_base + 1, nats_base + 2), (nats_base + 3, nats_base + 4, nats_base + 5)]
    assert net.config.ordering.servers == [f"nats://127.0.0.1:{nats_base + i}" for i in (0, 3)]
    with socket.socket() as squatter:  # taken after it was made: `up` starts nothing
        squatter.bind(("127.0.0.1", api + 1))
        squatter.listen()
        up = runner.invoke(cli, ["network", "up", "--dir", str(net.root)])
        assert up.exit_code == 1, up.output
        assert f"peer lab-2's API port {api + 1}" in " ".join(up.output.split())
    assert not net.run_file.exists()
    assert not any(net.nats_running(i) for i in range(2))


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
    first waits for them instead of giving up (and its own login may create it)."""
    net = LocalNetwork.create(tmp_path / "gathering", 3)
    settings = net.config.ordering
    net.start_nats(0)
    net.start_nats(1)  # two of three: a JetStream leader, but no room for three replicas

    async def run() -> int:
        nc = await nats.connect(settings.servers[:2], **login_options(net.peer_settings(0)))
        try:
            js = nc.jetstream(timeout=2)
            await _meta_leader(js, settings.stream)
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


async def _meta_leader(js, stream: str, timeout: float = 30.0) -> None:
    """Wait until the JetStream cluster answers stream requests (it has a leader)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await js.stream_info(stream)
            return
        except NotFoundError:  # an answer: there is a leader, and no stream yet
            return
        except Exception:
            assert asyncio.get_running_loop().time() < deadline, "no JetStream leader"
            await asyncio.sleep(0.3)
