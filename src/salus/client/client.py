"""``SalusClient``: the SDK. Keys never leave the caller; transactions are signed here.

    from salus.client import SalusClient
    from salus.identity import Identity

    with SalusClient("http://127.0.0.1:8700", Identity.load("me.key")) as c:
        receipt = c.call("notary", "anchor", {"hash": "..."})

Every call that the node refuses raises :class:`SalusError` with the node's stable
``code`` and its ``reason``; a committed-but-invalid transaction raises
:class:`TransactionRejected`, which carries the receipt.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from salus.client.claims import ClaimsClient
from salus.client.claims_metrics import ClaimsMetricsClient
from salus.client.footprints import FootprintsClient
from salus.client.records import RecordsClient
from salus.client.recovery import RecoveryClient
from salus.client.rewards import RewardsClient
from salus.client.rewards_reads import RewardsReadsClient
from salus.client.supply import SupplyClient
from salus.client.supply_notices import SupplyNoticesClient
from salus.client.verification import VerificationClient
from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.identity.assertion import (
    ASSERTION_TYPE,
    TOKEN_PATH,
    client_assertion,
    token_endpoint,
)
from salus.ledger import transaction
from salus.ledger.log import SignedTreeHead, leaf_hash, verify_consistency, verify_inclusion
from salus.node.receipt import Receipt


class SalusError(Exception):
    def __init__(self, code: str, reason: str, status: int | None = None,
                 problems: list[str] | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.status = status
        #: Every reason, when the node gave a list (a refused EPCIS document).
        self.problems = problems or []


class TransactionRejected(SalusError):
    def __init__(self, receipt: Receipt) -> None:
        super().__init__(receipt.code or "PENDING", receipt.reason)
        self.receipt = receipt


def _error_of(resp: httpx.Response) -> SalusError:
    """The node's error body as a SalusError: ``{"error": {code, reason}}``, or a FHIR
    OperationOutcome (the records and FHIR routes), whose issues become the reason."""
    try:
        doc = resp.json()
        if doc.get("resourceType") == "OperationOutcome":
            issues = "; ".join(f"{','.join(i.get('expression') or ['-'])}: "
                               f"{i.get('diagnostics', i.get('code'))}" for i in doc["issue"])
            code = "INVALID_FHIR" if resp.status_code == 422 else "FHIR_ERROR"
            return SalusError(code, issues, resp.status_code)
        if "error" not in doc and "detail" in doc:  # RFC 7807 (the EPCIS routes)
            return SalusError(str(doc.get("code") or doc.get("title")), str(doc["detail"]),
                              resp.status_code, [str(e) for e in doc.get("errors") or []])
        err = doc["error"]
        return SalusError(err["code"], err["reason"], resp.status_code)
    except (ValueError, KeyError, TypeError, AttributeError):
        return SalusError("HTTP_ERROR", resp.text[:200], resp.status_code)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80,
                                                                  "https": 443}.get(scheme)


class SalusClient(ClaimsClient, RecordsClient, RecoveryClient, SupplyClient, SupplyNoticesClient,
                  FootprintsClient, VerificationClient, ClaimsMetricsClient, RewardsClient,
                  RewardsReadsClient):
    """``scope``: the SMART scopes of this client's access tokens (default: all of the
    member's own; ``system/*.rs`` for a read-only client). ``public_url``: the node's
    public URL when this client reaches it at another address on purpose (through a
    tunnel or proxy); by default the node's advertised token endpoint is used, which
    must then be on ``base_url``'s origin."""

    def __init__(self, base_url: str, identity: Identity | None = None, *,
                 chain_id: str | None = None, timeout: float = 60.0,
                 clock: Callable[[], int] = wall_clock_ms, scope: str = "system/*.cruds",
                 public_url: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.scope = scope
        self._token_endpoint = None if public_url is None else token_endpoint(public_url)
        #: Where the times of signed transactions and read requests come from (ms since
        #: the epoch); the node refuses times too far from its own clock.
        self.clock = clock
        self._member_id: str | None = None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._chain_id = chain_id
        self._nonce = 0
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    def __enter__(self) -> SalusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, auth: bool = False, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        try:
            resp = self._http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise SalusError("UNREACHABLE", f"cannot reach {self.base_url}: {exc}") from None
        if resp.status_code >= 400:
            raise _error_of(resp)
        return resp.json()

    def event_stream(self, path: str, *, read_timeout: float = 60.0
                     ) -> Iterator[dict[str, Any]]:
        """A server-sent event stream of ``path``, read with your token: yields
        ``{"event": kind, "id": tx id, "data": {...}}`` as events arrive. Close the
        generator to disconnect."""
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "text/event-stream"}
        with self._http.stream("GET", path, headers=headers,
                               timeout=httpx.Timeout(10.0, read=read_timeout)) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise _error_of(resp)
            event: dict[str, Any] = {}
            for line in resp.iter_lines():
                if not line:  # a blank line ends an event
                    if "event" in event:
                        yield event
                    event = {}
                elif line.startswith("event:"):
                    event["event"] = line[6:].strip()
                elif line.startswith("id:"):
                    event["id"] = line[3:].strip()
                elif line.startswith("data:"):
                    event["data"] = json.loads(line[5:])

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = self.status()["chain_id"]
        return self._chain_id

    def next_nonce(self) -> int:
        """Strictly increasing, and above anything this key used before (microseconds)."""
        with self._lock:
            self._nonce = max(self._nonce + 1, time.time_ns() // 1000)
            return self._nonce

    def _need_identity(self) -> Identity:
        if self.identity is None:
            raise SalusError("NO_KEY", "this client has no key; pass identity=Identity.load(...)")
        return self.identity

    # -- writing -------------------------------------------------------------------------
    def sign(self, contract: str, method: str, args: dict[str, Any] | None = None, *,
             nonce: int | None = None, at: int | None = None) -> bytes:
        return transaction.encode(
            self._need_identity(), chain=self.chain_id, contract=contract, method=method,
            args=args or {}, nonce=self.next_nonce() if nonce is None else nonce,
            time=self.clock() if at is None else at)

    def submit(self, raw: bytes, *, wait: bool = True, timeout: float = 30.0,
               attestations: int = 0) -> Receipt:
        (receipt,) = self.submit_many([raw], wait=wait, timeout=timeout,
                                      attestations=attestations)
        if receipt.status == "refused":
            raise TransactionRejected(receipt)
        return receipt

    def submit_many(self, raws: list[bytes], *, wait: bool = True, timeout: float = 30.0,
                    attestations: int = 0) -> list[Receipt]:
        """Submit signed transactions. On a network peer, ``attestations=k`` (with
        ``wait``) also waits for k organisations' matching attestations of each block;
        check them offline with :func:`salus.network.attestation.check_quorum`."""
        params: dict[str, Any] = {"wait": wait, "timeout": timeout}
        if attestations:
            params["attestations"] = attestations
        doc = self._request("POST", "/v1/txs", params=params,
                            json={"txs": [base64.b64encode(r).decode() for r in raws]})
        return [Receipt.from_json(r) for r in doc["receipts"]]

    def network_status(self) -> dict[str, Any]:
        """A network peer's view: its head, each peer's attestations, the stream."""
        return self._request("GET", "/v1/network/status")

    def attestations(self, height: int) -> list[dict[str, Any]]:
        return self._request("GET", f"/v1/network/attestations/{height}")["attestations"]

    def call(self, contract: str, method: str, args: dict[str, Any] | None = None, *,
             timeout: float = 30.0) -> Receipt:
        """Sign, submit, wait for commit; raise unless the transaction is VALID."""
        receipt = self.submit(self.sign(contract, method, args), wait=True, timeout=timeout)
        if not receipt.valid:
            raise TransactionRejected(receipt)
        return receipt

    def rotate_key(self, new: Identity) -> dict[str, Any]:
        """Make ``new`` your signing key (``membership.rotate_key``, signed with your
        current key), then its X25519 key your encryption key (``set_encryption_key``,
        signed with the new one); this client signs with ``new`` from then on. Your
        member id, records, consent and roles stay; custodians re-wrap your document
        keys to the new encryption key from their own copies. Keep the old key file
        until this returns."""
        member = self.member_id()
        self.call("membership", "rotate_key", {"new_key": new.did})
        self.identity, self._token = new, None
        self.call("membership", "set_encryption_key", {"encryption_key": new.encryption_did})
        return {"member": member, "key": new.did, "encryption_key": new.encryption_did}

    # -- reading (public) ----------------------------------------------------------------
    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the node answers ``/health`` (it has opened its ledger and vaults)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._http.get("/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SalusError("UNREACHABLE", f"{self.base_url} was not ready in {timeout:g} s")
            time.sleep(0.05)

    def status(self) -> dict[str, Any]:
        return self._request("GET", "/v1/status")

    def tx(self, tx_id: str) -> dict[str, Any]:
        """A transaction's receipt and inclusion proof; with the key of its signer (or of
        an auditor, regulator or peer operator), also its bytes (``tx``) and envelope."""
        return self._request("GET", f"/v1/tx/{tx_id}", auth=self.identity is not None)

    def block(self, height: int) -> dict[str, Any]:
        return self._request("GET", f"/v1/blocks/{height}")

    def sth(self, tree_size: int | None = None) -> SignedTreeHead:
        params = {} if tree_size is None else {"tree_size": tree_size}
        return SignedTreeHead.from_json(self._request("GET", "/v1/log/sth", params=params))

    def entries(self, start: int, end: int) -> list[bytes]:
        """The log's leaves (transactions' bytes): for auditors, regulators and peer
        operators (salus.api.read_rules), so this client needs their key."""
        doc = self._request("GET", "/v1/log/entries", auth=True,
                            params={"start": start, "end": end})
        return [base64.b64decode(e) for e in doc["entries"]]

    def inclusion_proof(self, leaf: bytes, tree_size: int) -> tuple[int, list[bytes]]:
        doc = self._request("GET", "/v1/log/proof",
                            params={"hash": leaf.hex(), "tree_size": tree_size})
        return doc["leaf_index"], [bytes.fromhex(p) for p in doc["audit_path"]]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        doc = self._request("GET", "/v1/log/consistency", params={"first": first, "second": second})
        return [bytes.fromhex(p) for p in doc["proof"]]

    def verify_included(self, raw: bytes, orderer: str) -> SignedTreeHead:
        """Check, with nothing but the orderer's did, that ``raw`` is in the log now."""
        sth = self.sth()
        sth.verify(orderer)
        leaf = leaf_hash(raw)
        index, path = self.inclusion_proof(leaf, sth.tree_size)
        verify_inclusion(index, sth.tree_size, leaf, path, sth.root_hash)
        return sth

    def verify_extends(self, old: SignedTreeHead, orderer: str) -> SignedTreeHead:
        """Check the log's current head extends ``old`` (no history was rewritten)."""
        new = self.sth()
        new.verify(orderer)
        proof = self.consistency_proof(old.tree_size, new.tree_size) if old.tree_size else []
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
        return new

    # -- credentials (public) ------------------------------------------------------------
    def credentials_context(self) -> dict[str, Any]:
        """The orderer-signed verification context (check it with
        :meth:`salus.credentials.context.VerificationContext.load`)."""
        return self._request("GET", "/v1/credentials/context")

    def verify_credentials(self, credentials: dict[str, Any] | list[dict[str, Any]], *,
                           subject: str | None = None, at: str | None = None) -> dict[str, Any]:
        """The node's report on one credential, or on a dossier (a list)."""
        body: dict[str, Any] = ({"credential": credentials} if isinstance(credentials, dict)
                                else {"credentials": credentials, "subject": subject})
        if at is not None:
            body["at"] = at
        return self._request("POST", "/v1/credentials/verify", json=body)

    def verify_presentation(self, presentation: dict[str, Any], *, challenge: str, domain: str,
                            at: str | None = None) -> dict[str, Any]:
        body = {"presentation": presentation, "challenge": challenge, "domain": domain}
        if at is not None:
            body["at"] = at
        return self._request("POST", "/v1/credentials/verify-presentation", json=body)

    # -- education (members) -------------------------------------------------------------
    def education_progress(self, learner: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/education/progress/{learner}", auth=True)

    def education_lineage(self, educator: str, depth: int = 3) -> dict[str, Any]:
        return self._request("GET", f"/v1/education/lineage/{educator}", auth=True,
                             params={"depth": depth})

    def cme_status(self, professional: str, requirement: str, as_of: str | None = None
                   ) -> dict[str, Any]:
        params = {"requirement": requirement} | ({"as_of": as_of} if as_of else {})
        return self._request("GET", f"/v1/education/cme/{professional}", auth=True,
                             params=params)

    def module_stats(self, module: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/education/modules/{module}", auth=True)

    # -- reading (members) ---------------------------------------------------------------
    def token_endpoint(self) -> str:
        """The audience of this client's assertions: the token endpoint the node
        advertises under its public URL (``/.well-known/smart-configuration``). It must
        be on the origin this client talks to: a node advertising another's endpoint
        would otherwise get assertions it could redeem there as this member."""
        if self._token_endpoint is None:
            advertised = self._request("GET", "/.well-known/smart-configuration").get(
                "token_endpoint")
            if not isinstance(advertised, str) or _origin(advertised) != _origin(self.base_url):
                raise SalusError("AUDIENCE_MISMATCH",
                                 f"{self.base_url} advertises its token endpoint as "
                                 f"{advertised!r}, not on this address: connect to the node "
                                 "by its public URL (salus node --public-url), or pass "
                                 "public_url= if this address reaches it on purpose")
            self._token_endpoint = advertised
        return self._token_endpoint

    def token(self) -> str:
        if self._token and self._token[1] > time.monotonic() + 10:
            return self._token[0]
        ident = self._need_identity()
        assertion = client_assertion(ident, self.token_endpoint(), int(time.time()))
        doc = self._request("POST", TOKEN_PATH, data={
            "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, "scope": self.scope})
        self._token = (doc["access_token"], time.monotonic() + doc["expires_in"])
        return doc["access_token"]

    def state(self, key: str) -> Any:
        """A raw state entry (auditors and peer operators only; members read views)."""
        return self._request("GET", f"/v1/state/{key}", auth=True)["value"]

    def state_or_none(self, key: str) -> Any:
        """The state value at ``key``, or None if there is none."""
        try:
            return self.state(key)
        except SalusError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise

    def member_id(self) -> str:
        """Your member id: the did of your first key, which stays yours when your key
        changes (rotation, recovery). The node names it in your access token (``sub``),
        from the ledger's key index: never assumed to be this key's did."""
        if self._member_id is None:
            payload = self.token().split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            self._member_id = str(claims["sub"])
        return self._member_id

    def state_scan(self, prefix: str, limit: int = 100) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/state", auth=True,
                             params={"prefix": prefix, "limit": limit})["entries"]

    def member(self, member: str) -> dict[str, Any]:
        """A member's record, by member id or by any key they held (an organisation
        member's: any member may; a patient's: the patient and overseers)."""
        return self._request("GET", f"/v1/members/{member}", auth=True)

    def members(self, org: str | None = None) -> dict[str, Any]:
        params = {} if org is None else {"org": org}
        return self._request("GET", "/v1/members", auth=True, params=params)
