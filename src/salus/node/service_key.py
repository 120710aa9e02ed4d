"""Keys a node holds to act for an organisation it hosts, and the writer that signs with them.

An application's service (the records gateway, the supply capture service) signs its
transactions with a key of its own: a member of the organisation holding the one role the
service needs, enrolled by the organisation's admin the first time the node starts with
the admin's key, never the admin's key itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.identity import Identity
from salus.ledger import transaction
from salus.ledger.executor import nonce_key
from salus.ledger.members import has_role, member_of_key
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.node.node import Node, NodeUnavailable
from salus.node.receipt import Receipt

log = logging.getLogger("salus.node")


def hosted_orgs(node: Node, datadir: DataDir, types: frozenset[str],
                key_path: Callable[[DataDir, str], Path]) -> list[str]:
    """Active organisations of ``types`` this node acts for: those whose admin key or
    service key (``key_path``) is in the data directory."""
    out = []
    for _key, value, _h in node.ledger.store.state_scan("org/", "", 10_000):
        org = json.loads(value)
        if org["type"] in types and org["to"] is None and (
                admin_key_path(datadir, org["id"]).exists()
                or key_path(datadir, org["id"]).exists()):
            out.append(org["id"])
    return out


class ServiceKeyError(RuntimeError):
    """A service key cannot be set up (not enrolled, and no admin key to enrol it)."""


@dataclass
class _Call:
    contract: str
    method: str
    args: dict[str, Any]
    now_ms: int
    want_commit: bool
    result: asyncio.Future[Receipt | asyncio.Future[Receipt]]


class LedgerWriter:
    """Signs one key's transactions with strictly increasing nonces, in submission order.

    Calls that arrive while the key's last transactions are being handed to the node wait
    and then go together: the next caller to hold the lock signs every waiting call, in
    arrival order, and hands them to the node in one :meth:`Node.enqueue`. So a busy
    service key is not one transaction per round trip through the node's checks (which
    made every request of a service queue behind the others' admission, and each commit
    a block of its own), and the nonces still follow the order of the calls."""

    def __init__(self, node: Node, key: Identity) -> None:
        self.node = node
        self.key = key
        self._lock = asyncio.Lock()
        self._nonce = 0
        self._read_nonce = True
        self._waiting: list[_Call] = []

    def _next_nonce(self) -> int:
        if self._read_nonce:
            # the ledger's last nonce, unless this writer's own are ahead of it (signed,
            # not yet committed): never one it has used, never one the ledger has
            committed = int(self.node.ledger.state_value(nonce_key(self.key.did)) or 0)
            self._nonce, self._read_nonce = max(self._nonce, committed), False
        self._nonce += 1
        return self._nonce

    async def send(self, contract: str, method: str, args: dict[str, Any], now_ms: int, *,
                   want_commit: bool) -> Receipt | asyncio.Future[Receipt]:
        """Hand one transaction to the node. Returns the refusal or pending receipt, or a
        future of the commit receipt."""
        call = _Call(contract, method, args, now_ms, want_commit,
                     asyncio.get_running_loop().create_future())
        self._waiting.append(call)
        try:
            async with self._lock:  # nonce order must be submission order
                if not call.result.done():  # no earlier holder took it: take all waiting
                    calls, self._waiting = self._waiting, []
                    await self._hand_over(calls)
        except asyncio.CancelledError:
            if call in self._waiting:  # never signed: never sent
                self._waiting.remove(call)
            raise
        return call.result.result()

    async def _hand_over(self, calls: list[_Call]) -> None:
        """Sign ``calls`` in order and enqueue them, a run of equal ``want_commit`` at a
        time; settle each call's result."""
        chain = self.node.ledger.chain_id
        try:
            start = 0
            while start < len(calls):
                end = start
                while end < len(calls) and calls[end].want_commit == calls[start].want_commit:
                    end += 1
                run = calls[start:end]
                raws = [transaction.encode(self.key, chain=chain, contract=c.contract,
                                           method=c.method, args=c.args,
                                           nonce=self._next_nonce(), time=c.now_ms)
                        for c in run]
                results = await self.node.enqueue(raws, want_commit=run[0].want_commit)
                for c, result in zip(run, results, strict=True):
                    if isinstance(result, Receipt) and result.status == "refused":
                        self._read_nonce = True  # the key may have been used elsewhere
                    c.result.set_result(result[1] if isinstance(result, tuple) else result)
                start = end
        except BaseException as exc:
            for c in calls:
                if c.result.done():
                    continue
                if isinstance(exc, Exception):
                    c.result.set_exception(exc)
                else:  # the holder was cancelled: whether these went is unknown
                    c.result.cancel()
            if not isinstance(exc, Exception):
                raise


#: How long a starting service retries its key's enrolment while the ordering service is busy
#: (a network peer may start before its NATS cluster has elected stream leaders).
ENROL_PATIENCE_S = 60.0


async def _enrol(writer: LedgerWriter, org: str, method: str, args: dict[str, Any],
                 now_ms: int) -> Receipt:
    loop = asyncio.get_running_loop()
    started = loop.time()
    delay = 0.1
    while True:
        waited = loop.time() - started
        try:
            result = await writer.send("membership", method, args, now_ms + int(waited * 1000),
                                       want_commit=True)
            return result if isinstance(result, Receipt) else await result
        except NodeUnavailable as exc:
            if exc.code != "BUSY" or waited + delay > ENROL_PATIENCE_S:
                raise ServiceKeyError(f"could not enrol the service key of {org}: {exc.code} "
                                      f"{exc.reason}") from None
            log.info("ordering not ready (%s); retrying the service key enrolment of %s",
                     exc.reason, org)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def service_key(node: Node, path: Path, org: str, role: str, admin: Identity | None,
                      now_ms: int) -> Identity:
    """The key at ``path`` (made there if absent), a member of ``org`` holding ``role``:
    enrolled, or granted the role, with ``admin``'s key if it is not yet."""
    ledger = node.ledger
    key = Identity.load(path) if path.exists() else Identity.generate()
    if not path.exists():
        key.save(path)
    member = member_of_key(ledger.state_value, key.did)
    if not has_role(ledger.state_value, member, role, org, ledger.height):
        if admin is None:
            raise ServiceKeyError(
                f"the {role} key of {org} ({key.did}) is not enrolled; an admin of {org} must "
                f"run: salus tx membership enrol org={org} member={key.did} roles={role}")
        if member is None:
            method, args = "enrol", {"org": org, "member": key.did, "roles": [role],
                                     "encryption_key": key.encryption_did}
        else:
            method, args = "grant_roles", {"member": key.did, "roles": [role]}
        receipt = await _enrol(LedgerWriter(node, admin), org, method, args, now_ms)
        if not receipt.valid:
            raise ServiceKeyError(f"could not enrol the {role} key of {org}: {receipt.code} "
                                  f"{receipt.reason}")
        log.info("enrolled %s key %s for %s", role, key.did, org)
    return key
