"""``network.json``: what every peer of a network must agree on, and where to find them.

::

    {
      "format": "salus-network/1",
      "chain_id": "salus-net",
      "quorum": 2,                       # attestations a k-of-n receipt needs
      "ordering": {                      # salus.ordering.jetstream.JetStreamSettings
        "servers": ["nats://10.0.0.1:4222", ...],
        "stream": "SALUS_salus-net", "subject": "salus.salus-net",
        "replicas": 3, "max_txs": 2000, "max_wait_ms": 50, "max_age_s": 0,
        "user": "st-mary", "password_file": "nats.password",   # this peer's NATS login
        "tls_ca": "/etc/salus/ca.pem"
      },
      "peers": [{"org": "st-mary", "api": "https://peer.st-mary.example:8700"}, ...]
    }

``stream``, ``subject`` and ``max_txs`` shape the blocks, so they must be identical on
every peer; ``servers``, the login (``user`` and ``password_file``, or ``credentials``)
and TLS files are each peer's own, so each peer has its own copy of this file. Relative
file paths are read from the file's own directory. ``peers`` is informational:
``salus network status`` asks them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from salus.ordering.jetstream import JetStreamSettings

NETWORK_FORMAT = "salus-network/1"
_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


class NetworkConfigError(ValueError):
    """A network.json that cannot be used."""


def stream_names(chain_id: str) -> tuple[str, str]:
    """Stream name and subject prefix for a chain (NATS allows neither dots nor spaces
    in a stream name, nor wildcards in a subject token)."""
    token = _TOKEN.sub("_", chain_id)
    return f"SALUS_{token}", f"salus.{token}"


@dataclass(frozen=True)
class NetworkConfig:
    chain_id: str
    ordering: JetStreamSettings
    quorum: int = 2
    peers: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": NETWORK_FORMAT, "chain_id": self.chain_id, "quorum": self.quorum,
                "ordering": asdict(self.ordering), "peers": self.peers}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> NetworkConfig:
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise NetworkConfigError(f"no network configuration at {path}") from None
        except ValueError as exc:
            raise NetworkConfigError(f"{path} is not JSON: {exc}") from None
        config = cls.from_json(doc, str(path))
        return replace(config, ordering=config.ordering.with_files_from(path.parent.resolve()))

    @classmethod
    def from_json(cls, doc: Any, where: str = "network.json") -> NetworkConfig:
        if not isinstance(doc, dict) or doc.get("format") != NETWORK_FORMAT:
            raise NetworkConfigError(f"{where}: not a network configuration "
                                     f"(expected format {NETWORK_FORMAT!r})")
        try:
            ordering = JetStreamSettings(**doc["ordering"])
            quorum = doc.get("quorum", 2)
            if type(quorum) is not int or quorum < 1:
                raise ValueError("quorum must be a positive integer")
            peers = doc.get("peers", [])
            if not isinstance(peers, list) or not all(
                    isinstance(p, dict) and isinstance(p.get("org"), str) for p in peers):
                raise ValueError("peers must be a list of {org, api}")
            return cls(str(doc["chain_id"]), ordering, quorum, peers)
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkConfigError(f"{where}: {exc}") from None
