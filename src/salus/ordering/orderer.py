"""The ordering interface, shaped after Fabric's broadcast / deliver split.

* ``broadcast`` hands transactions to the ordering service; when it returns they are
  accepted for ordering (not yet committed).
* ``deliver`` yields batches in order, numbered by the block height they become. Every
  peer consuming the same ordering service sees the same batches: same numbers, same
  times, same transactions in the same order. That, and nothing else, is what makes
  every peer's blocks identical.

A batch's time is chosen by the ordering service (never by the peer), so contracts that
read the block time stay deterministic.

Transactions travel as exact wire bytes. An in-process orderer may pass through the
:class:`~salus.ledger.transaction.Transaction` its own node already decoded and
verified at ingress, to spare the work; anything arriving as bytes is decoded and
verified by the peer itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from salus.ledger.transaction import Transaction


class OrdererUnavailable(Exception):
    """The ordering service cannot accept transactions now (overloaded or stopped)."""


@dataclass(frozen=True, slots=True)
class Batch:
    number: int  # the block height this batch becomes
    time: int  # ms since epoch, chosen by the ordering service
    txs: list[Transaction | bytes]
    #: Where this batch ends in the ordering service (e.g. a stream sequence): the peer
    #: stores it with the block and resumes after it. None for services that keep nothing.
    cursor: int | None = None


class Orderer(Protocol):
    #: Set once every message the service held at start has been read, and each batch
    #: they completed delivered (and so committed: a consumer takes a batch before it asks
    #: for the next). Messages that complete no batch (skipped ones, or transactions still
    #: waiting for their cut) hold nothing back.
    read_through_start: asyncio.Event

    async def start(self, next_number: int, cursor: int | None) -> None:
        """Begin delivering from batch ``next_number`` (the peer's height + 1), which
        starts just after ``cursor`` (the cursor stored with the peer's head block)."""

    async def broadcast(self, txs: Sequence[Transaction | bytes]) -> None:
        """Accept transactions for ordering, or raise :class:`OrdererUnavailable`."""

    def deliver(self) -> AsyncIterator[Batch]:
        """Batches in order, forever (until :meth:`stop`)."""

    async def stop(self) -> None:
        """Stop; deliveries end and broadcasts are refused."""
