"""The gateway's memory of served read requests (records/replay.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from salus.records.replay import ReplayGuard


def test_a_request_is_fresh_once_within_the_window_and_forgotten_after() -> None:
    guard = ReplayGuard(window_ms=1000)
    assert guard.fresh("a", 100, now=100)
    assert not guard.fresh("a", 100, now=900)
    assert guard.fresh("b", 950, now=1000)
    # "a" (signed at 100) has left the window at 1101; the gateway refuses it as STALE
    # anyway by then, so forgetting it is safe, and memory stays bounded.
    assert guard.fresh("c", 1101, now=1101)
    assert len(guard) == 2


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 50)), max_size=60))
def test_no_replay_is_ever_fresh_while_inside_the_window(events) -> None:
    guard, now, served = ReplayGuard(window_ms=100), 0, {}
    for request, step in events:
        now += step
        request_time = now  # signed just before sending
        ok = guard.fresh(request, request_time, now)
        last = served.get(request)
        if last is not None and now - last <= 100:
            assert not ok, (request, last, now)
        if ok:
            served[request] = request_time
