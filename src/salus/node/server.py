"""Run a node: ledger + orderer (solo, or JetStream as a network peer) + API, served by
uvicorn on one address."""

from __future__ import annotations

import gc
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from fastapi import FastAPI

from salus.api import create_app
from salus.api.auth import TokenService
from salus.claims.service import ClaimsService, open_claims
from salus.identity import Identity
from salus.network.attestation_archive import AttestationArchive
from salus.network.config import NetworkConfig, NetworkConfigError
from salus.network.peer import Peer
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.node.rate_limits import RateLimits
from salus.ordering import SoloOrderer
from salus.ordering.jetstream import JetStreamOrderer
from salus.ordering.solo import DEFAULT_MAX_TXS, DEFAULT_MAX_WAIT_MS
from salus.records.custodian import Custodian
from salus.records.gateway import Gateway
from salus.records.service import open_gateway
from salus.rewards.service import RewardsService, open_rewards
from salus.supply.identifiers import check_digit
from salus.supply.service import SupplyService, open_supply

#: Addresses that mean "every interface": no client can reach the node at them.
_WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class NodeConfig:
    data: Path
    host: str = "127.0.0.1"
    port: int = 8700
    block_max_txs: int = DEFAULT_MAX_TXS
    block_max_wait_ms: int = DEFAULT_MAX_WAIT_MS
    token_lifetime: int = 300
    log_level: str = "warning"
    #: Custodian organisations whose vaults this node holds; None = every hospital, lab
    #: and pharmacy whose admin or gateway key is in the data directory; [] = none.
    custodians: tuple[str, ...] | None = None
    #: Trading organisations whose EPCIS repositories this node holds; None = every
    #: manufacturer, distributor, pharmacy and hospital whose admin or supply key is in
    #: the data directory; [] = none.
    supply_orgs: tuple[str, ...] | None = None
    #: Insurers and providers whose claims this node serves; None = every insurer,
    #: hospital, lab and pharmacy whose admin or claims key is here; [] = none.
    claims_orgs: tuple[str, ...] | None = None
    #: Sponsors this node awards rewards for; None = every hospital and insurer with a
    #: published programme whose admin or rewards key is here; [] = none.
    rewards_orgs: tuple[str, ...] | None = None
    #: Seconds a verification context may serve before a newer height replaces it.
    context_max_age: float = 1.0
    #: A network.json: run as a network peer on the JetStream orderer instead of solo.
    network: Path | None = None
    #: Budgets of client addresses and signers (docs/operations.md, "Rate limits").
    rate_limits: RateLimits = field(default_factory=RateLimits)
    #: Addresses or networks of reverse proxies whose X-Forwarded-For (and -Proto) this
    #: node believes; empty: none, the client address is the connection's peer address.
    trusted_proxies: tuple[str, ...] = ()
    #: The node's address as its clients name it (scheme, host, port, optional path):
    #: the audience of every client assertion (salus.api.auth). Default: the peer's
    #: ``api`` in network.json, else ``http://<host>:<port>`` (127.0.0.1 for a wildcard
    #: host). Never taken from a request's Host or X-Forwarded-* headers.
    public_url: str | None = None
    #: The GLN this node answers pack verifications under (the LMS's ``responderGLN``):
    #: configuration of the node's operator, never on the ledger. None: said as null.
    responder_gln: str | None = None

    def __post_init__(self) -> None:
        if self.public_url is not None:
            check_public_url(self.public_url)
        if self.responder_gln is not None and not _is_gln(self.responder_gln):
            raise ValueError(f"responder GLN {self.responder_gln!r} is not a GLN (13 digits "
                             "with its check digit)")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"trusted proxy {proxy!r} is not an IP address or network "
                                 "(e.g. 10.0.0.5 or 10.0.0.0/24)") from None


def _is_gln(text: str) -> bool:
    return len(text) == 13 and text.isascii() and text.isdigit() \
        and check_digit(text[:12]) == text[12]


def check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValueError(f"public URL {url!r} must be http(s)://host[:port][/path], with no "
                         "query, fragment or credentials")


def default_public_url(host: str, port: int) -> str:
    if host in _WILDCARDS:
        host = "127.0.0.1"
    elif ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_url_of(config: NodeConfig, network: NetworkConfig | None, org: str | None) -> str:
    """The configured public URL; else this peer's ``api`` in network.json; else the
    address it listens on."""
    if config.public_url is not None:
        return config.public_url.rstrip("/")
    mine = [p["api"] for p in network.peers if p.get("org") == org and p.get("api")] \
        if network is not None else []
    if mine:
        check_public_url(mine[0])
        return mine[0].rstrip("/")
    return default_public_url(config.host, config.port)


def build(config: NodeConfig) -> tuple[FastAPI, Node]:
    datadir = DataDir(config.data)
    ledger = datadir.open_ledger()
    key = Identity.load(datadir.key_file)
    peer: Peer | None = None
    network: NetworkConfig | None = None
    org: str | None = None
    if config.network is None:
        node = Node(ledger, SoloOrderer(config.block_max_txs, config.block_max_wait_ms))
    else:
        network = NetworkConfig.load(config.network)
        if network.chain_id != ledger.chain_id:
            raise NetworkConfigError(f"{config.network} is for chain {network.chain_id!r}; "
                                     f"this ledger is {ledger.chain_id!r}")
        org = ledger.genesis.peer_org(key.did) or "peer"
        node = Node(ledger, JetStreamOrderer(network.ordering, key, ledger.chain_id,
                                             [p["did"] for p in ledger.genesis.peers], name=org))
        peer = Peer(node, key, network.ordering, network.quorum,
                    AttestationArchive(datadir.attestations_file, ledger.chain_id))
    tokens = TokenService(key, ledger, config.token_lifetime,
                          public_url=public_url_of(config, network, org),
                          replay_file=datadir.replay_file)

    async def gateway(running: Node) -> Gateway:
        orgs = None if config.custodians is None else list(config.custodians)
        return await open_gateway(running, datadir, orgs,
                                  rate_limits=config.rate_limits)

    async def supply(running: Node) -> SupplyService:
        orgs = None if config.supply_orgs is None else list(config.supply_orgs)
        return await open_supply(running, datadir, orgs)

    async def claims(running: Node) -> ClaimsService:
        orgs = None if config.claims_orgs is None else list(config.claims_orgs)
        return await open_claims(running, datadir, orgs)
    async def rewards(running: Node, custodian_of: Callable[[str], Custodian | None]
                      ) -> RewardsService:
        orgs = None if config.rewards_orgs is None else list(config.rewards_orgs)
        return await open_rewards(running, datadir, custodian_of, orgs)

    app = create_app(node, tokens, open_gateway=None if config.custodians == () else gateway,
                     context_max_age=config.context_max_age, peer=peer,
                     rate_limits=config.rate_limits,
                     open_supply=None if config.supply_orgs == () else supply,
                     responder_gln=config.responder_gln,
                     open_claims=None if config.claims_orgs == () else claims,
                     open_rewards=None if config.rewards_orgs == () else rewards)
    return app, node


def uvicorn_options(config: NodeConfig) -> dict[str, Any]:
    """How uvicorn serves the node (``uvicorn.run``'s / ``uvicorn.Config``'s keywords).
    Forwarded headers are honoured only from the proxies the operator names: uvicorn's
    own default believes them from 127.0.0.1, which would let any local client (or any
    client of an unrelated local proxy) claim any address, and so a fresh rate-limit
    budget with every request."""
    return {"host": config.host, "port": config.port, "log_level": config.log_level,
            "access_log": False, "proxy_headers": bool(config.trusted_proxies),
            "forwarded_allow_ips": list(config.trusted_proxies) or None}


def tune_gc() -> None:
    """Collect less often. Each request allocates thousands of short-lived objects, so
    the default thresholds run a collection every few requests, and the full ones walk
    the long-lived heap (state cache, replay memory), stalling every request in flight
    for tens of milliseconds: measured as p99 of 20-50 ms against 10 ms with this (see
    docs/benchmarks.md). What exists at start-up (modules, models) is frozen out of it."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def serve(config: NodeConfig) -> None:
    app, node = build(config)
    logging.basicConfig(level=config.log_level.upper())
    tune_gc()
    try:
        uvicorn.run(app, **uvicorn_options(config))
    finally:
        node.ledger.close()
