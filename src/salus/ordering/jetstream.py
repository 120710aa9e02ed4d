"""``jetstream``: ordering on a replicated NATS JetStream stream (Raft, R3).

Like Hyperledger Fabric 1.x's Kafka orderer, the ordering service is a replicated log
that no peer owns, and every peer cuts the same blocks from it (``cutter``):

* :meth:`broadcast` publishes the exact bytes of a submission's transactions together
  (``batch_message``) to ``<subject>.txs``, signed by this peer (``signed_messages``),
  with a ``Nats-Msg-Id`` derived from the signature, so the stream drops a copy within
  its duplicate window; it returns once the stream has acknowledged every message. A
  transaction ordered twice anyway (resubmitted after a timeout, or sent to two peers)
  is kept in its block as DUPLICATE the second time, or dropped if it no longer passes
  admission.
* :meth:`deliver` reads the stream from the peer's stored cursor (``stream_reader``) and
  yields the batches the cutter cuts. When a block has waited ``max_wait_ms`` this peer
  publishes a signed time-to-cut marker for it to ``<subject>.cut``; whichever peer's
  marker reaches the stream first cuts the block for everyone.

Only messages signed by a peer named in genesis count: anything else on the stream
(unsigned, signed by a stranger, signed over other bytes, the unsigned single-transaction
``<subject>.tx`` messages of the first format) is skipped by every peer alike, before the
cutter sees it. Transactions this peer published are handed back as the objects its
ingress already verified; everything else arrives as bytes and is verified by the peer
itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from salus.identity import Identity
from salus.ledger.transaction import Transaction
from salus.ordering import batch_message
from salus.ordering.cutter import BlockCutter
from salus.ordering.orderer import Batch, OrdererUnavailable
from salus.ordering.signed_messages import (
    MIN_DUPLICATE_WINDOW_S,
    MSG_ID,
    MessageSigner,
    MessageVerifier,
    signed_time,
)
from salus.ordering.stream_reader import StreamMessage, StreamReader

log = logging.getLogger("salus.ordering")

_STREAM_IN_USE = 10058  # JetStream API error: stream name already in use
_NO_PLACEMENT = 10005  # JetStream API error: no suitable peers for placement (yet)
#: The stream refuses bigger messages. A batch message is at most
#: ``batch_message.MAX_MESSAGE_BYTES`` plus one transaction (64 KiB at most) and its
#: headers; a marker or attestation is far smaller. The NATS servers' own limit is higher
#: (a block's worth), and a peer with publish rights should not fill the log faster.
MAX_STREAM_MESSAGE_BYTES = 1024 * 1024
_INBOX_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix of ``user``'s connections, so that the user may be
    allowed to subscribe to its own replies and nobody else's (see
    ``salus.network.nats_auth``)."""
    return f"_INBOX_{_INBOX_TOKEN.sub('_', user)}"


@dataclass(frozen=True)
class JetStreamSettings:
    """How to reach the stream and how to cut blocks from it. ``stream``, ``subject``,
    ``max_txs`` must be identical on every peer of a chain (they shape the blocks)."""

    servers: list[str]
    stream: str
    subject: str
    replicas: int = 3
    max_txs: int = 2000
    max_wait_ms: int = 50
    #: Retention: messages older than this are trimmed (0 keeps them for ever).
    max_age_s: int = 0
    duplicate_window_s: int = 120
    #: This peer's NATS login: a user and the file holding its password (what
    #: ``salus network up`` gives each peer), or a credentials file (.creds: a user JWT
    #: and nkey seed, for servers run in operator mode). Relative paths in network.json
    #: are read from the directory of that file.
    user: str | None = None
    password_file: str | None = None
    credentials: str | None = None
    #: TLS: the CA bundle that signed the NATS servers' certificates, and this peer's
    #: own certificate and key if the servers verify clients (mutual TLS).
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    publish_timeout_s: float = 10.0
    connect_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.servers:
            raise ValueError("at least one NATS server URL is needed")
        if self.max_txs < 1 or self.max_wait_ms < 1 or self.replicas < 1:
            raise ValueError("max_txs, max_wait_ms and replicas must be >= 1")
        if self.duplicate_window_s < MIN_DUPLICATE_WINDOW_S:
            raise ValueError(f"duplicate_window_s must be >= {MIN_DUPLICATE_WINDOW_S}: a copy "
                             "of a message must be dropped as a duplicate or be too old to count")
        if (self.user is None) != (self.password_file is None):
            raise ValueError("user and password_file go together")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")

    @property
    def txs_subject(self) -> str:
        return f"{self.subject}.txs"

    @property
    def cut_subject(self) -> str:
        return f"{self.subject}.cut"

    @property
    def attest_subject(self) -> str:
        return f"{self.subject}.attest"

    @property
    def attest_stream(self) -> str:
        return f"{self.stream}_ATTEST"

    def stream_config(self) -> StreamConfig:
        """The ordering stream: transactions and time-to-cut markers."""
        return self._stream(self.stream, [self.txs_subject, self.cut_subject])

    def attestation_stream_config(self) -> StreamConfig:
        """The peers' attestations, in a stream of their own (salus.network.peer)."""
        return self._stream(self.attest_stream, [self.attest_subject])

    def _stream(self, name: str, subjects: list[str]) -> StreamConfig:
        return StreamConfig(
            name=name, subjects=subjects, num_replicas=self.replicas, storage=StorageType.FILE,
            duplicate_window=float(self.duplicate_window_s),
            max_age=float(self.max_age_s) if self.max_age_s else None,
            max_msg_size=MAX_STREAM_MESSAGE_BYTES)

    def with_files_from(self, folder: Path) -> JetStreamSettings:
        """These settings with relative file paths (password, credentials, TLS) read
        as relative to ``folder``."""
        def resolve(path: str | None) -> str | None:
            return None if path is None else str(folder / Path(path).expanduser())
        return replace(self, password_file=resolve(self.password_file),
                       credentials=resolve(self.credentials), tls_ca=resolve(self.tls_ca),
                       tls_cert=resolve(self.tls_cert), tls_key=resolve(self.tls_key))


def login_options(settings: JetStreamSettings) -> dict[str, Any]:
    """nats-py connect options for the settings' login and TLS."""
    options: dict[str, Any] = {"user_credentials": settings.credentials}
    if settings.user is not None and settings.password_file is not None:
        try:
            password = Path(settings.password_file).read_text().strip()
        except OSError as exc:
            raise OrdererUnavailable(f"cannot read the NATS password of {settings.user}: "
                                     f"{exc}") from None
        options.update(user=settings.user, password=password,
                       inbox_prefix=inbox_prefix(settings.user))
    if settings.tls_ca or settings.tls_cert:
        tls = ssl.create_default_context(cafile=settings.tls_ca)
        if settings.tls_cert:
            tls.load_cert_chain(settings.tls_cert, settings.tls_key)
        options["tls"] = tls
    return options


async def connect(settings: JetStreamSettings, name: str) -> NatsClient:
    """A connection that reconnects for ever: the cluster may lose and regain servers."""
    login = login_options(settings)
    deadline = asyncio.get_running_loop().time() + settings.connect_timeout_s
    while True:
        try:
            return await nats.connect(
                settings.servers, name=name, allow_reconnect=True,
                max_reconnect_attempts=-1, reconnect_time_wait=0.25, connect_timeout=2,
                pending_size=64 * 1024 * 1024, **login)
        except (NatsError, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise OrdererUnavailable(
                    f"no NATS server of {', '.join(settings.servers)} answered within "
                    f"{settings.connect_timeout_s:.0f}s: {exc}") from None
            await asyncio.sleep(0.5)


#: Stream features that would let whoever may publish (or read) change what the stream
#: holds: purge it with a header, expire a message early, copy messages elsewhere, ...
_FORBIDDEN_FEATURES = ("allow_rollup_hdrs", "allow_msg_ttl", "allow_msg_schedules",
                       "allow_msg_counter", "sealed", "mirror", "sources", "republish",
                       "subject_transform")


def stream_problems(wanted: StreamConfig, found: StreamConfig) -> list[str]:
    """How an existing stream differs from ``wanted`` in ways that matter to the ledger.

    The first peer up creates the streams, so the first peer up chooses their
    configuration; every peer checks it rather than trust that peer. Retention must be
    limits-based with no limit but ``wanted``'s age (a count or size limit, or a
    work-queue or interest policy, would trim what a peer may still need), the duplicate
    window long enough for ``signed_messages``' freshness rule, and none of the features
    that let a publisher trim the stream or a copy of it feed another subject."""
    problems = []
    if found.retention not in (None, RetentionPolicy.LIMITS):
        problems.append(f"retention {found.retention}")
    for limit in ("max_msgs", "max_bytes", "max_msgs_per_subject"):
        value = getattr(found, limit)
        if value is not None and value >= 0:
            problems.append(f"{limit} {value}")
    if (found.max_age or 0) != (wanted.max_age or 0):
        problems.append(f"max_age {found.max_age or 0} s, not {wanted.max_age or 0} s")
    if (found.duplicate_window or 0) < MIN_DUPLICATE_WINDOW_S:
        problems.append(f"duplicate_window {found.duplicate_window} s")
    if (found.num_replicas or 1) < (wanted.num_replicas or 1):
        problems.append(f"{found.num_replicas} replicas, not {wanted.num_replicas}")
    problems += [feature for feature in _FORBIDDEN_FEATURES if getattr(found, feature, None)]
    return problems


async def ensure_stream(js: JetStreamContext, config: StreamConfig, timeout: float = 60.0) -> None:
    """Create the stream unless it exists; waits out a cluster still electing leaders.
    An existing stream must be one this code would have made (:func:`stream_problems`).

    A peer's NATS login may create its chain's streams (the first peer up does) but
    never update, purge or delete them; a stream made by an earlier version without a
    subject this one publishes to is updated only by a login allowed to (the NATS
    operator's)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            info = await js.stream_info(config.name)
            problems = stream_problems(config, info.config)
            if problems:
                raise OrdererUnavailable(
                    f"stream {config.name} exists with a configuration this ledger cannot "
                    f"trust: {'; '.join(problems)}. It was not made by a peer of this version; "
                    "its NATS operator must recreate it (JetStreamSettings.stream_config())")
            have = set(info.config.subjects or [])
            if not set(config.subjects or []) <= have:  # made by an earlier version
                try:
                    await js.update_stream(replace(info.config, subjects=sorted(
                        have | set(config.subjects or []))))
                except (NatsError, TimeoutError) as exc:
                    raise OrdererUnavailable(
                        f"stream {config.name} lacks subjects "
                        f"{sorted(set(config.subjects or []) - have)} and this login may not "
                        f"add them ({type(exc).__name__}); its NATS operator must") from None
            return
        except NotFoundError:
            try:
                await js.add_stream(config)
                return
            except BadRequestError as exc:
                if exc.err_code == _STREAM_IN_USE:  # another peer made it first
                    return
                if exc.err_code != _NO_PLACEMENT:
                    raise OrdererUnavailable(f"cannot create stream {config.name}: {exc}") from None
                last = exc  # the cluster has not gathered enough servers yet
            except (NatsError, TimeoutError) as exc:
                last = exc
        except (NatsError, TimeoutError) as exc:
            last = exc
        if loop.time() > deadline:
            raise OrdererUnavailable(f"stream {config.name} is not available: {last}")
        await asyncio.sleep(0.5)


def _raw(tx: Transaction | bytes) -> bytes:
    return tx.raw if isinstance(tx, Transaction) else tx


class JetStreamOrderer:
    """The ordering service as one peer sees it. ``key`` is the peer's own (a peer of
    ``peers``, the did:keys genesis names) and signs what it publishes; only what one of
    ``peers`` signed for ``chain_id`` is read."""

    def __init__(self, settings: JetStreamSettings, key: Identity, chain_id: str,
                 peers: Iterable[str], name: str = "salus-peer") -> None:
        self.settings = settings
        self.name = name
        self.verifier = MessageVerifier(chain_id, peers)
        if key.did not in self.verifier.peers:
            raise ValueError(f"{key.did} is not a peer named in genesis: the other peers "
                             "would ignore everything it publishes")
        self.signer = MessageSigner(key, chain_id)
        #: Messages read and skipped: not signed by a genesis peer, or not well formed.
        self.ignored = 0
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._reader: StreamReader | None = None
        self._cutter: BlockCutter | None = None
        #: This peer's messages not yet read back, by message id: their transactions as
        #: its ingress verified them.
        self._own: dict[str, list[Transaction | bytes]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._markers: set[asyncio.Task[None]] = set()
        self._running = False
        #: The stream's last sequence when this peer started, if it had not read that far.
        self.caught_up_at: int | None = None
        self.read_through_start = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self, next_number: int, cursor: int | None) -> None:
        if next_number > 1 and cursor is None:
            raise OrdererUnavailable(
                "this ledger has blocks but no stream position: it was not built from this "
                "stream; bootstrap the peer from a network peer's block export")
        self._nc = await connect(self.settings, self.name)
        self._js = self._nc.jetstream(timeout=self.settings.publish_timeout_s,
                                      publish_async_max_pending=20_000)
        await ensure_stream(self._js, self.settings.stream_config())
        last = (await self._js.stream_info(self.settings.stream)).state.last_seq
        self.caught_up_at = last if last > (cursor or 0) else None
        if self.caught_up_at is None:
            self.read_through_start.set()
        self._reader = StreamReader(self._js, self.settings.stream, (cursor or 0) + 1)
        self._cutter = BlockCutter(next_number, self.settings.max_txs)
        self._running = True

    async def stop(self) -> None:
        self._running = False
        self._cancel_timer()
        for task in list(self._markers):
            task.cancel()
        if self._reader is not None:
            with contextlib.suppress(NatsError, TimeoutError, OSError):
                await self._reader.close()
        if self._nc is not None:
            with contextlib.suppress(NatsError, TimeoutError, OSError):
                await self._nc.close()

    @property
    def backlog(self) -> int:
        """Transactions read from the stream and not yet in a block."""
        return len(self._cutter.pending) if self._cutter else 0

    # -- broadcast -----------------------------------------------------------------------
    async def broadcast(self, txs: Sequence[Transaction | bytes]) -> None:
        if not self._running or self._js is None:
            raise OrdererUnavailable("the orderer is stopped")
        subject = self.settings.txs_subject
        pending: list[asyncio.Future[Any]] = []
        items = list(txs)
        sent: list[str] = []
        start = 0
        try:
            for part in batch_message.chunks([_raw(tx) for tx in items]):
                own, start = items[start : start + len(part)], start + len(part)
                payload = batch_message.encode(part)
                headers = self.signer.headers(subject, payload)
                msg_id = headers[MSG_ID]
                self._own[msg_id] = own
                sent.append(msg_id)
                pending.append(await self._js.publish_async(subject, payload, headers=headers))
            await asyncio.wait_for(asyncio.gather(*pending), self.settings.publish_timeout_s)
        except (NatsError, TimeoutError, OSError) as exc:
            for fut in pending:
                fut.cancel()
            for msg_id in sent:
                self._own.pop(msg_id, None)
            raise OrdererUnavailable(
                f"the ordering stream did not accept the transactions ({type(exc).__name__}: "
                f"{exc or 'timed out'}); retry shortly") from None

    # -- deliver -------------------------------------------------------------------------
    async def deliver(self) -> AsyncIterator[Batch]:
        assert self._reader is not None and self._cutter is not None
        while self._running:
            msgs = await self._reader.read()
            for m in msgs:
                batch = self._take(m)
                if batch is not None:
                    self._cancel_timer()
                    yield batch
            if msgs and self.caught_up_at is not None and msgs[-1].seq >= self.caught_up_at:
                self.read_through_start.set()
            self._arm_timer()

    def _take(self, m: StreamMessage) -> Batch | None:
        """The batch message ``m`` completes, if any. What is not exactly a batch or a
        marker signed by a genesis peer is skipped, by every peer alike."""
        assert self._cutter is not None
        if m.subject not in (self.settings.txs_subject, self.settings.cut_subject):
            self._ignore(m, "not an ordering subject")  # e.g. <subject>.tx, the first,
            return None  # unsigned format, still in streams made before
        signer = self.verifier.signer(m.subject, m.data, m.headers)
        if signer is None:
            self._ignore(m, "not signed by a peer of this chain")
            return None
        if not self.verifier.fresh(m.headers, m.time_ns // 1_000_000):
            if signer == self.signer.key.did:
                log.error("stream %s: this peer's own message %d is %d ms from its stream time: "
                          "this host's clock is off from the NATS servers' (use NTP); every "
                          "peer ignores such messages", self.settings.stream, m.seq,
                          m.time_ns // 1_000_000 - (signed_time(m.headers) or 0))
            self._ignore(m, "signed too long before (or after) it reached the stream")
            return None
        if m.subject == self.settings.txs_subject:
            raws = batch_message.decode(m.data)
            if raws is None:
                self._ignore(m, "not a batch")
                return None
            return self._cutter.on_txs(m.seq, m.time_ns, self._mine(m.msg_id, raws))
        number = _marker_number(m.data)
        if number is None:
            self._ignore(m, "not a time-to-cut marker")
            return None
        return self._cutter.on_marker(m.seq, m.time_ns, number)

    def _ignore(self, m: StreamMessage, why: str) -> None:
        self.ignored += 1
        if self.ignored & (self.ignored - 1) == 0:  # the 1st, 2nd, 4th, 8th ...: no flood
            log.warning("stream %s: skipped message %d on %s (%s); %d skipped so far",
                        self.settings.stream, m.seq, m.subject, why, self.ignored)

    def _mine(self, msg_id: str | None, raws: list[bytes]) -> list[Transaction | bytes]:
        """The transaction objects this peer's ingress verified, if the message is one it
        sent (same id, same bytes); otherwise the bytes, to be verified at commit."""
        own = self._own.pop(msg_id, None) if msg_id is not None else None
        if own is not None and [_raw(tx) for tx in own] == raws:
            return own
        return list(raws)

    # -- time-to-cut ---------------------------------------------------------------------
    def _arm_timer(self) -> None:
        if self._timer is None and self._cutter is not None and self._cutter.pending:
            number = self._cutter.next_number
            self._timer = asyncio.get_running_loop().call_later(
                self.settings.max_wait_ms / 1000, self._on_timeout, number)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self, number: int) -> None:
        self._timer = None
        if not self._running or self._cutter is None or self._cutter.next_number != number:
            return
        task = asyncio.get_running_loop().create_task(self._publish_marker(number))
        self._markers.add(task)
        task.add_done_callback(self._markers.discard)
        # If the marker is lost (the cluster is failing over), ask again later.
        self._arm_timer()

    async def _publish_marker(self, number: int) -> None:
        if self._js is None:
            return
        subject, payload = self.settings.cut_subject, b"%d" % number
        try:
            await self._js.publish(subject, payload, headers=self.signer.headers(subject, payload))
        except (NatsError, TimeoutError, OSError) as exc:
            log.info("time-to-cut marker for block %d not published: %s", number, exc)

    # -- health --------------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        """The stream as the cluster reports it: messages, sequences, leader, replicas."""
        out: dict[str, Any] = {
            "stream": self.settings.stream,
            "connected": bool(self._nc and self._nc.is_connected),
            "server": self._nc.connected_url.netloc if self._nc and self._nc.connected_url else None,
            "reader_next_seq": self._reader.next_seq if self._reader else None,
            "ignored_messages": self.ignored,
        }
        if self._js is None:
            return out
        try:
            info = await asyncio.wait_for(self._js.stream_info(self.settings.stream), 2.0)
        except (NatsError, TimeoutError, OSError) as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
            return out
        out.update(messages=info.state.messages, first_seq=info.state.first_seq,
                   last_seq=info.state.last_seq)
        if info.cluster is not None:
            out["leader"] = info.cluster.leader
            out["replicas"] = [{"name": r.name, "current": r.current, "lag": r.lag}
                               for r in (info.cluster.replicas or [])]
        return out


def _marker_number(data: bytes) -> int | None:
    """The block number of a time-to-cut marker: decimal digits, nothing else."""
    if not data.isdigit() or len(data) > 20:
        return None
    return int(data)
