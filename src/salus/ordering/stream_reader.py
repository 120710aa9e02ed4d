"""Reading a JetStream stream in order, from a given sequence, through server failures.

An ephemeral pull consumer (no acks, in memory, one replica) is created at the next
sequence wanted. Every message's stream sequence is checked against the one expected:
if the server that hosted the consumer died, or the consumer was lost for any reason,
the reader makes a new one where it left off. Nothing is skipped and nothing is read
twice, whatever happens to the cluster. If the stream no longer holds the sequence
wanted (it was trimmed by its retention limits), :class:`StreamTrimmed` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

log = logging.getLogger("salus.ordering")

#: Idle fetches in a row after which the reader checks its consumer still exists.
_IDLE_CHECKS = 4


class StreamTrimmed(Exception):
    """The stream no longer holds the messages a reader needs."""

    def __init__(self, stream: str, wanted: int, first: int) -> None:
        super().__init__(
            f"stream {stream} starts at sequence {first} but sequence {wanted} is needed: it "
            "was trimmed by its retention limits. Bootstrap this peer from another peer's "
            "block export (`salus ledger export` / `salus ledger import`)")
        self.wanted = wanted
        self.first = first


@dataclass(frozen=True, slots=True)
class StreamMessage:
    seq: int
    time_ns: int  # the stream's timestamp, the same on every reader
    subject: str
    data: bytes
    #: The publisher's headers (Nats-Msg-Id, a peer's signature ...), as stored.
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def msg_id(self) -> str | None:
        """The publisher's Nats-Msg-Id."""
        return self.headers.get("Nats-Msg-Id")


def message_of(msg: Msg) -> StreamMessage:
    """Sequence and timestamp come from the reply subject JetStream attaches:
    ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>``, or the
    twelve-token form with domain and account hash in front."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        seq, ns = tokens[5], tokens[7]
    elif len(tokens) >= 11:
        seq, ns = tokens[7], tokens[9]
    else:
        raise ValueError(f"not a JetStream message (reply {msg.reply!r})")
    return StreamMessage(int(seq), int(ns), msg.subject, msg.data, msg.headers or {})


class StreamReader:
    def __init__(self, js: JetStreamContext, stream: str, next_seq: int,
                 batch: int = 2000, wait: float = 0.5) -> None:
        self.js = js
        self.stream = stream
        self.next_seq = next_seq
        self.batch = batch
        self.wait = wait
        self._sub: JetStreamContext.PullSubscription | None = None
        self._idle = 0

    async def read(self) -> list[StreamMessage]:
        """The next messages in order (none if the stream had nothing new for a while)."""
        try:
            if self._sub is None:
                await self._open()
            assert self._sub is not None
            try:
                msgs = await self._sub.fetch(self.batch, timeout=self.wait)
            except TimeoutError:
                await self._idle_check()
                return []
        except StreamTrimmed:
            raise
        except (NatsError, TimeoutError, OSError) as exc:
            log.warning("reading stream %s at %d: %s; reconnecting the consumer",
                        self.stream, self.next_seq, exc)
            await self._drop()
            await asyncio.sleep(0.2)
            return []
        self._idle = 0
        out: list[StreamMessage] = []
        for msg in msgs:
            m = message_of(msg)
            if m.seq < self.next_seq:
                continue  # a replay from a consumer made before a reconnect
            if m.seq > self.next_seq:
                await self._gap(m.seq)
                break
            out.append(m)
            self.next_seq += 1
        return out

    async def _open(self) -> None:
        info = await self.js.stream_info(self.stream)
        # An emptied stream reports first = last + 1; a new one reports 0.
        first = info.state.first_seq
        if first > self.next_seq:
            raise StreamTrimmed(self.stream, self.next_seq, first)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.next_seq,
            ack_policy=AckPolicy.NONE, mem_storage=True, num_replicas=1,
            inactive_threshold=60.0)
        self._sub = await self.js.pull_subscribe("", stream=self.stream, config=config)
        self._idle = 0

    async def _gap(self, seen: int) -> None:
        """A message past the one expected: either the stream was trimmed, or the
        consumer lost messages; a fresh consumer tells which."""
        log.warning("stream %s: expected sequence %d, got %d", self.stream, self.next_seq, seen)
        await self._drop()

    async def _idle_check(self) -> None:
        self._idle += 1
        if self._idle < _IDLE_CHECKS or self._sub is None:
            return
        self._idle = 0
        try:
            await self._sub.consumer_info()
        except NotFoundError:
            log.warning("consumer of stream %s is gone; making a new one", self.stream)
            await self._drop()

    async def _drop(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(NatsError, TimeoutError, OSError):
                await sub.unsubscribe()

    async def close(self) -> None:
        await self._drop()
