"""Network rules that need no NATS: block cutting, refusing a tampered stream, the
divergence alarm, k-of-n receipts checked offline, block exports, genesis peers."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import GENESIS_TIME, ident
from salus.api import create_app
from salus.api.auth import TokenService
from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.ledger import transaction
from salus.ledger.export import ExportError, export_lines, import_blocks
from salus.ledger.ledger import CURSOR_META, Ledger
from salus.ledger.signatures import executable
from salus.ledger.transaction import Transaction
from salus.network.attestation import (
    Attestation,
    AttestationBook,
    AttestationError,
    check_quorum,
)
from salus.network.attestation_archive import AttestationArchive
from salus.network.peer import Peer
from salus.node.contracts import registry
from salus.node.node import Node, NodeUnavailable
from salus.ordering import batch_message
from salus.ordering.cutter import BlockCutter
from salus.ordering.jetstream import JetStreamOrderer, JetStreamSettings
from salus.ordering.orderer import Batch
from salus.ordering.signed_messages import (
    MAX_AGE_MS,
    MAX_AHEAD_MS,
    MSG_ID,
    SIGNATURE,
    SIGNER,
    TIME,
    MessageSigner,
    MessageVerifier,
    signed_bytes,
)
from salus.ordering.stream_reader import StreamMessage

ORGS = ("st-mary", "city-lab", "medboard")
PEER_KEYS = {org: ident(f"peer-{org}") for org in ORGS}
SETTINGS = JetStreamSettings(servers=["nats://127.0.0.1:1"], stream="S", subject="s")


def network_genesis() -> genesis_mod.Genesis:
    types = {"st-mary": "hospital", "city-lab": "lab", "medboard": "board"}
    orgs = [{"id": org, "name": org, "type": types[org],
             "admins": [{"did": ident(f"{org}-admin").did}]} for org in ORGS]
    return genesis_mod.build("salus-net-test", None, orgs, GENESIS_TIME,
                             peers=[{"org": o, "did": PEER_KEYS[o].did} for o in ORGS])


def registrations(n: int, label: str = "p") -> list[bytes]:
    return [transaction.encode(ident(f"{label}-{i}"), chain="salus-net-test",
                               contract="membership", method="register_patient", args={},
                               nonce=1, time=GENESIS_TIME + 1000) for i in range(n)]


def ledger_of(tmp: Path, org: str) -> Ledger:
    return Ledger.create(tmp / f"{org}.db", network_genesis(), registry(), PEER_KEYS[org])


def commit(ledger: Ledger, raws: list[bytes], time: int = GENESIS_TIME + 1000):
    txs, sig_ok = executable(raws, ledger.executor.max_tx_bytes)
    return ledger.commit(time, txs, sig_ok, cursor=len(raws))


class ScriptedStream:
    """A test double of the ordering stream: delivers the batches it is given."""

    def __init__(self, batches: list[Batch], caught_up_at: int | None = None) -> None:
        self.batches = batches
        self.caught_up_at = caught_up_at
        self.read_through_start = asyncio.Event()
        if caught_up_at is None:
            self.read_through_start.set()
        self._done = asyncio.Event()

    async def start(self, next_number: int, cursor: int | None) -> None:
        pass

    async def broadcast(self, txs: Sequence[object]) -> None:
        pass

    async def deliver(self) -> AsyncIterator[Batch]:
        for batch in self.batches:
            yield batch
            if self.caught_up_at is not None and (batch.cursor or 0) >= self.caught_up_at:
                self.read_through_start.set()
        await self._done.wait()

    async def stop(self) -> None:
        self._done.set()


def attest(ledger: Ledger, org: str, height: int = 1) -> bytes:
    row, header = ledger.block(height)
    att = Attestation.sign(PEER_KEYS[org], ledger.chain_id, height, row.hash, header.state_hash)
    return json.dumps(att.to_json()).encode()


# -- cutting -------------------------------------------------------------------------------
stream_msgs = st.lists(st.one_of(st.tuples(st.just("txs"), st.integers(1, 4)),
                                 st.tuples(st.just("cut"), st.integers(1, 12))),
                       max_size=80)


def _txs_of(seq: int, count: int) -> list[Transaction | bytes]:
    return [b"%d.%d" % (seq, i) for i in range(count)]


@settings(max_examples=200, deadline=None)
@given(stream_msgs, st.integers(1, 7), st.integers(0, 80))
def test_cutting_is_a_function_of_the_stream_alone(msgs, max_txs, restart_at) -> None:
    def run(cutter: BlockCutter, start: int) -> list[Batch]:
        out = []
        for seq, m in enumerate(msgs, start=1):
            if seq < start:
                continue
            batch = (cutter.on_txs(seq, seq * 1_000_000, _txs_of(seq, m[1])) if m[0] == "txs"
                     else cutter.on_marker(seq, seq * 1_000_000, m[1]))
            if batch is not None:
                out.append(batch)
        return out

    batches = run(BlockCutter(1, max_txs), 1)
    assert batches == run(BlockCutter(1, max_txs), 1)  # a second peer cuts the same
    delivered = [tx for b in batches for tx in b.txs]
    txs_in_stream = [tx for seq, m in enumerate(msgs, 1) if m[0] == "txs"
                     for tx in _txs_of(seq, m[1])]
    assert delivered == txs_in_stream[:len(delivered)]  # in order, none twice, none lost
    for number, b in enumerate(batches, start=1):
        cutter_msg = msgs[b.cursor - 1]
        assert b.number == number and b.txs
        # a block closes at a message boundary: never more than one message past max_txs
        assert len(b.txs) < max_txs + 4
        assert b.time == b.cursor  # the cutting message's own timestamp (here seq ms)
        assert cutter_msg[0] == "txs" or cutter_msg == ("cut", number)
        if cutter_msg[0] == "txs":
            assert len(b.txs) >= max_txs and len(b.txs) - cutter_msg[1] < max_txs
        assert b.txs[-1] == delivered[sum(len(x.txs) for x in batches[:number]) - 1]
    # A peer restarted after block k (from its stored cursor) cuts the same later blocks.
    done = [b for b in batches if b.cursor <= restart_at]
    resume = done[-1].cursor + 1 if done else 1
    assert run(BlockCutter(len(done) + 1, max_txs), resume) == batches[len(done):]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=300), max_size=40), st.integers(64, 2000))
def test_batch_messages_carry_transactions_exactly(raws, limit) -> None:
    parts = list(batch_message.chunks(raws, limit))
    assert [raw for part in parts for raw in part] == raws  # in order, nothing lost
    for part in parts:
        message = batch_message.encode(part)
        assert batch_message.decode(message) == part
        assert len(message) <= limit or len(part) == 1  # one big transaction still goes
    # Anything not exactly a batch is refused, the same way by every peer.
    for bad in (b"", b"\x02", b"\x01", b"\x01\x00\x00\x00\x00",
                b"\x01\x00\x00\x00\x05abc", b"\x01\x00\x00"):
        assert batch_message.decode(bad) is None
    if raws:
        whole = batch_message.encode(raws)
        assert batch_message.decode(whole[:-1]) is None  # truncated


# -- a tampered stream, before and after the block is stored -------------------------------
def test_a_block_that_differs_from_a_quorums_attestations_is_refused(tmp_path) -> None:
    honest = registrations(6)
    tampered = honest[:3] + registrations(1, "intruder") + honest[4:]  # one tx swapped
    a, b = ledger_of(tmp_path, "st-mary"), ledger_of(tmp_path, "city-lab")
    commit(a, honest)
    commit(b, honest)
    victim = ledger_of(tmp_path, "medboard")
    node = Node(victim, ScriptedStream([Batch(1, GENESIS_TIME + 1000, tampered, cursor=6)]))
    peer = Peer(node, PEER_KEYS["medboard"], SETTINGS, quorum=2)
    peer.receive(attest(a, "st-mary"))
    peer.receive(attest(b, "city-lab"))

    async def run() -> None:
        await node.start()
        for _ in range(200):
            if node.halted:
                break
            await asyncio.sleep(0.01)
        await node.stop()

    asyncio.run(run())
    assert node.halted and "refused" in node.halted and "st-mary" in node.halted
    assert victim.height == 0  # nothing was written
    for ledger in (a, b, victim):
        ledger.close()


def test_a_peer_outvoted_after_committing_raises_the_alarm_and_takes_no_writes(tmp_path) -> None:
    honest = registrations(4)
    a, b = ledger_of(tmp_path, "st-mary"), ledger_of(tmp_path, "city-lab")
    commit(a, honest)
    commit(b, honest)
    victim = ledger_of(tmp_path, "medboard")
    node = Node(victim, ScriptedStream([]))
    peer = Peer(node, PEER_KEYS["medboard"], SETTINGS, quorum=2)
    commit(victim, honest[:3])  # built from a stream that lost a transaction

    peer.receive(attest(a, "st-mary"))
    assert node.diverged is None and len(peer.disagreements) == 1  # one voice is not a quorum
    peer.receive(attest(b, "city-lab"))
    assert node.diverged and "st-mary" in node.diverged and "city-lab" in node.diverged
    assert b"salus_peer_diverged 1.0" in node.metrics.render()

    async def submit() -> None:
        await node.enqueue(registrations(1, "late"))

    with pytest.raises(NodeUnavailable) as refused:
        asyncio.run(submit())
    assert refused.value.code == "DIVERGED"
    assert peer.status()["diverged"] == node.diverged
    for ledger in (a, b, victim):
        ledger.close()


def test_attestations_from_strangers_or_forged_are_not_counted(tmp_path) -> None:
    a = ledger_of(tmp_path, "st-mary")
    commit(a, registrations(2))
    node = Node(ledger_of(tmp_path, "medboard"), ScriptedStream([]))
    peer = Peer(node, PEER_KEYS["medboard"], SETTINGS, quorum=2)
    row, header = a.block(1)
    stranger = Attestation.sign(ident("stranger"), a.chain_id, 1, row.hash, header.state_hash)
    with pytest.raises(AttestationError):
        peer.receive(json.dumps(stranger.to_json()).encode())
    forged = json.loads(attest(a, "st-mary"))
    forged["height"] = 2
    with pytest.raises(AttestationError):
        peer.receive(json.dumps(forged).encode())
    # What another peer publishes is read strictly: the stream loop logs and skips a
    # ValueError, where a recursion error would have stopped it.
    twice = attest(a, "st-mary").replace(b'"height": ', b'"height": 9, "height": ', 1)
    for hostile in (b"[" * 5000 + b"]" * 5000, twice):
        with pytest.raises(ValueError, match=r"nested deeper|duplicate key"):
            peer.receive(hostile)
    assert peer.book.at(1) == [] and peer.book.at(2) == []
    good = Attestation.from_json(json.loads(attest(a, "st-mary")))
    peers = {PEER_KEYS[o].did: o for o in ORGS}
    assert check_quorum([good.to_json()], peers, a.chain_id, 1, row.hash, 1) == ["st-mary"]
    with pytest.raises(AttestationError, match="2 are required"):
        check_quorum([good.to_json(), good.to_json()], peers, a.chain_id, 1, row.hash, 2)
    for bad in ({}, {"type": "x"}, {**good.to_json(), "block_hash": "zz"},
                {**good.to_json(), "height": -1}, {**good.to_json(), "signature": "%%"}):
        with pytest.raises(AttestationError):
            Attestation.from_json(bad)
    a.close()
    node.ledger.close()


# -- exports -------------------------------------------------------------------------------
def _exported(tmp_path: Path) -> tuple[Ledger, list[bytes]]:
    source = ledger_of(tmp_path, "st-mary")
    commit(source, registrations(5))
    commit(source, registrations(3, "q"), GENESIS_TIME + 2000)
    return source, list(export_lines(source.store))


def test_an_export_rebuilds_the_same_ledger_under_the_importers_own_key(tmp_path) -> None:
    source, lines = _exported(tmp_path)
    target = tmp_path / "new" / "ledger.db"
    target.parent.mkdir()
    progress: list[tuple[int, int]] = []
    height = import_blocks(lines, target, network_genesis(), registry(), PEER_KEYS["medboard"],
                           lambda done, total: progress.append((done, total)))
    rebuilt = Ledger.open(target, registry())
    assert height == 2 and progress[-1] == (2, 2)
    assert rebuilt.head_row.hash == source.head_row.hash
    assert rebuilt.head_row.signer == PEER_KEYS["medboard"].did
    assert rebuilt.ordering_cursor == 3  # the exporter's stream position at its head
    rebuilt.close()
    source.close()


def test_an_export_cut_below_the_head_carries_that_blocks_stream_position(tmp_path) -> None:
    source, _ = _exported(tmp_path)
    lines = list(export_lines(source.store, to_height=1))
    assert json.loads(lines[0])["cursor"] == source.cursor_at(1) == 5
    target = tmp_path / "cut" / "ledger.db"
    target.parent.mkdir()
    assert import_blocks(lines, target, network_genesis(), registry(), PEER_KEYS["medboard"]) == 1
    rebuilt = Ledger.open(target, registry())
    assert rebuilt.ordering_cursor == 5  # so the peer can follow the stream from there
    assert rebuilt.head_row.hash == source.block(1)[0].hash
    rebuilt.close()
    source.close()


def test_a_ledger_from_before_per_block_cursors_still_resumes_from_its_head(tmp_path) -> None:
    ledger = ledger_of(tmp_path, "st-mary")
    txs, ok = executable(registrations(2), ledger.executor.max_tx_bytes)
    ledger.commit(GENESIS_TIME + 1000, txs, ok)  # no cursor stored with the block
    ledger.store.set_meta(CURSOR_META, b"41")  # where earlier versions kept the head's
    assert ledger.ordering_cursor == 41 and ledger.cursor_at(0) is None
    ledger.close()


@pytest.mark.parametrize("tamper", ["tx", "header", "signature", "truncated", "extra"])
def test_a_tampered_export_is_refused_and_nothing_is_written(tmp_path, tamper) -> None:
    source, lines = _exported(tmp_path)
    block = json.loads(lines[2])
    if tamper == "tx":
        raw = bytearray(base64.b64decode(block["txs"][1]))
        raw[-3] ^= 1
        block["txs"][1] = base64.b64encode(raw).decode()
    elif tamper == "header":
        header = json.loads(base64.b64decode(block["header"]))
        header["time"] += 1
        block["header"] = base64.b64encode(json.dumps(header).encode()).decode()
    elif tamper == "signature":
        block["signer"] = ident("stranger").did
    lines[2] = json.dumps(block).encode() + b"\n"
    if tamper == "truncated":
        lines = lines[:2]
    elif tamper == "extra":
        lines.append(lines[2])
    target = tmp_path / "ledger.db"
    with pytest.raises(ExportError) as refused:
        import_blocks(lines, target, network_genesis(), registry(), PEER_KEYS["medboard"])
    assert ("block 2" in str(refused.value)) or tamper == "extra"
    assert not any(tmp_path.glob("ledger.db*"))
    source.close()


def test_an_export_of_another_chain_is_refused(tmp_path) -> None:
    _source, lines = _exported(tmp_path)
    other = genesis_mod.build("another", ident("o").did, [
        {"id": "x", "name": "x", "type": "hospital", "admins": [{"did": ident("x").did}]}],
        GENESIS_TIME)
    with pytest.raises(ExportError, match="another chain"):
        import_blocks(lines, tmp_path / "l.db", other, registry(), ident("o"))
    _source.close()


# -- genesis peers ---------------------------------------------------------------------------
@pytest.mark.parametrize("peers, message", [
    ([{"org": "nowhere", "did": ident("a").did}], "unknown organisation"),
    ([{"org": "st-mary", "did": "did:key:nope"}], "did:key"),
    ([{"org": "st-mary", "did": ident("a").did}] * 2, "twice"),
    ([{"org": "st-mary"}], "exactly"),
    ("all", "list"),
])
def test_genesis_peers_are_checked(peers, message) -> None:
    doc = dict(network_genesis().doc)
    doc["peers"] = peers
    with pytest.raises(genesis_mod.GenesisError, match=message):
        genesis_mod.load(doc)


def test_a_genesis_names_an_orderer_or_peers() -> None:
    doc = dict(network_genesis().doc)
    del doc["peers"]
    with pytest.raises(genesis_mod.GenesisError, match=r"orderer .* or peers"):
        genesis_mod.load(doc)
    assert network_genesis().block_signers == {k.did for k in PEER_KEYS.values()}


def test_a_key_that_is_not_a_block_signer_cannot_found_a_ledger(tmp_path) -> None:
    with pytest.raises(Exception, match="not a block signer"):
        Ledger.create(tmp_path / "l.db", network_genesis(), registry(), Identity.generate())


# -- attestations kept on disk ---------------------------------------------------------------
def test_attestations_outlive_memory_and_restarts_in_the_archive(tmp_path) -> None:
    a = ledger_of(tmp_path, "st-mary")
    for i in range(6):  # six blocks, each attested by st-mary
        commit(a, registrations(1, f"p{i}"), time=GENESIS_TIME + 1000 * (i + 1))
    atts = [Attestation.sign(PEER_KEYS["st-mary"], a.chain_id, h, a.block(h)[0].hash,
                             a.block(h)[1].state_hash) for h in range(1, 7)]
    peers = {PEER_KEYS[o].did: o for o in ORGS}
    archive = AttestationArchive(tmp_path / "attestations.db", a.chain_id)
    book = AttestationBook(peers, a.chain_id, keep_heights=2, archive=archive)
    for att in atts:
        assert book.add(att)
    archive.add(atts, stream_cursor=17)
    # Memory keeps the last heights only; older ones come back from the archive.
    assert len(book._by_height) < 6
    assert book.at(1) == [atts[0]] and book.matching(2, atts[1].block_hash) == [atts[1]]
    assert book.at(99) == []
    archive.close()

    reopened = AttestationArchive(tmp_path / "attestations.db", a.chain_id)
    assert reopened.stream_cursor == 17 and reopened.highest() == 6
    restarted = AttestationBook(peers, a.chain_id, keep_heights=2, archive=reopened)
    assert restarted.latest() == {PEER_KEYS["st-mary"].did: 6}
    for h in range(1, 7):  # every height answers after a restart, with a stream trimmed or not
        assert restarted.at(h) == [atts[h - 1]]
    assert check_quorum([x.to_json() for x in restarted.at(3)], peers, a.chain_id, 3,
                        atts[2].block_hash, 1) == ["st-mary"]
    reopened.add(atts[:1])  # a repeat changes nothing
    assert reopened.at(1) == [atts[0]] and reopened.stream_cursor == 17
    reopened.close()
    a.close()


# -- catching up before deciding on records --------------------------------------------------
def test_records_wait_until_the_peer_has_caught_up_with_the_stream(tmp_path) -> None:
    """A peer started behind the stream serves no records decision on stale state: its
    gateway answers RECORDS_UNAVAILABLE (503) until the block ending where the stream
    stood at start is committed, and opens then."""
    ledger = ledger_of(tmp_path, "medboard")
    release = asyncio.Event()

    class Behind(ScriptedStream):
        async def deliver(self) -> AsyncIterator[Batch]:
            await release.wait()  # the backlog arrives only when the test says so
            async for batch in super().deliver():
                yield batch

    stream = Behind([Batch(1, GENESIS_TIME + 1000, registrations(3), cursor=7)], caught_up_at=7)
    node = Node(ledger, stream)
    opened: list[Node] = []

    async def open_gateway(running: Node) -> object:
        opened.append(running)
        return FakeGateway()

    tokens = TokenService(PEER_KEYS["medboard"], ledger, 300, public_url="http://peer",
                          replay_file=tmp_path / "replay.db")
    app = create_app(node, tokens, open_gateway=open_gateway)

    async def run() -> tuple[int, dict, int, bool]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://peer") as c:
                before = await c.post("/v1/records/read", json={"request": "AAAA"})
                assert not node.caught_up and opened == []
                release.set()
                for _ in range(500):
                    if opened:
                        break
                    await asyncio.sleep(0.01)
                return before.status_code, before.json(), len(opened), node.caught_up

    status, body, opened_count, caught_up = asyncio.run(run())
    assert status == 503 and body["error"]["code"] == "RECORDS_UNAVAILABLE", body
    assert "catching up" in body["error"]["reason"]
    assert opened_count == 1 and caught_up and ledger.height == 1
    ledger.close()


class FakeGateway:
    """Stands in for the records gateway: this test is about when it opens."""

    async def stop(self) -> None:
        pass


def orderer_of(org: str, max_txs: int = 1000) -> JetStreamOrderer:
    """A peer's orderer with a cutter and no connection: ``_take`` is all of its reading."""
    orderer = JetStreamOrderer(SETTINGS, PEER_KEYS[org], "salus-net-test",
                               [k.did for k in PEER_KEYS.values()], name=org)
    orderer._cutter = BlockCutter(1, max_txs)
    return orderer


#: When the test's messages are signed, by the signer's clock; the stream stamps message
#: ``seq`` ``seq`` ms later unless told otherwise.
SIGNED_AT = GENESIS_TIME + 5000


def signed(seq: int, subject: str, payload: bytes, by: Identity, chain: str = "salus-net-test",
           delay_ms: int | None = None) -> StreamMessage:
    headers = MessageSigner(by, chain, clock=lambda: SIGNED_AT).headers(subject, payload)
    return at(seq, subject, payload, headers, delay_ms)


def at(seq: int, subject: str, payload: bytes, headers: dict[str, str] | None = None,
       delay_ms: int | None = None) -> StreamMessage:
    """Message ``seq`` as the stream holds it, stamped ``delay_ms`` after SIGNED_AT."""
    stamp = SIGNED_AT + (seq if delay_ms is None else delay_ms)
    return StreamMessage(seq, stamp * 1_000_000, subject, payload, headers or {})


def test_a_peer_hands_back_its_own_verified_transactions_and_only_those() -> None:
    orderer = orderer_of("st-mary")
    ours = [transaction.decode(raw) for raw in registrations(3, "ours")]
    payload = batch_message.encode([t.raw for t in ours])
    mine = signed(1, SETTINGS.txs_subject, payload, PEER_KEYS["st-mary"])
    orderer._own[mine.msg_id] = list(ours)
    theirs = registrations(2, "theirs")

    orderer._take(mine)
    orderer._take(signed(2, SETTINGS.txs_subject, batch_message.encode(theirs),
                         PEER_KEYS["city-lab"]))
    other = signed(3, SETTINGS.txs_subject, batch_message.encode(theirs), PEER_KEYS["st-mary"])
    orderer._own[other.msg_id] = list(ours)  # an id that is ours, with other bytes
    orderer._take(other)
    pending = orderer._cutter.pending
    assert pending[:3] == ours and all(isinstance(t, Transaction) for t in pending[:3])
    assert pending[3:] == theirs + theirs  # others' bytes stay bytes, verified at commit
    assert orderer._own == {}


def test_a_signature_vouches_for_exactly_its_chain_subject_time_payload_and_message_id() -> None:
    peers = [k.did for k in PEER_KEYS.values()]
    verifier = MessageVerifier("salus-net-test", peers)
    key = PEER_KEYS["city-lab"]

    def sign(by: Identity, chain: str = "salus-net-test", when: int = SIGNED_AT) -> dict[str, str]:
        return MessageSigner(by, chain, clock=lambda: when).headers("s.txs", b"payload")

    good = sign(key)
    assert verifier.signer("s.txs", b"payload", good) == key.did
    # Deterministic: the same message signed at the same time has the same id ...
    assert sign(key) == good
    # ... and nobody without the key can know the id beforehand: it is not the payload's.
    assert sign(PEER_KEYS["st-mary"])[MSG_ID] != good[MSG_ID]
    assert sign(key, when=SIGNED_AT + 1)[MSG_ID] != good[MSG_ID]
    # Fresh: the stream stamped it no more than 90 s after, or 30 s before, its time.
    assert verifier.fresh(good, SIGNED_AT + MAX_AGE_MS) and verifier.fresh(good, SIGNED_AT - MAX_AHEAD_MS)
    assert not verifier.fresh(good, SIGNED_AT + MAX_AGE_MS + 1)
    assert not verifier.fresh(good, SIGNED_AT - MAX_AHEAD_MS - 1)
    stranger, other_chain = sign(ident("stranger")), sign(key, chain="another-chain")
    forged_sig = {**good, SIGNATURE: base64.b64encode(ident("stranger").sign(
        signed_bytes("salus-net-test", "s.txs", int(good[TIME]), b"payload"))).decode()}
    refused = {
        "no headers": ("s.txs", b"payload", None),
        "no signature": ("s.txs", b"payload", {MSG_ID: good[MSG_ID]}),
        "stranger": ("s.txs", b"payload", stranger),
        "stranger claiming a peer's name": ("s.txs", b"payload", {**stranger, SIGNER: key.did}),
        "forged signature": ("s.txs", b"payload", forged_sig),
        "other payload": ("s.txs", b"payloaD", good),
        "other subject": ("s.cut", b"payload", good),
        "other chain": ("s.txs", b"payload", other_chain),
        "other message id": ("s.txs", b"payload", {**good, MSG_ID: "f" * 64}),
        "no message id": ("s.txs", b"payload", {k: v for k, v in good.items() if k != MSG_ID}),
        "not base64": ("s.txs", b"payload", {**good, SIGNATURE: "%%%"}),
        "short signature": ("s.txs", b"payload", {**good, SIGNATURE: good[SIGNATURE][:40]}),
        "huge header": ("s.txs", b"payload", {**good, SIGNATURE: "A" * 100_000}),
        "not a did": ("s.txs", b"payload", {**good, SIGNER: "did:key:zzz"}),
        "other time": ("s.txs", b"payload", {**good, TIME: str(int(good[TIME]) + 1)}),
        "no time": ("s.txs", b"payload", {k: v for k, v in good.items() if k != TIME}),
        "time not decimal": ("s.txs", b"payload", {**good, TIME: "1e9"}),
    }
    for why, (subject, payload, headers) in refused.items():
        assert verifier.signer(subject, payload, headers) is None, why
    with pytest.raises(ValueError, match="not a peer named in genesis"):
        JetStreamOrderer(SETTINGS, ident("stranger"), "salus-net-test", peers)
    with pytest.raises(ValueError, match="duplicate_window_s"):
        JetStreamSettings(servers=["nats://127.0.0.1:1"], stream="S", subject="s",
                          duplicate_window_s=60)


def test_only_what_a_genesis_peer_signed_reaches_the_cutter_on_every_peer() -> None:
    """Unsigned, foreign, tampered, stale, replayed and misdirected messages, and forged
    time-to-cut markers, are skipped by every peer alike: two peers reading the same
    stream cut the same blocks, from the genuine messages only."""
    txs, cut = SETTINGS.txs_subject, SETTINGS.cut_subject
    good = registrations(2, "good")
    junk = registrations(1, "junk")
    lab, stranger = PEER_KEYS["city-lab"], ident("stranger")
    genuine = signed(0, txs, batch_message.encode(good), lab)
    tampered = signed(0, txs, batch_message.encode(junk), lab)
    stream = [
        at(1, txs, batch_message.encode(junk)),  # unsigned
        signed(2, txs, batch_message.encode(junk), stranger),
        at(3, txs, batch_message.encode(good + junk), tampered.headers),
        signed(4, txs, batch_message.encode(junk), lab, chain="another-chain"),
        at(5, cut, batch_message.encode(junk), tampered.headers),  # wrong subject
        at(6, f"{SETTINGS.subject}.tx", junk[0]),  # the first format
        signed(7, txs, b"\x01\x00", lab),  # signed, but not a batch
        # a genuine batch: too late for the stream (signed 90 s and 1 ms before) and too
        # early (30 s and 1 ms after), so a copy published after the stream's duplicate
        # window counts no more than one under another id
        signed(8, txs, batch_message.encode(junk), lab, delay_ms=MAX_AGE_MS + 1),
        signed(9, txs, batch_message.encode(junk), lab, delay_ms=-MAX_AHEAD_MS - 1),
        at(10, txs, genuine.data, genuine.headers),  # counts
        at(11, txs, genuine.data, {**genuine.headers, MSG_ID: "replayed"}),
        at(12, cut, b"1"),  # unsigned marker
        signed(13, cut, b"1", stranger),
        signed(14, cut, b"1", lab, chain="another-chain"),
        at(15, cut, b"1", signed(0, cut, b"2", lab).headers),  # tampered
        signed(16, txs, b"1", lab),  # a marker's bytes on the transactions subject
        signed(17, cut, b"+1", lab),  # signed, but not a marker
        signed(18, cut, b"1", lab, delay_ms=MAX_AGE_MS + 1),  # a stale marker
        signed(19, cut, b"1", PEER_KEYS["medboard"], delay_ms=MAX_AGE_MS),  # the first genuine
    ]
    cuts = {}
    for org in ("st-mary", "medboard"):
        orderer = orderer_of(org)
        cuts[org] = [b for m in stream if (b := orderer._take(m)) is not None]
        assert orderer.ignored == 17
    assert cuts["st-mary"] == cuts["medboard"] == [
        Batch(1, SIGNED_AT + MAX_AGE_MS, good, cursor=19)]


class _ScriptedReader:
    """The stream as a peer's reader sees it: these reads, then nothing, for ever."""

    def __init__(self, reads: list[list[StreamMessage]]) -> None:
        self.reads = list(reads)

    async def read(self) -> list[StreamMessage]:
        if self.reads:
            return self.reads.pop(0)
        await asyncio.sleep(3600)
        return []


def test_a_peer_is_caught_up_when_the_stream_ends_in_messages_that_cut_no_block() -> None:
    """A stream whose last messages complete no block (skipped junk, transactions still
    waiting for their cut) held the peer "catching up", its records gateway closed, until
    the next block: it is caught up once it has read them, and not before the block
    before them is committed."""
    lab = PEER_KEYS["city-lab"]
    txs, cut = SETTINGS.txs_subject, SETTINGS.cut_subject
    stream = [signed(1, txs, batch_message.encode(registrations(2, "a")), lab),
              signed(2, cut, b"1", lab),  # block 1 ends here
              at(3, txs, batch_message.encode(registrations(1, "junk"))),  # unsigned: skipped
              signed(4, txs, batch_message.encode(registrations(1, "b")), lab)]  # no cut yet

    async def run() -> list[tuple[int, bool]]:
        orderer = orderer_of("st-mary")
        orderer.caught_up_at = 4
        orderer._reader = _ScriptedReader([stream[:2], stream[2:]])
        orderer._running = True
        seen = []
        deliveries = orderer.deliver()
        batch = await anext(deliveries)  # block 1, not yet committed
        seen.append((batch.number, orderer.read_through_start.is_set()))
        pending = asyncio.ensure_future(anext(deliveries))  # committed: read on
        await asyncio.wait_for(orderer.read_through_start.wait(), 5)
        seen.append((len(orderer._cutter.pending), orderer.read_through_start.is_set()))
        pending.cancel()
        orderer._cancel_timer()
        return seen

    assert asyncio.run(run()) == [(1, False), (1, True)]
