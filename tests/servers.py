"""Real servers for tests: loopback only, free ports, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from salus.api import create_app
from salus.api.auth import TokenService
from salus.client import SalusClient, SalusError
from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.node.server import NodeConfig, build, uvicorn_options
from salus.ordering import SoloOrderer
from salus.ports import free_port


def wait_healthy(url: str, timeout: float = 30.0) -> None:
    with SalusClient(url) as probe:
        probe.wait_ready(timeout)


class ServerThread:
    """uvicorn in a thread of the test process (the app's lifespan runs the node).
    ``options`` are uvicorn's, e.g. ``salus.node.server.uvicorn_options(config)`` to serve
    as `salus node` does; by default a free loopback port."""

    def __init__(self, app, **options) -> None:
        options = {"host": "127.0.0.1", "log_level": "warning", **options}
        options.setdefault("port", free_port())
        self.app = app
        self.port = options["port"]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **options))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_healthy(self.url)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def node_server(data: Path, **config) -> tuple[ServerThread, Node]:
    """`salus node`'s app on ``data`` (``config``: NodeConfig's fields), to be served as
    `salus node` serves it on a free loopback port, which is also its public URL."""
    options = NodeConfig(data, port=free_port(), **config)
    app, node = build(options)
    return ServerThread(app, **uvicorn_options(options)), node


class NodeProcess:
    """`salus node` as a child process, for tests that must kill it."""

    def __init__(self, data: Path, port: int | None = None) -> None:
        self.data = data
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NodeProcess:
        exe = Path(sys.executable).with_name("salus")
        self.proc = subprocess.Popen(
            [str(exe), "node", "--data", str(self.data), "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_healthy(self.url)
        except SalusError:
            self.kill()
            raise
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.kill(signal.SIGTERM)
        self.kill()


class NodeClock:
    """The wall clock, plus however far the test has moved time on. The node's orderer
    (block time), its ingress, its records gateway and the test's clients all read it,
    so an hour of a delay (or a day of a deadline) passes without waiting; nothing else
    about the node differs from ``salus node``."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset


@contextmanager
def clocked_node(datadir: DataDir, clock: NodeClock, **app: Any) -> Iterator[ServerThread]:
    """The node API on ``datadir``'s ledger, served on a free loopback port, with its block
    time and ingress on ``clock``; ``app``: more of :func:`salus.api.create_app`'s options."""
    ledger = datadir.open_ledger()
    node = Node(ledger, SoloOrderer(max_wait_ms=5, clock=clock), clock=clock)
    port = free_port()
    tokens = TokenService(Identity.load(datadir.key_file), ledger,
                          public_url=f"http://127.0.0.1:{port}", replay_file=datadir.replay_file)
    try:
        with ServerThread(create_app(node, tokens, **app), port=port) as server:
            yield server
    finally:
        ledger.close()


@dataclass
class ClockedNet:
    """People with keys, and clients that sign on the node's clock."""

    url: str
    clock: NodeClock
    keys: Path
    people: dict[str, Identity] = field(default_factory=dict)

    def client(self, who: str | Identity | None = None) -> SalusClient:
        key = self.people[who] if isinstance(who, str) else who
        return SalusClient(self.url, key, clock=self.clock)

    def key_file(self, name: str) -> str:
        path = self.keys / f"{name}.key"
        if not path.exists():
            self.people[name].save(path)
        return str(path)

    def did(self, name: str) -> str:
        return self.people[name].did


class Inbox:
    """A member's notification stream (``stream(client)``: ``access_events``,
    ``supply_events``), read on a thread until the event ``until`` names (its kind, or a
    test of the event) arrives."""

    def __init__(self, client: SalusClient,
                 stream: Callable[[SalusClient], Iterator[dict[str, Any]]],
                 until: str | Callable[[dict[str, Any]], bool]) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready, self.done = threading.Event(), threading.Event()
        self._client, self._stream = client, stream
        self._until = until if callable(until) else (lambda e: e["event"] == until)
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "the stream did not open"

    def _listen(self) -> None:
        with self._client:
            for event in self._stream(self._client):
                self.events.append(event)
                self.ready.set()
                if self._until(event):
                    break
        self.done.set()

    def kinds(self) -> list[str]:
        """The kind of every event, ``ready`` first, once the last one wanted came."""
        assert self.done.wait(20), f"the last event wanted never came: {self.events}"
        return [e["event"] for e in self.events]

    def got(self) -> list[dict[str, Any]]:
        """Every event but ``ready``, once the last one wanted came."""
        self.kinds()
        return [e for e in self.events if e["event"] != "ready"]
