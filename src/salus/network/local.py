"""A whole network on this machine: N NATS servers and N peers on 127.0.0.1.

``salus network up`` and the network tests use this. Layout of the network directory::

    ROOT/network.json            what the peers share (salus.network.config)
    ROOT/local.json              this launcher's ports and directories
    ROOT/run.json                process ids of what is running (gone after `down`)
    ROOT/nats/auth.json          every NATS login's password (owner-only, like the rest)
    ROOT/nats/operator.password  the NATS operator's password (user "operator")
    ROOT/nats/<name>/            each NATS server's config, JetStream store and log
    ROOT/peers/<org>/            each peer's data directory (genesis, node.key, ledger.db,
                                 keys/<org>-admin.key), node.log, and its own
                                 network.json with its NATS login (user <org>, password
                                 in nats.password)

NATS takes no anonymous connection: each peer has its own login, allowed to publish only
where a peer must (``salus.network.nats_auth``), and the servers' routes authenticate.

Every process runs in its own session, so that a fault test can kill or pause exactly
one, and ``down`` can stop all of them even from another shell.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from salus.claims.keys import provision_fingerprint_key
from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.network.config import NetworkConfig, stream_names
from salus.network.nats_auth import (
    OPERATOR,
    ClusterAuth,
    NatsUser,
    new_password,
    peer_permissions,
    write_secret,
)
from salus.network.nats_server import (
    NatsServerSpec,
    process_alive,
    stop_process,
    wait_listening,
)
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.ordering.jetstream import JetStreamSettings
from salus.ports import free_port, port_free

#: Organisation types given to a local network's organisations, in turn.
ORG_TYPES = ("hospital", "lab", "board", "pharmacy", "insurer", "manufacturer", "school",
             "distributor", "regulator", "cme_provider")


class NetworkError(RuntimeError):
    """The local network cannot do what was asked; the message says what to do."""


@dataclass(frozen=True)
class LocalPeer:
    org: str
    port: int
    data: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data / "node.log"

    @property
    def network_file(self) -> Path:
        """This peer's own network.json: the shared one plus its NATS login."""
        return self.data / "network.json"

    @property
    def password_file(self) -> Path:
        return self.data / "nats.password"


class LocalNetwork:
    def __init__(self, root: Path) -> None:
        self.root = root
        doc = self._read(self.local_file)
        if doc is None:
            raise NetworkError(f"no local network in {root}; create one with "
                               f"`salus network up --dir {root} --orgs 3`")
        self.nats = [NatsServerSpec(n["name"], n["client_port"], n["cluster_port"],
                                    n["monitor_port"], root / "nats" / n["name"])
                     for n in doc["nats"]]
        self.peers = [LocalPeer(p["org"], p["port"], root / "peers" / p["org"])
                      for p in doc["peers"]]
        self.config = NetworkConfig.load(self.network_file)

    @functools.cached_property
    def auth(self) -> ClusterAuth:
        """Every NATS login of the cluster (what the servers' configuration lists)."""
        passwords = self._read(self.auth_file)
        if passwords is None:
            raise NetworkError(
                f"{self.root} holds a network made by an earlier version of salus, whose "
                "NATS servers took anyone and whose stream carried unsigned messages; it is "
                f"a development artifact: `salus network down --dir {self.root}`, remove "
                "the directory and run `salus network up` again")
        settings = self.config.ordering
        return ClusterAuth(
            [NatsUser(OPERATOR, passwords["operator"])]
            + [NatsUser(p.org, passwords["peers"][p.org], peer_permissions(settings, p.org))
               for p in self.peers],
            passwords["route"])

    # -- files ---------------------------------------------------------------------------
    @property
    def network_file(self) -> Path:
        return self.root / "network.json"

    @property
    def local_file(self) -> Path:
        return self.root / "local.json"

    @property
    def run_file(self) -> Path:
        return self.root / "run.json"

    @property
    def auth_file(self) -> Path:
        return self.root / "nats" / "auth.json"

    @property
    def operator_password_file(self) -> Path:
        return self.root / "nats" / "operator.password"

    def operator_settings(self) -> JetStreamSettings:
        """The ordering settings with the NATS operator's login (may do anything)."""
        return replace(self.config.ordering, user=OPERATOR,
                       password_file=str(self.operator_password_file))

    def peer_settings(self, i: int) -> JetStreamSettings:
        """The ordering settings peer ``i`` runs with (its own NATS login)."""
        return NetworkConfig.load(self.peers[i].network_file).ordering

    @staticmethod
    def _read(path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None

    def _pids(self) -> dict[str, int]:
        return self._read(self.run_file) or {}

    def _save_pid(self, name: str, pid: int | None) -> None:
        pids = self._pids()
        if pid is None:
            pids.pop(name, None)
        else:
            pids[name] = pid
        self.run_file.write_text(json.dumps(pids, indent=2) + "\n")

    # -- creating ------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, orgs: int, *, chain_id: str = "salus-net",
               quorum: int | None = None, max_txs: int = 2000, max_wait_ms: int = 50,
               api_port: int | None = None, nats_port: int | None = None) -> LocalNetwork:
        """Found a chain of ``orgs`` organisations, each with a peer, and a NATS cluster
        of ``orgs`` servers (streams R3 once there are three).

        Ports: peer ``i``'s API listens on ``api_port + i``, NATS server ``i`` on
        ``nats_port + 3i`` (clients), ``+ 1`` (cluster routes) and ``+ 2`` (monitoring);
        each is checked free. Without a base, free ports are drawn (salus.ports)."""
        if orgs < 1:
            raise NetworkError("a network needs at least one organisation")
        if (root / "local.json").exists():
            raise NetworkError(f"{root} already holds a network; `salus network up --dir {root}` "
                               "starts it, or choose another directory")
        quorum = quorum if quorum is not None else min(2, orgs)
        if not 1 <= quorum <= orgs:
            raise NetworkError(f"quorum must be between 1 and {orgs}")
        names = [f"{ORG_TYPES[i % len(ORG_TYPES)]}-{i + 1}" for i in range(orgs)]
        api_ports = _ports(api_port, orgs, 1, "--api-port", lambda i, _: f"peer {names[i]}'s API")
        nats_ports = _ports(nats_port, orgs, 3, "--nats-port", lambda i, k: (
            f"NATS server n{i + 1}'s {('client', 'cluster', 'monitoring')[k]} port"))
        if {p for g in api_ports for p in g} & {p for g in nats_ports for p in g}:
            raise NetworkError("the peers' API ports and the NATS ports overlap; choose "
                               "--api-port and --nats-port further apart")
        root.mkdir(parents=True, exist_ok=True)
        admins = {org: Identity.generate() for org in names}
        keys = {org: Identity.generate() for org in names}
        organisations = [{"id": org, "name": org, "type": ORG_TYPES[i % len(ORG_TYPES)],
                          "admins": [{"did": admins[org].did,
                                      "encryption_key": admins[org].encryption_did}]}
                         for i, org in enumerate(names)]
        genesis = genesis_mod.build(chain_id, None, organisations, int(time.time() * 1000),
                                    peers=[{"org": org, "did": keys[org].did} for org in names])
        peers = []
        datadirs = [DataDir(root / "peers" / org) for org in names]
        provision_fingerprint_key(datadirs)  # one key, every peer (salus.claims.keys)
        for org in names:
            datadir = DataDir(root / "peers" / org)
            datadir.write_genesis(genesis)
            keys[org].save(datadir.path / "node.key")
            admins[org].save(admin_key_path(datadir, org))
            peers.append({"org": org, "port": api_ports[len(peers)][0]})
        nats = [{"name": f"n{i + 1}", "client_port": nats_ports[i][0],
                 "cluster_port": nats_ports[i][1], "monitor_port": nats_ports[i][2]}
                for i in range(orgs)]
        stream, subject = stream_names(chain_id)
        settings = JetStreamSettings(
            servers=[f"nats://127.0.0.1:{n['client_port']}" for n in nats], stream=stream,
            subject=subject, replicas=min(3, orgs), max_txs=max_txs, max_wait_ms=max_wait_ms)
        apis = [{"org": p["org"], "api": f"http://127.0.0.1:{p['port']}"} for p in peers]
        NetworkConfig(chain_id, settings, quorum, apis).save(root / "network.json")
        passwords = {"operator": new_password(), "route": new_password(),
                     "peers": {org: new_password() for org in names}}
        write_secret(root / "nats" / "auth.json", json.dumps(passwords, indent=2) + "\n")
        write_secret(root / "nats" / "operator.password", passwords["operator"] + "\n")
        for org in names:
            data = root / "peers" / org
            write_secret(data / "nats.password", passwords["peers"][org] + "\n")
            own = replace(settings, user=org, password_file="nats.password")
            NetworkConfig(chain_id, own, quorum, apis).save(data / "network.json")
        (root / "local.json").write_text(json.dumps({"nats": nats, "peers": peers}, indent=2) + "\n")
        return cls(root)

    # -- running -------------------------------------------------------------------------
    def taken_ports(self) -> list[str]:
        """What stops ``up`` before it starts anything: each port of a server that is not
        running yet which another process holds, said with what it is for."""
        taken = [f"{spec.name}'s {what} port {port}"
                 for i, spec in enumerate(self.nats) if not self.nats_running(i)
                 for what, port in (("client", spec.client_port),
                                    ("cluster", spec.cluster_port),
                                    ("monitoring", spec.monitor_port))
                 if not port_free(port)]
        taken += [f"peer {peer.org}'s API port {peer.port}"
                  for i, peer in enumerate(self.peers)
                  if not self.peer_running(i) and not port_free(peer.port)]
        return taken

    def up(self, timeout: float = 90.0) -> None:
        """Start every NATS server, then every peer; return once all answer. If anything
        fails to come up, what this call started is stopped again before the error is
        raised, so a failed ``up`` leaves nothing behind."""
        _ = self.auth  # a network made before NATS logins is refused before anything starts
        started_nats: list[int] = []
        started_peers: list[int] = []
        try:
            for i in range(len(self.nats)):
                if not self.nats_running(i):
                    self.start_nats(i, wait=False)
                    started_nats.append(i)
            for spec in self.nats:
                wait_listening(spec)
            for i in range(len(self.peers)):
                if not self.peer_running(i):
                    self.start_peer(i, wait=False)
                    started_peers.append(i)
            for i in range(len(self.peers)):
                self.wait_peer(i, timeout)
        except BaseException:
            for i in started_peers:
                self.stop_peer(i)
            for i in started_nats:
                self.stop_nats(i)
            raise

    def down(self) -> None:
        """Stop every peer, then every NATS server; nothing is left running."""
        for i in range(len(self.peers)):
            self.stop_peer(i)
        for i in range(len(self.nats)):
            self.stop_nats(i)
        self.run_file.unlink(missing_ok=True)

    def start_nats(self, i: int, wait: bool = True) -> None:
        spec = self.nats[i]
        spec.write_config(self.nats, self.auth)
        proc = spec.start()
        self._save_pid(spec.name, proc.pid)
        if wait:
            wait_listening(spec)

    def stop_nats(self, i: int) -> None:
        self._stop(self.nats[i].name)

    def start_peer(self, i: int, wait: bool = True, timeout: float = 90.0) -> None:
        peer = self.peers[i]
        exe = Path(sys.executable).with_name("salus")
        log = peer.log_file.open("ab")
        try:
            proc = subprocess.Popen(
                [str(exe), "node", "--data", str(peer.data), "--port", str(peer.port),
                 "--network", str(peer.network_file)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        finally:
            log.close()
        self._save_pid(f"peer:{peer.org}", proc.pid)
        if wait:
            self.wait_peer(i, timeout)

    def wait_peer(self, i: int, timeout: float = 90.0) -> None:
        peer = self.peers[i]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._pids().get(f"peer:{peer.org}")
            if pid is None or not process_alive(pid):
                raise NetworkError(f"peer {peer.org} exited; see {peer.log_file}:\n"
                                   + _tail(peer.log_file))
            try:
                # 503 is an answer too: a halted peer serves, and says why
                if httpx.get(f"{peer.url}/health", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise NetworkError(f"peer {peer.org} did not answer on {peer.url} within {timeout:.0f}s; "
                           f"see {peer.log_file}")

    def stop_peer(self, i: int) -> None:
        self._stop(f"peer:{self.peers[i].org}")

    def signal_peer(self, i: int, sig: signal.Signals) -> None:
        """Send ``sig`` to peer ``i`` alone (SIGKILL, SIGSTOP, SIGCONT in fault tests)."""
        self._signal(f"peer:{self.peers[i].org}", sig)

    def signal_nats(self, i: int, sig: signal.Signals) -> None:
        self._signal(self.nats[i].name, sig)

    def _signal(self, name: str, sig: signal.Signals) -> None:
        pid = self._pids().get(name)
        if pid is None or not process_alive(pid):
            raise NetworkError(f"{name} is not running")
        os.killpg(pid, sig)
        if sig == signal.SIGKILL:
            deadline = time.monotonic() + 10
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            self._save_pid(name, None)

    def _stop(self, name: str) -> None:
        pid = self._pids().get(name)
        if pid is not None:
            stop_process(pid)
            self._save_pid(name, None)

    def nats_running(self, i: int) -> bool:
        pid = self._pids().get(self.nats[i].name)
        return pid is not None and process_alive(pid)

    def peer_running(self, i: int) -> bool:
        pid = self._pids().get(f"peer:{self.peers[i].org}")
        return pid is not None and process_alive(pid)

    # -- looking -------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Each peer's own report (height, hashes, attestation agreement, stream) and
        whether each NATS server answers."""
        peers = []
        for i, peer in enumerate(self.peers):
            entry: dict[str, Any] = {"org": peer.org, "api": peer.url,
                                     "running": self.peer_running(i)}
            if entry["running"]:
                try:
                    r = httpx.get(f"{peer.url}/v1/network/status", timeout=3)
                    entry.update(r.json() if r.status_code == 200 else {"error": r.text})
                except httpx.HTTPError as exc:
                    entry["error"] = f"{type(exc).__name__}: {exc}"
            peers.append(entry)
        nats = []
        for i, spec in enumerate(self.nats):
            entry = {"name": spec.name, "url": spec.url, "running": self.nats_running(i)}
            if entry["running"]:
                try:
                    r = httpx.get(f"{spec.monitor_url}/healthz?js-enabled-only=true", timeout=2)
                    entry["healthy"] = r.status_code == 200
                except httpx.HTTPError:
                    entry["healthy"] = False
            nats.append(entry)
        answering = [p for p in peers if "height" in p]
        agree = bool(answering) and all(
            p.get("diverged") is None and all(o.get("agrees") is not False for o in p["peers"])
            for p in answering)
        return {"chain_id": self.config.chain_id, "quorum": self.config.quorum,
                "peers": peers, "nats": nats, "agree": agree}


def _ports(base: int | None, count: int, each: int, option: str,
           name: Callable[[int, int], str]) -> list[list[int]]:
    """``count`` groups of ``each`` ports: consecutive from ``base``, each checked free,
    or drawn free when ``base`` is None."""
    if base is None:
        return [[free_port() for _ in range(each)] for _ in range(count)]
    if not 1024 <= base <= 65535 - count * each:
        raise NetworkError(f"{option} {base}: the network needs {count * each} ports from it, "
                           "between 1024 and 65535")
    groups = [[base + i * each + k for k in range(each)] for i in range(count)]
    for i, group in enumerate(groups):
        for k, port in enumerate(group):
            if not port_free(port):
                raise NetworkError(f"port {port} ({name(i, k)}) is taken by another process; "
                                   f"choose another {option}")
    return groups


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
