"""One stage of `make run`'s demo (salus.demo), seeded on a real node for its tests: the
supply and claims demos' tests share how."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.client import SalusClient
from salus.demo import seed
from salus.identity import Identity
from salus.node.node import Node
from servers import node_server


@dataclass
class Seeded:
    data: Path
    url: str
    node: Node
    made: dict[str, Any]

    def client(self, key_file: str) -> SalusClient:
        return SalusClient(self.url, Identity.load(self.data / "keys" / key_file))

    def state(self, key: str) -> Any:
        return self.node.ledger.state_value(key)


@contextmanager
def seeded(data: Path, seed_once: Callable[[str, Path, Callable[[str], None]], Any]
           ) -> Iterator[Seeded]:
    """The records demo, then ``seed_once`` (a stage's ``seed_once``), on a node serving
    ``data``."""
    seed(data)
    served, node = node_server(data, block_max_wait_ms=5)
    try:
        with served as server:
            made = seed_once(server.url, data, lambda _: None)
            assert made is not None
            yield Seeded(data, server.url, node, made)
    finally:
        node.ledger.close()
