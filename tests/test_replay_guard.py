"""The node's memory of served requests (records/replay.py), kept in SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from salus.records.replay import PRUNE_EVERY_MS, ReplayGuard


def test_a_request_is_fresh_once_within_the_window_and_forgotten_after(tmp_path: Path) -> None:
    guard = ReplayGuard(tmp_path / "replay.db", "reads", window_ms=1000)
    assert guard.fresh("a", 100, now=100)
    assert not guard.fresh("a", 100, now=900)
    assert guard.fresh("b", 950, now=1000)
    # "a" (signed at 100) has left the window at 1101; the gateway refuses it as STALE
    # anyway by then, so forgetting it is safe, and the table stays bounded.
    assert guard.fresh("c", 1101, now=1101)
    assert len(guard) == 2
    guard.close()


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 50)), max_size=60))
def test_no_replay_is_ever_fresh_while_inside_the_window(events) -> None:
    guard, now, served = ReplayGuard(":memory:", "reads", window_ms=100), 0, {}
    for request, step in events:
        now += step
        request_time = now  # signed just before sending
        ok = guard.fresh(request, request_time, now)
        last = served.get(request)
        if last is not None and now - last <= 100:
            assert not ok, (request, last, now)
        if ok:
            served[request] = request_time


def test_the_memory_survives_a_restart_and_each_guard_is_its_own(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    first = ReplayGuard(path, "reads", window_ms=60_000)
    assert first.fresh("req-1", 1_000, now=1_000)
    first.close()  # the node stops ...
    again = ReplayGuard(path, "reads", window_ms=60_000)  # ... and starts on the same file
    assert not again.fresh("req-1", 1_000, now=5_000)
    assert again.fresh("req-2", 5_000, now=5_000)
    # another guard of the same node (the token endpoint's jti memory) is apart
    tokens = ReplayGuard(path, "client_assertions", window_ms=0)
    assert tokens.first_use("req-1", expires=9_000, now=5_000)
    assert not tokens.first_use("req-1", expires=9_000, now=9_000)  # up to its expiry
    assert tokens.first_use("req-1", expires=20_000, now=9_001)
    again.close()
    tokens.close()


def test_written_returns_once_every_decided_id_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    guard = ReplayGuard(path, "reads", window_ms=60_000)

    def on_disk() -> set[str]:
        with sqlite3.connect(path) as db:
            return {row[0] for row in db.execute("SELECT id FROM seen")}

    async def serve() -> None:
        for i in range(100):  # decided at once, written in one batch or a few
            assert guard.fresh(f"r{i}", 1_000, now=1_000)
        await asyncio.gather(*(guard.written() for _ in range(10)))
        assert on_disk() == {f"r{i}" for i in range(100)}
        assert not guard.fresh("r7", 1_000, now=2_000)
        await guard.written()  # nothing new: returns at once

    asyncio.run(serve())
    # a node that stops before writing writes on close: nothing decided is lost
    assert guard.fresh("last", 3_000, now=3_000)
    guard.close()
    assert "last" in on_disk()
    again = ReplayGuard(path, "reads", window_ms=60_000)
    assert not again.fresh("last", 3_000, now=4_000) and len(again) == 101
    again.close()


def test_expired_ids_leave_the_file(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    guard = ReplayGuard(path, "reads", window_ms=100)
    for i in range(50):
        assert guard.fresh(f"old-{i}", 0, now=0)
    assert len(guard) == 50
    later = 100 + PRUNE_EVERY_MS
    assert guard.fresh("new", later, now=later)
    guard.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id FROM seen").fetchall() == [("new",)]
