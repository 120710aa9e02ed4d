"""Who may connect to the ordering cluster's NATS servers, and what each may do there.

With an ``authorization`` block in its configuration a NATS server refuses anonymous
connections. Three kinds of login:

* **each peer** (user = its organisation): may publish only to its chain's subjects
  (``<subject>.txs``, ``.cut``, ``.attest``) and to the few JetStream API subjects a peer
  uses on its two streams: stream info and stream create (the first peer up makes the
  streams; creating a stream that exists already changes nothing), consumer create,
  consumer info and next-message requests (each peer reads through its own ephemeral
  consumer). It may not update, purge or delete a stream, delete a consumer, nor read
  or publish anything else; it may subscribe only to replies addressed to it (its own
  inbox prefix, :func:`salus.ordering.jetstream.inbox_prefix`), so it cannot listen to
  another peer's.
* **the operator**: everything (streams, purges, tests); one per NATS operator.
* **routes**: the cluster's servers authenticate to each other with a route login of
  their own, so that nothing else can join the cluster as a server.

Passwords are random (``secrets``), written to files readable by their owner only.
The servers' configuration holds them as given: nats-server also accepts bcrypt hashes
there (``nats server passwd``), which a deployment across organisations should use
(docs/operations.md).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.ordering.jetstream import JetStreamSettings, inbox_prefix

OPERATOR = "operator"
ROUTE_USER = "route"
_JS_API = "$JS.API"


@dataclass(frozen=True)
class NatsUser:
    name: str
    password: str
    #: None: no limit (the operator).
    permissions: dict[str, Any] | None = None

    def to_conf(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"user": self.name, "password": self.password}
        if self.permissions is not None:
            entry["permissions"] = self.permissions
        return entry


@dataclass(frozen=True)
class ClusterAuth:
    """Every login of a cluster's servers: the users, and the routes' own password."""

    users: list[NatsUser]
    route_password: str


def new_password() -> str:
    return secrets.token_urlsafe(24)


def peer_permissions(settings: JetStreamSettings, user: str) -> dict[str, Any]:
    """The narrowest permissions under which a peer of ``settings``' chain works."""
    publish = [settings.txs_subject, settings.cut_subject, settings.attest_subject]
    for stream in (settings.stream, settings.attest_stream):
        publish += [f"{_JS_API}.STREAM.INFO.{stream}",
                    f"{_JS_API}.STREAM.CREATE.{stream}",
                    f"{_JS_API}.CONSUMER.CREATE.{stream}",
                    f"{_JS_API}.CONSUMER.CREATE.{stream}.*",  # named, unfiltered (nats-py)
                    f"{_JS_API}.CONSUMER.INFO.{stream}.*",
                    f"{_JS_API}.CONSUMER.MSG.NEXT.{stream}.*"]
    return {"publish": {"allow": publish},
            "subscribe": {"allow": [f"{inbox_prefix(user)}.>"]}}


def authorization_conf(users: list[NatsUser]) -> str:
    """The ``authorization`` block of a nats-server configuration (NATS reads JSON)."""
    return "authorization {\n  users: " + json.dumps([u.to_conf() for u in users], indent=2) \
        .replace("\n", "\n  ") + "\n}"


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # if it existed with a wider mode
