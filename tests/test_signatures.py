"""Decoding and verification in worker processes, and surviving a worker's death."""

from __future__ import annotations

import os
import signal
import time

from conftest import GENESIS_TIME, ident
from salus import workers
from salus.ledger import signatures, transaction
from salus.ledger.codes import Code, Rejected
from salus.ledger.transaction import DEFAULT_MAX_TX_BYTES, Transaction
from salus.network.nats_server import process_alive


def _batch(n: int) -> list[bytes]:
    who = ident("sig-worker")
    return [transaction.encode(who, chain="c", contract="notary", method="anchor",
                               args={"hash": f"{i:064x}"}, nonce=i + 1, time=GENESIS_TIME)
            for i in range(n)]


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1:]


def test_workers_decode_and_verify_in_order() -> None:
    raws = _batch(300)
    raws[7] = _flip(raws[7], 3)  # signature damaged: decodes, does not verify
    raws[8] = b"\x00" * 64 + b"{not json"  # does not decode
    checked = signatures.check_all(raws, DEFAULT_MAX_TX_BYTES)
    assert len(checked) == 300
    for i, (tx, ok) in enumerate(checked):
        if i == 8:
            assert isinstance(tx, Rejected) and tx.code == Code.MALFORMED and not ok
            continue
        assert isinstance(tx, Transaction) and tx.raw == raws[i]
        assert tx == transaction.decode(raws[i])  # the same fields as decoding here
        assert ok is (i != 7)


def test_a_dead_worker_is_replaced_and_the_batch_still_checked() -> None:
    raws = _batch(64)
    assert all(ok for _, ok in signatures.check_all(raws, DEFAULT_MAX_TX_BYTES))
    victim = workers.pool().submit(os.getpid).result()
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process_alive(victim):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for _ in range(3):  # the first call may meet the broken pool; none may fail
        checked = signatures.check_all(raws, DEFAULT_MAX_TX_BYTES)
        assert [ok for _, ok in checked] == [True] * 64
