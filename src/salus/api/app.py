"""The node's REST API. Every handler is a thin call into the node or the ledger.

Who may read what is each endpoint's :class:`~salus.api.read_rules.ReadRule`, declared
below (and beside the routes of each application). The public sees proofs, not data:
tree heads, inclusion and consistency proofs, block headers, transaction ids and codes.
A transaction's bytes go to its signer, auditors and regulators, and peer operators;
raw state to auditors and peer operators; members read views of their own data
(bearer token from ``POST /v1/auth/token``). Submission is public: a transaction is
self-authenticating, and admission decides.
"""


import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Query, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

import salus
from salus.api import errors, network, openapi_doc, scopes
from salus.api.auth import Principal, TokenService
from salus.api.body import json_body, parse_json, read_capped
from salus.api.errors import ApiError
from salus.api.params import Height, LeafHash, LeafIndex, TreeSize, TxId
from salus.api.rate_limit import RATE_LIMITED, RateLimiter, RateLimits, client_address, retry_after
from salus.api.read_rules import (
    AUDITOR,
    MEMBER,
    OVERSEERS,
    PEER_OPERATOR,
    PUBLIC,
    Guardian,
    Own,
    ReadRule,
    Sees,
    Signer,
    Viewer,
    ViewerDep,
    public,
)
from salus.applications import APPLICATIONS, Mounting
from salus.canonical import compact_json, loads_strict
from salus.claims.service import ClaimsService
from salus.identity.assertion import TOKEN_PATH
from salus.ledger.codes import Rejected
from salus.ledger.contracts.membership import recovery_key
from salus.ledger.export import export_lines
from salus.ledger.ledger import LedgerError
from salus.ledger.members import PATIENT_KIND, key_index, member_key, member_of_key
from salus.ledger.transaction import SIGNATURE_BYTES
from salus.network.peer import Peer
from salus.node.node import MAX_BATCH, Node, NodeUnavailable
from salus.node.receipt import Receipt
from salus.records.custodian import Custodian
from salus.records.gateway import Gateway
from salus.rewards.service import RewardsService
from salus.supply.service import SupplyService
from salus.web import routes as web_routes

log = logging.getLogger("salus.api")

MAX_ENTRIES = 1000
MAX_SCAN = 1000
#: A token request is a form of four short fields; a client assertion is well under 2 KB.
MAX_TOKEN_REQUEST = 64 * 1024
#: A batch body: MAX_BATCH transactions of 2.4 KB of base64 each on average (a typical
#: one is a few hundred bytes), or a few hundred of the largest a node takes.
MAX_BATCH_REQUEST = 32 * 1024 * 1024

# -- who may read what (salus.api.read_rules) ------------------------------------------
#: Who may see transactions' bytes. A health ledger's entries are metadata about patients
#: (who granted whom, who read whose record), not public documents as Certificate
#: Transparency's certificates are (docs/architecture.md, "Who reads what").
TX_READERS = (*OVERSEERS, PEER_OPERATOR)
READ_TX = ReadRule("GET", "/v1/tx/{tx_id}", (
    Sees((PUBLIC,), "its receipt (id, code, height, block), the signed tree head, and its "
                    "inclusion proof by leaf hash", "proof"),
    Sees((Signer("signer"), *TX_READERS), "also its bytes and envelope, its reason and its "
                                          "read/write detail", "bytes"),
))
READ_BLOCK = ReadRule("GET", "/v1/blocks/{height}", (
    Sees((PUBLIC,), "its signed header, hash and signature, and each transaction's id, "
                    "leaf index and code", "header"),
    Sees(TX_READERS, "also each transaction's reason", "reasons"),
))
READ_EXPORT = ReadRule("GET", "/v1/ledger/export", (
    Sees(TX_READERS, "every block with its transactions' bytes (to bootstrap a peer)"),))
READ_ENTRIES = ReadRule("GET", "/v1/log/entries", (
    Sees(TX_READERS, "the log's leaves: transactions' bytes"),))
#: Raw state is every application's data unfiltered: for whoever audits the whole
#: ledger or runs a copy of it. Everyone else reads the views below and beside each app.
RAW_STATE = (AUDITOR, PEER_OPERATOR)
READ_STATE_SCAN = ReadRule("GET", "/v1/state", (Sees(RAW_STATE, "raw state under a prefix"),))
READ_STATE_KEY = ReadRule("GET", "/v1/state/{key:path}", (Sees(RAW_STATE, "one raw state entry"),))
#: Organisation members' records are the consortium's staff directory: a patient needs a
#: clinician's member id and encryption key to grant and share, a clinician a
#: colleague's. A patient's record (keys, encryption key, recovery set) is theirs.
READ_MEMBERS = ReadRule("GET", "/v1/members", (
    Sees(OVERSEERS, "every organisation and every member's record", "all"),
    Sees((MEMBER,), "every organisation, every organisation member's record, and their own "
                    "record", "directory"),
))
READ_MEMBER = ReadRule("GET", "/v1/members/{member_id}", (
    Sees((MEMBER,), "an organisation member's record, by member id or any key they held",
         "staff record"),
    Sees((Own("member", "patient"), *OVERSEERS), "a patient's record", "patient record"),
))
READ_RECOVERY = ReadRule("GET", "/v1/members/{member_id}/recovery", (
    Sees((Own("member", "patient"), Guardian("member"), *OVERSEERS),
         "the patient's recovery set, open proposals and last closed one, and which proposed "
         "keys are already a member's"),))
READ_STATUS = public("GET", "/v1/status", "the chain, its head and log, this node's version")
READ_CONTRACTS = public("GET", "/v1/contracts",
                        "every contract method, who may call it, its arguments' JSON Schema")
READ_CONTRACT = public("GET", "/v1/contracts/{contract}/{method}", "one contract method")
READ_STH = public("GET", "/v1/log/sth", "a signed tree head")
READ_PROOF = public("GET", "/v1/log/proof", "an inclusion proof of a leaf hash")
READ_CONSISTENCY = public("GET", "/v1/log/consistency",
                          "a consistency proof between two tree sizes")
READ_SMART = public("GET", "/.well-known/smart-configuration", "SMART discovery")
READ_HEALTH = public("GET", "/health", "liveness, height, halt reason")
READ_METRICS = public("GET", "/metrics",
                      "Prometheus metrics (counts and timings; no identifiers)")


class SubmitOne(BaseModel):
    tx: str = Field(description="base64 of the signed transaction's exact bytes")


class SubmitMany(BaseModel):
    txs: list[str] = Field(description="base64 of each signed transaction", max_length=MAX_BATCH)


class ReceiptsResponse(JSONResponse):
    """Receipts, rendered with :func:`~salus.canonical.compact_json`: a batch answer holds
    up to 10,000 of them, and the standard encoder was a third of the event loop's time
    under load (docs/benchmarks.md)."""

    def render(self, content: Any) -> bytes:
        return compact_json(content)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "BAD_REQUEST", "transactions must be standard base64") from None


def _hex32(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise ApiError(400, "BAD_REQUEST", f"{what} must be 64 hex digits")
    return value


def create_app(node: Node, tokens: TokenService, *, manage_node: bool = True,
               open_gateway: Callable[[Node], Awaitable[Gateway]] | None = None,
               context_max_age: float = 1.0, peer: Peer | None = None,
               rate_limits: RateLimits | None = None,
               open_supply: Callable[[Node], Awaitable[SupplyService]] | None = None,
               responder_gln: str | None = None,
               open_claims: Callable[[Node], Awaitable[ClaimsService]] | None = None,
               open_rewards: Callable[[Node, Callable[[str], Custodian | None]],
                                      Awaitable[RewardsService]] | None = None) -> FastAPI:
    """The node's API. ``open_gateway`` (called once the node runs) enables the records
    application: its REST routes and the FHIR facade. ``peer`` makes it a network peer's
    API: k-of-n receipts and the ``/v1/network`` endpoints. ``rate_limits``: the budgets
    of client addresses and signers (salus.api.rate_limit; default: its defaults).
    ``open_supply`` (called once the node has caught up) enables the supply application's
    capture and query routes.

    ``open_claims`` (called once the node has caught up) enables the claims services
    (``Claim/$submit`` and the claims reads).

    ``responder_gln``: the GLN this node answers pack verifications under (LMS
    ``responderGLN``; None if the operator configured none).

    ``open_rewards`` (called once the node has caught up, with a lookup of the records
    custodians the gateway hosts) starts the sponsors' rewards services."""
    ledger = node.ledger
    # One transaction's body: twice the base64 of the largest transaction, so that one a
    # little over the limit is still refused by admission with its receipt (TOO_LARGE).
    max_tx_request = 2 * 4 * -(-ledger.executor.max_tx_bytes // 3) + 1024
    limiter = RateLimiter(rate_limits or RateLimits(), node.metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if manage_node:
            if peer is not None:
                await peer.start()
            await node.start()
        opening: asyncio.Task[None] | None = None
        supplying: asyncio.Task[None] | None = None
        claiming: asyncio.Task[None] | None = None
        rewarding: asyncio.Task[None] | None = None
        try:
            if open_gateway is not None:
                if node.caught_up:
                    app.state.gateway = await open_gateway(node)
                else:  # a peer that is behind would decide on stale consents and nonces
                    app.state.records_unavailable = (
                        "this peer is catching up with the network; its records gateway "
                        "opens once it has")
                    opening = asyncio.create_task(
                        _open_service(open_gateway, "gateway", "records gateway"))
            if open_supply is not None:
                supplying = await _open_when_caught_up(open_supply, "supply", "supply service")
            if open_claims is not None:
                claiming = await _open_when_caught_up(open_claims, "claims", "claims service")
            if open_rewards is not None:
                rewarding = asyncio.create_task(_open_service(
                    lambda running: open_rewards(running, _custodian), "rewards",
                    "rewards service"))
                if node.caught_up:
                    await rewarding
            yield
        finally:
            for task in (opening, supplying, claiming, rewarding):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if app.state.supply is not None:
                app.state.supply.close()
            if app.state.claims is not None:
                app.state.claims.close()
            if app.state.rewards is not None:
                await app.state.rewards.stop()
            if app.state.gateway is not None:
                await app.state.gateway.stop()
            if manage_node:
                await node.stop()
                if peer is not None:
                    await peer.stop()
                tokens.close()

    async def _open_when_caught_up(opener: Callable[[Node], Awaitable[Any]], name: str,
                                   what: str) -> asyncio.Task[None] | None:
        """Open an application's service now if the node has caught up; else say why it is
        not open yet and return the task that opens it once the node has."""
        if node.caught_up:
            await _open_service(opener, name, what)
            return None
        setattr(app.state, f"{name}_unavailable", f"this peer is catching up with the "
                f"network; its {what} opens once it has")
        return asyncio.create_task(_open_service(opener, name, what))

    async def _open_service(opener: Callable[[Node], Awaitable[Any]], name: str, what: str
                            ) -> None:
        """Open an application's service once the node has caught up: ``app.state.<name>``,
        or the reason it could not open in ``<prefix>_unavailable``, reported on every
        request to it (not fatal to the peer)."""
        await node.wait_caught_up()
        unavailable = {"gateway": "records_unavailable", "supply": "supply_unavailable",
                       "claims": "claims_unavailable",
                       "rewards": "rewards_unavailable"}[name]
        try:
            setattr(app.state, name, await opener(node))
            setattr(app.state, unavailable, None)
        except Exception as exc:
            log.error("the %s could not open: %s", what, exc)
            setattr(app.state, unavailable, f"the {what} could not open: {exc}")

    def _custodian(org: str) -> Custodian | None:
        """The records custodian (vault) this node's gateway hosts for ``org``."""
        gateway = app.state.gateway
        return None if gateway is None else gateway.custodians.get(org)

    # FastAPI's OpenTelemetry hook is off: Salus exports Prometheus metrics (/metrics) and
    # configures no OpenTelemetry provider, yet the hook asked OpenTelemetry whether one
    # was configured on every request (~9 us, a twentieth of a pack verification).
    app = FastAPI(
        title="Salus node API", version=salus.__version__, lifespan=lifespan,
        description="A permissioned ledger for health data. Log endpoints follow Certificate "
                    "Transparency (RFC 9162); authentication follows SMART Backend Services.",
        telemetry={"tracing": False, "metrics": False, "logs": False})
    # each application's answers' shape under its prefixes (FHIR OperationOutcomes under /fhir/)
    errors.install(app, {prefix: shape for application in APPLICATIONS
                         for prefix, shape in application.error_shapes().items()})
    app.state.node = node
    app.state.gateway = None
    app.state.records_unavailable = None
    app.state.supply = None
    app.state.supply_unavailable = "this node does not run the supply application"
    app.state.claims = None
    app.state.claims_unavailable = "this node does not run the claims services"
    app.state.rewards = None
    app.state.rewards_unavailable = "this node does not run the rewards service"
    app.state.tokens = tokens
    app.state.rate_limiter = limiter

    async def member(request: Request) -> Principal:
        return tokens.from_request(request)

    # -- transactions --------------------------------------------------------------------
    Attestations = Annotated[int, Query(
        ge=0, le=64, description="On a network, with wait: also wait for matching "
        "attestations of the block from this many organisations (k-of-n receipt)")]

    async def _submit(raws: list[bytes], wait: bool, timeout: float,
                      attestations: int = 0, waits: dict[str, float] | None = None
                      ) -> list[Receipt]:
        if attestations and peer is None:
            raise ApiError(400, "NOT_A_NETWORK", "attestations are given by network peers; "
                                                 "this is an embedded node")
        if attestations and not wait:
            raise ApiError(400, "BAD_REQUEST", "attestations need wait=true")
        if peer is not None and attestations > peer.org_count:
            raise ApiError(400, "BAD_REQUEST",
                           f"the network has only {peer.org_count} organisations")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            receipts = await node.submit(
                raws, wait=wait, timeout=timeout,
                budget=None if waits is None else limiter.signer_budget(waits))
        except NodeUnavailable as exc:
            status = 413 if exc.code == "TOO_LARGE" else 503
            raise ApiError(status, exc.code, exc.reason,
                           {"Retry-After": "1"} if status == 503 else None) from None
        if attestations and peer is not None:
            await _attest(receipts, attestations, max(0.0, deadline - loop.time()))
        return receipts

    async def _attest(receipts: list[Receipt], k: int, timeout: float) -> None:
        assert peer is not None
        blocks = {(r.height, r.block_hash) for r in receipts
                  if r.status == "committed" and r.height is not None and r.block_hash}
        found: dict[tuple[int, str], list[dict[str, Any]]] = {}

        async def one(height: int, block_hash: str) -> None:
            try:
                atts = await peer.attestations(height, bytes.fromhex(block_hash), k, timeout)
                found[(height, block_hash)] = [a.to_json() for a in atts]
            except TimeoutError:
                pass

        await asyncio.gather(*(one(h, b) for h, b in blocks))  # type: ignore[arg-type]
        for r in receipts:
            key = (r.height, r.block_hash)
            if key in found:
                r.attestations = found[key]  # type: ignore[index]
            elif r.status == "committed":
                r.reason = (f"committed; {k} matching attestations did not arrive in time: "
                            f"GET /v1/network/attestations/{r.height}")

    async def _offered(request: Request, model: type[SubmitOne | SubmitMany]) -> list[str]:
        """The transactions a submission offers, once its address's budget allows them:
        an address with none left is refused before its body is read, one with fewer
        than offered before any is decoded."""
        address = client_address(request)
        limiter.check_address(address)
        limit = max_tx_request if model is SubmitOne else MAX_BATCH_REQUEST
        body = parse_json(await read_capped(request, limit), model)
        txs = [body.tx] if isinstance(body, SubmitOne) else body.txs
        limiter.take_address(address, len(txs))
        return txs

    @app.post("/v1/tx", tags=["transactions"], summary="Submit one signed transaction",
              openapi_extra=json_body(SubmitOne))
    async def submit_one(request: Request, wait: bool = False,
                         timeout: Annotated[float, Query(gt=0, le=120)] = 30.0,
                         attestations: Attestations = 0) -> JSONResponse:
        (tx,) = await _offered(request, SubmitOne)
        waits: dict[str, float] = {}
        (receipt,) = await _submit([_b64(tx)], wait, timeout, attestations, waits)
        if receipt.status == "refused":
            limited = receipt.code == RATE_LIMITED
            return ReceiptsResponse(
                {**errors.error_body(receipt.code or "", receipt.reason),
                 "receipt": receipt.to_json()}, 429 if limited else 422,
                headers={"Retry-After": retry_after(waits[receipt.tx_id])} if limited else None)
        return ReceiptsResponse(receipt.to_json(), 200 if receipt.status == "committed" else 202)

    @app.post("/v1/txs", tags=["transactions"], summary="Submit a batch of signed transactions",
              openapi_extra=json_body(SubmitMany))
    async def submit_many(request: Request, wait: bool = False,
                          timeout: Annotated[float, Query(gt=0, le=120)] = 30.0,
                          attestations: Attestations = 0) -> JSONResponse:
        txs = await _offered(request, SubmitMany)
        waits: dict[str, float] = {}
        receipts = await _submit([_b64(t) for t in txs], wait, timeout, attestations, waits)
        # Each receipt says which were over their signer's budget; the header says when
        # the first of them could be retried.
        return ReceiptsResponse({"receipts": [r.to_json() for r in receipts]},
                                headers={"Retry-After": retry_after(min(waits.values()))}
                                if waits else None)

    @READ_TX.route(app, tags=["transactions"],
                   summary="A transaction's receipt and its inclusion proof in the current "
                           "tree; its bytes for its signer, auditors and peer operators")
    async def get_tx(tx_id: TxId, viewer: ViewerDep) -> dict[str, Any]:
        row = ledger.store.tx_by_id(_hex32(tx_id, "tx id"))
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"no committed transaction {tx_id}")
        block = ledger.store.block(row.height)
        assert block is not None
        sth = ledger.sth()
        try:
            envelope = loads_strict(row.raw[SIGNATURE_BYTES:])
        except ValueError:
            envelope = None
        signer = envelope.get("signer") if isinstance(envelope, dict) else None
        full = READ_TX.allows(viewer, "bytes", signer=signer)
        doc: dict[str, Any] = {
            "receipt": Receipt(row.id.hex(), "committed", row.code, row.reason if full else "",
                               row.height, row.seq, block.hash.hex()).to_json(),
            "leaf_hash": row.id.hex(),
            "sth": sth.to_json(),
            "inclusion": {"leaf_index": row.seq, "tree_size": sth.tree_size,
                          "audit_path": [p.hex() for p in
                                         ledger.inclusion_proof(row.seq, sth.tree_size)]},
        }
        if full:
            doc["tx"] = base64.b64encode(row.raw).decode()
            doc["envelope"] = envelope
            if row.detail:
                doc["detail"] = json.loads(row.detail)
        return doc

    @READ_BLOCK.route(app, tags=["blocks"], summary="A block's signed header and results")
    async def get_block(height: Height, viewer: ViewerDep) -> dict[str, Any]:
        found = ledger.block(height)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"no block at height {height} (head is {ledger.height})")
        row, header = found
        reasons = READ_BLOCK.allows(viewer, "reasons")
        return {
            "hash": row.hash.hex(), "header": header.to_json(), "signer": row.signer,
            "signature": base64.b64encode(row.signature).decode(),
            "txs": [{"tx_id": t.id.hex(), "leaf_index": t.seq, "code": t.code,
                     **({"reason": t.reason} if reasons else {})}
                    for t in ledger.store.txs_of_block(height)],
        }

    @READ_STATUS.route(app, tags=["node"], summary="Chain, head and log of this node")
    async def status() -> dict[str, Any]:
        head = ledger.head
        return {
            "chain_id": ledger.chain_id, "orderer": ledger.genesis.orderer,
            "peer": None if peer is None else {"org": peer.org, "did": peer.key.did,
                                               "diverged": node.diverged},
            "height": head.height, "head_hash": ledger.head_row.hash.hex(),
            "state_hash": head.state_hash.hex(), "log_size": head.log_size,
            "log_root": head.log_root.hex(), "time": head.time, "halted": node.halted,
            "backlog": getattr(node.orderer, "backlog", None), "version": salus.__version__,
            "contracts": ledger.registry.contracts,
        }

    @READ_CONTRACTS.route(
        app, tags=["transactions"],
        summary="Every contract method: who may call it, and its arguments' JSON Schema")
    async def list_contracts() -> dict[str, Any]:
        return {"methods": [m.describe() for m in ledger.registry.all_methods()]}

    @READ_CONTRACT.route(
        app, tags=["transactions"],
        summary="One contract method: who may call it, and its arguments' JSON Schema")
    async def get_contract_method(contract: str, method: str) -> dict[str, Any]:
        try:
            return ledger.registry.lookup(contract, method).describe()
        except Rejected as exc:
            raise ApiError(404, exc.code, exc.reason) from None

    @READ_EXPORT.route(
        app, tags=["blocks"],
        summary="Every block with its transactions, for bootstrapping a peer (JSON lines)")
    async def export_ledger(viewer: ViewerDep) -> FileResponse:
        READ_EXPORT.check(viewer)
        # Written whole on one worker thread: a read snapshot lives on one connection.
        fd, name = tempfile.mkstemp(prefix="salus-export-", suffix=".jsonl")

        def write() -> None:
            with os.fdopen(fd, "wb") as f:
                for line in export_lines(ledger.store):
                    f.write(line)

        try:
            await asyncio.get_running_loop().run_in_executor(None, write)
        except BaseException:
            os.unlink(name)
            raise
        return FileResponse(name, media_type="application/x-ndjson",
                            filename=f"{ledger.chain_id}-export.jsonl",
                            background=BackgroundTask(os.unlink, name))

    # -- the transparency log (Certificate Transparency's shape) -------------------------
    @READ_STH.route(app, tags=["log"], summary="The latest signed tree head")
    async def get_sth(tree_size: TreeSize | None = None) -> dict[str, Any]:
        if tree_size is None:
            return ledger.sth().to_json()
        sth = ledger.sth_at(tree_size)
        if sth is None:
            raise ApiError(404, "NOT_FOUND", f"no tree head was published at size {tree_size}")
        return sth.to_json()

    @READ_ENTRIES.route(app, tags=["log"], summary="Leaves start..end inclusive (may be fewer)")
    async def get_entries(start: LeafIndex, end: LeafIndex, viewer: ViewerDep
                          ) -> dict[str, list[str]]:
        READ_ENTRIES.check(viewer)
        size = ledger.log_size
        if start > end or start >= size:
            raise ApiError(400, "BAD_RANGE", f"need 0 <= start <= end and start < {size}")
        end = min(end, size - 1, start + MAX_ENTRIES - 1)
        rows = ledger.store.txs_in_range(start, end)
        return {"entries": [base64.b64encode(r.raw).decode() for r in rows]}

    @READ_PROOF.route(app, tags=["log"], summary="Inclusion proof of a leaf hash")
    async def get_proof(hash: LeafHash, tree_size: TreeSize) -> dict[str, Any]:
        row = ledger.store.tx_by_id(_hex32(hash, "hash"))
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"no leaf with hash {hash}")
        try:
            path = ledger.inclusion_proof(row.seq, tree_size)
        except LedgerError as exc:
            raise ApiError(400, "BAD_RANGE", str(exc)) from None
        return {"leaf_index": row.seq, "audit_path": [p.hex() for p in path]}

    @READ_CONSISTENCY.route(app, tags=["log"], summary="Consistency proof between two sizes")
    async def get_consistency(first: TreeSize, second: TreeSize) -> dict[str, list[str]]:
        try:
            proof = ledger.consistency_proof(first, second)
        except LedgerError as exc:
            raise ApiError(400, "BAD_RANGE", str(exc)) from None
        return {"proof": [p.hex() for p in proof]}

    # -- raw state (auditors and peer operators) ------------------------------------------
    @READ_STATE_SCAN.route(app, tags=["state"], summary="State entries under a key prefix")
    async def scan_state(viewer: ViewerDep, prefix: str = "", after: str = "",
                         limit: Annotated[int, Query(ge=1, le=MAX_SCAN)] = 100) -> dict[str, Any]:
        READ_STATE_SCAN.check(viewer)
        rows = ledger.store.state_scan(prefix, after, limit)
        return {"entries": [{"key": k, "value": json.loads(v), "height": h} for k, v, h in rows],
                "next": rows[-1][0] if len(rows) == limit else None}

    @READ_STATE_KEY.route(app, tags=["state"], summary="One state entry")
    async def get_state(key: str, viewer: ViewerDep) -> dict[str, Any]:
        READ_STATE_KEY.check(viewer)
        row = ledger.store.state_row(key)
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"no state at key {key!r}")
        return {"key": key, "value": json.loads(row[0]), "height": row[1]}

    # -- members: the staff directory, and each patient's own record ------------------------
    @READ_MEMBERS.route(app, tags=["members"], summary="Members, optionally of one organisation")
    async def list_members(viewer: ViewerDep, org: str | None = None, after: str = "",
                           limit: Annotated[int, Query(ge=1, le=MAX_SCAN)] = 100) -> dict[str, Any]:
        everyone = READ_MEMBERS.check(viewer) == "all"
        out, cursor = [], after
        while len(out) < limit:
            rows = ledger.store.state_scan("member/", cursor, MAX_SCAN)
            if not rows:
                break
            for key, value, _h in rows:
                cursor = key
                record = json.loads(value)
                if (org is None or record["org"] == org) and (
                        everyone or record["kind"] != PATIENT_KIND
                        or record["id"] == viewer.member_id):
                    out.append(record)
                    if len(out) == limit:
                        break
        orgs = [json.loads(v) for _k, v, _h in ledger.store.state_scan("org/", "", MAX_SCAN)]
        return {"organisations": orgs, "members": out,
                "next": f"member/{out[-1]['id']}" if len(out) == limit else None}

    def _member_record(member_id: str, viewer: Viewer) -> dict[str, Any]:
        """The member ``member_id`` names (a member id, or any key they ever held), if
        this viewer may see it; 404 if there is none."""
        record = ledger.state_value(member_key(member_id)) or member_of_key(
            ledger.state_value, member_id)
        if record is None:
            raise ApiError(404, "NOT_FOUND", f"no member {member_id}")
        part = "patient record" if record["kind"] == PATIENT_KIND else "staff record"
        READ_MEMBER.check(viewer, part, member=record["id"])
        return record

    @READ_MEMBER.route(app, tags=["members"],
                       summary="One member's record, by member id or by any key they held")
    async def get_member(member_id: str, viewer: ViewerDep) -> dict[str, Any]:
        return _member_record(member_id, viewer)

    @READ_RECOVERY.route(app, tags=["members"],
                         summary="A patient's recovery set and proposals (the patient, their "
                                 "guardians, overseers)")
    async def get_recovery(member_id: str, viewer: ViewerDep) -> dict[str, Any]:
        READ_RECOVERY.check(viewer, member=member_id)
        record = ledger.state_value(member_key(member_id))
        if record is None or record["kind"] != PATIENT_KIND:
            raise ApiError(404, "NOT_FOUND", f"no patient {member_id}")
        doc = ledger.state_value(recovery_key(member_id)) or {"open": [], "last": None}
        return {"patient": member_id, "recovery": record.get("recovery"),
                "open": doc["open"], "last": doc["last"],
                # the contract voids a proposal whose key has become a member's
                "key_owners": {p["new_key"]: ledger.state_value(key_index(p["new_key"]))
                               for p in doc["open"]}}

    # -- authentication ------------------------------------------------------------------
    @app.post(TOKEN_PATH, tags=["auth"], summary="OAuth2 token (JWT client assertion)",
              openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {
                  "schema": {"type": "object", "required": [
                      "grant_type", "client_assertion_type", "client_assertion"],
                      "properties": {k: {"type": "string"} for k in (
                          "grant_type", "client_assertion_type", "client_assertion", "scope")}}}}}})
    async def token(request: Request) -> JSONResponse:
        # Every refusal here counts against the address's authentication failures; an
        # address that has spent them is refused before its assertion is looked at.
        address = client_address(request)
        limiter.check_failures(address)
        try:
            raw = await read_capped(request, MAX_TOKEN_REQUEST)
            fields = parse_qs(raw.decode(errors="replace"))
            if twice := sorted(k for k, v in fields.items() if len(v) > 1):
                # RFC 6749 section 3.2: parameters MUST NOT be included more than once
                # (which of two assertions or scopes counts would be the reader's guess)
                raise ApiError(400, "INVALID_REQUEST",
                               f"parameters sent more than once: {', '.join(twice)}")
            form = {k: v[0] for k, v in fields.items()}
            result = tokens.issue(form.get("grant_type", ""),
                                  form.get("client_assertion_type", ""),
                                  form.get("client_assertion", ""), form.get("scope"))
            await tokens.written()  # a token only once its assertion's jti is on disk
        except ApiError as exc:
            limiter.failed(address, "auth_token", exc.code)
            raise
        return JSONResponse(result, headers={"Cache-Control": "no-store"})

    @READ_SMART.route(app, tags=["auth"], summary="SMART discovery")
    async def smart_configuration() -> dict[str, Any]:
        # The configured public URL, whatever Host the request named: clients make their
        # assertions for this endpoint, the only audience the node accepts.
        return {
            "token_endpoint": tokens.token_endpoint,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
            "grant_types_supported": ["client_credentials"],
            "scopes_supported": scopes.supported(),
            "capabilities": ["client-confidential-asymmetric", "permission-v1",
                             "permission-v2"],
        }

    # -- operations ----------------------------------------------------------------------
    @READ_HEALTH.route(app, tags=["node"], summary="Liveness and readiness")
    async def health() -> JSONResponse:
        ok = node.halted is None
        return JSONResponse({"status": "ok" if ok else "halted", "height": ledger.height,
                             "halted": node.halted}, 200 if ok else 503)

    @READ_METRICS.route(app, tags=["node"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(node.metrics.render(), media_type="text/plain; version=0.0.4")

    # The applications' routes come after the node's own: Starlette tries routes in order,
    # and the ledger's (submission, proofs, status) are the busiest; each application's
    # routes ahead of them cost every one of those requests a failed match per route.
    # Each application's, in the order of salus.applications.APPLICATIONS; then the routes
    # that must come after all of them (the FHIR facade's /fhir/{resource_type}, which
    # would take claims' /fhir/ExplanationOfBenefit).
    mounting = Mounting(app, ledger, member, limiter, context_max_age, responder_gln)
    for application in APPLICATIONS:
        application.routes(mounting)
    for application in APPLICATIONS:
        if application.last_routes is not None:
            application.last_routes(mounting)
    app.include_router(web_routes.build_router())
    if peer is not None:
        app.include_router(network.build_router(peer))

    def openapi() -> dict[str, Any]:
        """The generated document, plus each method's argument schema as a component
        (``<contract>.<method>``): what the ``args`` of a signed transaction must fit."""
        if app.openapi_schema is None:
            doc = openapi_doc.complete(get_openapi(title=app.title, version=app.version,
                                                   description=app.description, routes=app.routes))
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for m in ledger.registry.all_methods():
                schemas[m.full_name] = {**m.schema.json_schema, "title": m.full_name,
                                        "description": f"args of {m.signature()}. "
                                                       f"Who: {m.who.describe()}."}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
