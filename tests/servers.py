"""Real servers for tests: loopback only, free ports, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import uvicorn

from salus.client import SalusClient, SalusError
from salus.node.node import Node
from salus.node.server import NodeConfig, build, uvicorn_options
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
