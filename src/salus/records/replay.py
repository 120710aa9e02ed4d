"""Each signed read request is served once.

A request carries its signing time; the gateway refuses one whose time is more than
``window_ms`` from its clock (``STALE``), so it only has to remember the ids it saw in
the last ``window_ms`` to refuse a second copy (``REPLAYED_REQUEST``). Ids are kept in
arrival order and dropped from the front once expired: O(1) per request. An id whose
time is older than one in front of it waits for that one, which costs memory only.
"""

from __future__ import annotations

from collections import deque


class ReplayGuard:
    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._seen: set[str] = set()
        self._order: deque[tuple[int, str]] = deque()

    def fresh(self, request: str, request_time: int, now: int) -> bool:
        """True once for each ``request`` within the window; False for a replay."""
        before = now - self.window_ms
        while self._order and self._order[0][0] < before:
            self._seen.discard(self._order.popleft()[1])
        if request in self._seen:
            return False
        self._seen.add(request)
        self._order.append((request_time, request))
        return True

    def __len__(self) -> int:
        return len(self._seen)
