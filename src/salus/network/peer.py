"""A network peer: one organisation's node, attesting what it builds and checking others.

The peer is a :class:`~salus.node.node.Node` on the JetStream orderer plus three duties:

* after each block it commits, it signs an attestation (height, block hash, state hash)
  and publishes it to the attestation stream ``<subject>.attest``;
* it reads every peer's attestations from that stream into an :class:`AttestationBook`,
  which answers k-of-n receipts;
* it compares. Before storing a block it checks the block against what ``quorum``
  other organisations already attested for that height, and refuses a block that
  differs (the node halts; nothing is written). After storing one, an attestation that
  disagrees is recorded as a disagreement; if ``quorum`` organisations agree on a block
  other than this peer's, this peer has diverged: it raises the alarm (status, metrics)
  and takes no writes until an operator acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge

from salus.canonical import loads_strict
from salus.identity import Identity
from salus.ledger.block import BlockHeader
from salus.ledger.ledger import BlockRefused, CommittedBlock
from salus.network.attestation import Attestation, AttestationBook, AttestationError
from salus.network.attestation_archive import AttestationArchive
from salus.node.node import Node
from salus.ordering.jetstream import JetStreamSettings, connect, ensure_stream
from salus.ordering.stream_reader import StreamReader, StreamTrimmed

log = logging.getLogger("salus.network")

#: On start, own attestations missing from the stream are published for this many heights.
_BACKFILL = 256


@dataclass(frozen=True, slots=True)
class Disagreement:
    height: int
    org: str
    signer: str
    theirs: str  # block hash they attest
    ours: str

    def to_json(self) -> dict[str, Any]:
        return {"height": self.height, "org": self.org, "signer": self.signer,
                "their_block_hash": self.theirs, "our_block_hash": self.ours}


class Peer:
    def __init__(self, node: Node, key: Identity, settings: JetStreamSettings, quorum: int,
                 archive: AttestationArchive | None = None) -> None:
        genesis = node.ledger.genesis
        org = genesis.peer_org(key.did)
        if org is None:
            raise ValueError(f"{key.did} is not a peer named in genesis; a network peer's key "
                             "must be listed under genesis 'peers'")
        peers = {p["did"]: p["org"] for p in genesis.peers}
        #: Organisations running a peer: the n of k-of-n.
        self.org_count = len(set(peers.values()))
        if not 1 <= quorum <= self.org_count:
            raise ValueError(f"quorum must be between 1 and the number of peer organisations "
                             f"({self.org_count})")
        self.node = node
        self.key = key
        self.org = org
        self.settings = settings
        self.quorum = quorum
        self.chain_id = genesis.chain_id
        #: Attestations on disk (the peer's ``attestations.db``); owned and closed here.
        self.archive = archive
        self.book = AttestationBook(peers, self.chain_id, archive=archive)
        self.disagreements: list[Disagreement] = []
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[Attestation] = asyncio.Queue()
        self._caught_up = asyncio.Event()
        node.check_block = self.check_block
        m = node.metrics.registry
        self.diverged_gauge = Gauge("salus_peer_diverged",
                                    "1 when this peer's ledger disagrees with a quorum", registry=m)
        self.disagreements_total = Counter(
            "salus_attestation_disagreements", "Attestations that disagree with this peer's blocks",
            registry=m)
        self.attested_height = Gauge("salus_peer_attested_height",
                                     "Highest height each peer has attested", ["org"], registry=m)

    @property
    def peers(self) -> dict[str, str]:
        return self.book.peers

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._nc = await connect(self.settings, f"{self.org}-attest")
        self._js = self._nc.jetstream(timeout=self.settings.publish_timeout_s)
        stream = self.settings.attestation_stream_config()
        await ensure_stream(self._js, stream)
        start = 1 if self.archive is None else self.archive.stream_cursor + 1
        reader = StreamReader(self._js, stream.name, start, batch=1000, wait=0.25)
        blocks = self.node.subscribe_blocks(maxsize=0)
        self._tasks = [asyncio.create_task(self._read(reader), name="attest-read"),
                       asyncio.create_task(self._attest(blocks), name="attest-sign"),
                       asyncio.create_task(self._publish(), name="attest-publish")]
        self._tasks.append(asyncio.create_task(self._backfill(), name="attest-backfill"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._nc is not None:
            with contextlib.suppress(NatsError, TimeoutError, OSError):
                await self._nc.close()
        if self.archive is not None:
            self.archive.close()

    # -- attesting what this peer builds -------------------------------------------------
    def _own(self, height: int, block_hash: bytes, state_hash: bytes) -> Attestation:
        att = Attestation.sign(self.key, self.chain_id, height, block_hash, state_hash)
        self.book.add(att)  # the archive gets it when it comes back from the stream
        self.attested_height.labels(self.org).set(height)
        return att

    async def _attest(self, blocks: asyncio.Queue[CommittedBlock | None]) -> None:
        while (block := await blocks.get()) is not None:  # unbounded: never dropped
            h = block.header
            self._outbox.put_nowait(self._own(h.height, block.block_hash, h.state_hash))
            for att in self.book.at(h.height):
                self._compare(att)

    async def _backfill(self) -> None:
        """After a restart: attest recent blocks whose attestation never reached the stream."""
        await self._caught_up.wait()
        ledger = self.node.ledger
        for height in range(max(1, ledger.height - _BACKFILL + 1), ledger.height + 1):
            if any(a.signer == self.key.did for a in self.book.at(height)):
                continue
            found = ledger.block(height)
            if found is not None:
                row, header = found
                self._outbox.put_nowait(self._own(height, row.hash, header.state_hash))

    async def _publish(self) -> None:
        subject = self.settings.attest_subject
        while True:
            att = await self._outbox.get()
            payload = json.dumps(att.to_json()).encode()
            # Not "<signer>-<height>": anyone allowed to publish could take that id first
            # and the stream would drop the genuine attestation as a duplicate.
            msg_id = hashlib.sha256(att.signature).hexdigest()
            while True:
                try:
                    assert self._js is not None
                    await self._js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
                    break
                except (NatsError, TimeoutError, OSError) as exc:
                    log.info("attestation of block %d not yet published: %s", att.height, exc)
                    await asyncio.sleep(0.5)

    # -- reading everyone's ----------------------------------------------------------------
    async def _read(self, reader: StreamReader) -> None:
        while True:
            try:
                msgs = await reader.read()
            except StreamTrimmed as exc:
                # Attestations are history, not the ledger: what retention dropped is in
                # the archive if this peer ever read it, and gone from the stream if not.
                log.warning("attestation stream trimmed: reading on from sequence %d", exc.first)
                reader.next_seq = exc.first
                continue
            verified: list[Attestation] = []
            for m in msgs:
                try:
                    verified.append(self.receive(m.data))
                except (AttestationError, ValueError) as exc:
                    log.warning("ignoring attestation at stream sequence %d: %s", m.seq, exc)
            if msgs and self.archive is not None:
                self.archive.add(verified, stream_cursor=msgs[-1].seq)
            if not msgs:
                self._caught_up.set()

    def receive(self, data: bytes) -> Attestation:
        """Take one attestation as published: verify it, record it, compare it."""
        # Another peer's bytes: the strict loader (a JSONError is a ValueError, which the
        # caller logs and skips; a recursion in json.loads would stop the whole loop).
        att = Attestation.from_json(loads_strict(data))
        if att.signer not in self.peers:
            raise AttestationError(f"{att.signer} is not a peer of this chain")
        att.verify()
        if self.book.add(att):
            self.attested_height.labels(self.peers[att.signer]).set(self.book.latest()[att.signer])
            self._compare(att)
        return att

    def _compare(self, att: Attestation) -> None:
        """Compare another peer's attestation with this peer's block at that height."""
        if att.signer == self.key.did or att.height > self.node.ledger.height:
            return
        row = self.node.ledger.store.block(att.height)  # the hash is all it needs
        if row is None:
            return
        if att.block_hash == row.hash:
            return
        d = Disagreement(att.height, self.peers[att.signer], att.signer,
                         att.block_hash.hex(), row.hash.hex())
        if d in self.disagreements:
            return
        self.disagreements.append(d)
        self.disagreements_total.inc()
        log.error("peer %s attests block %d as %s; this peer has %s", d.org, d.height,
                  d.theirs[:16], d.ours[:16])
        others = self.book.matching(att.height, att.block_hash)
        if len(others) >= self.quorum and self.node.diverged is None:
            self.node.diverged = (
                f"block {att.height}: {len(others)} organisations "
                f"({', '.join(sorted(self.peers[a.signer] for a in others))}) attest hash "
                f"{att.block_hash.hex()}, this peer built {row.hash.hex()}")
            self.diverged_gauge.set(1)
            log.critical("peer diverged: %s", self.node.diverged)

    # -- before a block is stored -----------------------------------------------------------
    def check_block(self, header: BlockHeader) -> None:
        """Refuse a block that differs from one ``quorum`` organisations attested
        (runs on the commit thread, before anything is written)."""
        block_hash = header.hash()
        votes: dict[bytes, set[str]] = {}
        for att in self.book.at(header.height):
            if att.signer != self.key.did:
                votes.setdefault(att.block_hash, set()).add(self.peers[att.signer])
        for other, orgs in votes.items():
            if other != block_hash and len(orgs) >= self.quorum:
                raise BlockRefused(
                    f"this peer built block {header.height} as {block_hash.hex()}, but "
                    f"{len(orgs)} organisations ({', '.join(sorted(orgs))}) attest "
                    f"{other.hex()}: the ordering stream this peer read differs from theirs")

    # -- receipts and status ---------------------------------------------------------------
    async def attestations(self, height: int, block_hash: bytes, k: int,
                           timeout: float) -> list[Attestation]:
        return await self.book.wait_for(height, block_hash, k, timeout)

    def status(self) -> dict[str, Any]:
        ledger = self.node.ledger
        head = ledger.height
        latest = self.book.latest()
        peers = []
        for did, org in sorted(self.peers.items(), key=lambda p: p[1]):
            their = latest.get(did)
            common = min(head, their) if their is not None else None
            agrees = None
            if common is not None:
                mine = ledger.block(common)
                theirs = [a for a in self.book.at(common) if a.signer == did]
                if mine is not None and theirs:
                    agrees = theirs[0].block_hash == mine[0].hash
            peers.append({"org": org, "did": did, "attested_height": their,
                          "compared_at": common, "agrees": agrees, "self": did == self.key.did})
        return {
            "org": self.org, "did": self.key.did, "height": head,
            "caught_up": self.node.caught_up,
            "block_hash": ledger.head_row.hash.hex(), "state_hash": ledger.head.state_hash.hex(),
            "quorum": self.quorum, "diverged": self.node.diverged, "halted": self.node.halted,
            "disagreements": [d.to_json() for d in self.disagreements[-20:]], "peers": peers,
        }
