"""Storage under a steady write load."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from salus.ledger.store import BlockRow, Store

PAGE = 4096


def _block(height: int) -> BlockRow:
    return BlockRow(height, hashlib.sha256(b"%d" % height).digest(), b"{}", "did:key:z", b"s", b"t")


def test_the_wal_starts_over_while_blocks_keep_coming(tmp_path: Path) -> None:
    """A passive checkpoint alone never lets SQLite restart the log under steady writes;
    the store must, or the log (and every read) grows without bound."""
    restart_frames = 200
    store = Store(tmp_path / "ledger.db", checkpoint_interval=0.02,
                  wal_restart_frames=restart_frames)
    wal = tmp_path / "ledger.db-wal"
    largest = 0
    written_frames = 0
    reading = threading.Event()

    def reader() -> None:  # readers come and go all the time on a serving node
        while not reading.is_set():
            store.state_row("k/0")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for height in range(1, 400):
            with store.block_transaction() as w:
                # 40 random keys of 200 bytes: dozens of scattered pages per block
                writes = {f"k/{hashlib.sha256(b'%d-%d' % (height, i)).hexdigest()}": b"v" * 200
                          for i in range(40)}
                w.write(_block(height), [], [], writes)
            written_frames += 40
            largest = max(largest, wal.stat().st_size)
    finally:
        reading.set()
        thread.join()
    assert store.state_row("k/" + hashlib.sha256(b"399-39").hexdigest()) is not None
    store.close()
    # A log that never restarted holds every page written (~130 MB here, measured);
    # one that restarts holds a few checkpoint intervals' worth (~8 MB).
    assert largest < written_frames * PAGE // 4, largest
