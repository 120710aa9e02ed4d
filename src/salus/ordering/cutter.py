"""Cutting blocks from a totally ordered stream, identically on every peer.

The stream carries two kinds of message: transactions (one, or several published
together), and time-to-cut markers ("cut block N"), which any peer may publish when
block N has waited its batch timeout. Every peer reads the same messages in the same
order and applies the same two rules:

* a block is cut at the end of the message that brings it to ``max_txs`` transactions
  or more (a block never splits a message, so it may exceed ``max_txs`` by less than
  one message);
* a block is cut at the first marker for its number, if it holds any transaction.
  Later markers for that number, and markers for other numbers, change nothing.

A block's time is the stream's own timestamp of the message that cut it, so it too is
the same everywhere. This is the scheme of Hyperledger Fabric's Kafka orderer (its
"time-to-cut" messages), with JetStream in Kafka's place. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salus.ledger.transaction import Transaction
from salus.ordering.orderer import Batch


@dataclass(slots=True)
class BlockCutter:
    next_number: int
    max_txs: int
    pending: list[Transaction | bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.max_txs < 1 or self.next_number < 1:
            raise ValueError("max_txs and next_number must be >= 1")

    def on_txs(self, seq: int, time_ns: int, txs: list[Transaction | bytes]) -> Batch | None:
        """The transactions of the message at stream sequence ``seq``; the batch they
        complete, if any."""
        self.pending.extend(txs)
        if len(self.pending) >= self.max_txs:
            return self._cut(seq, time_ns)
        return None

    def on_marker(self, seq: int, time_ns: int, number: int) -> Batch | None:
        """A time-to-cut marker for block ``number``; the batch it cuts, if any."""
        if number == self.next_number and self.pending:
            return self._cut(seq, time_ns)
        return None

    def _cut(self, seq: int, time_ns: int) -> Batch:
        batch = Batch(self.next_number, time_ns // 1_000_000, self.pending, cursor=seq)
        self.pending = []
        self.next_number += 1
        return batch
