"""The verification context: what an offline verifier needs from the ledger, signed.

A credential's anchor proof shows that its batch root was *submitted* to the ledger and
sits in the log. It cannot show on its own that the ledger *accepted* the anchor (an
invalid transaction is a log leaf too), nor how the issuer's keys and organisation stood
then, nor whether the credential has been revoked since. Those facts are ledger state,
and the context carries them as of one height ``H``:

* ``organisations``: every organisation's type and membership span;
* ``issuers``: the key history (from / to heights, rotated or revoked) of every member
  who anchored a batch or owns a status list;
* ``anchors``: every accepted batch anchor (root, issuer, key, organisation type,
  credential types, height, transaction id);
* ``statusLists``: every Bitstring Status List as an ``encodedList``, with the history
  of each entry ever set, so "was it revoked on date D?" has an answer.

The node signs the context with its orderer key as an ``eddsa-jcs-2022`` Data Integrity
proof. A verifier therefore trusts exactly one key, the same one that signs tree heads,
and refreshes the context as it would a certificate revocation list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from salus.clock import iso_from_ms
from salus.credentials import status_list
from salus.credentials.contracts.layout import ANCHOR_PREFIX, LIST_PREFIX, STATUS_PREFIX
from salus.credentials.data_integrity import ProofInvalid, add_proof, verify_proof
from salus.identity import Identity
from salus.ledger.ledger import Ledger
from salus.ledger.log import SignedTreeHead, STHError
from salus.ledger.members import member_key, org_key
from salus.ledger.store import Store

CONTEXT_TYPE = "SalusVerificationContext"
STATUS_URL_PREFIX = "urn:salus:status:"


class ContextInvalid(ValueError):
    """A context that is malformed, for another chain, or not signed by the orderer."""


def status_list_url(chain_id: str, list_id: str) -> str:
    """The ``statusListCredential`` of a ledger status list."""
    return f"{STATUS_URL_PREFIX}{chain_id}:{list_id}"


def list_id_of(url: str, chain_id: str) -> str | None:
    prefix = f"{STATUS_URL_PREFIX}{chain_id}:"
    return url[len(prefix):] if url.startswith(prefix) else None


def snapshot(ledger: Ledger) -> dict[str, Any]:
    """The signed context of ``ledger``'s committed state now (one consistent read)."""
    if ledger.signer is None:
        raise ContextInvalid("this node holds no orderer key to sign a context with")
    with ledger.store.read_snapshot() as store:
        height = store.head_height()
        assert height is not None
        found = ledger.block(height)
        assert found is not None
        header = found[1]
        head = SignedTreeHead(ledger.chain_id, header.log_size, header.log_root, header.time,
                              found[0].sth_signature)
        return build(store, ledger.chain_id, height, header.time, head, ledger.signer)


def build(store: Store, chain_id: str, height: int, time: int, tree_head: SignedTreeHead,
          orderer: Identity) -> dict[str, Any]:
    """The signed context of the state in ``store``. Call inside
    :meth:`Store.read_snapshot` so that ``height`` names the state read."""
    anchors = {root: {k: doc[k] for k in ("issuer", "key", "org", "org_type", "types", "height",
                                          "time", "tx", "size")}
               for root, doc in store.state_items(ANCHOR_PREFIX)}
    history: dict[str, dict[str, list[Any]]] = {}
    set_bits: dict[str, list[int]] = {}
    for key, entry in store.state_items(STATUS_PREFIX):
        list_id, _, index = key.rpartition("/")
        history.setdefault(list_id, {})[str(int(index))] = entry["history"]
        if entry["value"]:
            set_bits.setdefault(list_id, []).append(int(index))
    lists = {}
    for list_id, doc in store.state_items(LIST_PREFIX):
        lists[list_id] = {"purpose": doc["purpose"], "size": doc["size"], "org": doc["org"],
                          "height": doc["height"],
                          "encodedList": status_list.encode(set_bits.get(list_id, ()), doc["size"]),
                          "history": history.get(list_id, {})}
    issuer_ids = sorted({a["issuer"] for a in anchors.values()})
    issuers = {}
    for member_id in issuer_ids:
        raw = store.state_row(member_key(member_id))
        if raw is not None:
            member = json.loads(raw[0])
            issuers[member_id] = {"org": member["org"], "keys": [
                {k: key[k] for k in ("did", "from", "to", "status")} for key in member["keys"]]}
    orgs = {org_id: {k: doc[k] for k in ("type", "from", "to", "status")}
            for org_id, doc in store.state_items(org_key(""))}
    doc = {"type": CONTEXT_TYPE, "chainId": chain_id, "height": height, "time": time,
           "orderer": orderer.did, "treeHead": tree_head.to_json(), "organisations": orgs,
           "issuers": issuers, "anchors": anchors, "statusLists": lists}
    return add_proof(doc, orderer, created=iso_from_ms(time))


@dataclass(frozen=True)
class StatusEntry:
    value: bool
    history: list[list[Any]]  # [[height, time, value, reason], ...]


class VerificationContext:
    """A checked context, with the lookups the verifier makes."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.chain_id: str = doc["chainId"]
        self.height: int = doc["height"]
        self.time: int = doc["time"]
        self.orderer: str = doc["orderer"]
        self.tree_head = SignedTreeHead.from_json(doc["treeHead"])
        self.organisations: dict[str, dict[str, Any]] = doc["organisations"]
        self.issuers: dict[str, dict[str, Any]] = doc["issuers"]
        self.anchors: dict[str, dict[str, Any]] = doc["anchors"]
        self._lists: dict[str, dict[str, Any]] = doc["statusLists"]
        self._bits: dict[str, bytes] = {}

    @classmethod
    def load(cls, doc: Any, orderer: str, chain_id: str | None = None) -> VerificationContext:
        """Check ``doc`` is a context signed by ``orderer`` (for ``chain_id``, if given)."""
        if not isinstance(doc, dict) or doc.get("type") != CONTEXT_TYPE:
            raise ContextInvalid(f"not a {CONTEXT_TYPE} document")
        try:
            signed = verify_proof(doc)
        except ProofInvalid as exc:
            raise ContextInvalid(f"context proof: {exc}") from None
        if signed.signer != orderer or doc.get("orderer") != orderer:
            raise ContextInvalid("the context is not signed by the trusted orderer key")
        if chain_id is not None and doc.get("chainId") != chain_id:
            raise ContextInvalid(f"the context is for chain {doc.get('chainId')!r}, "
                                 f"not {chain_id!r}")
        try:
            ctx = cls(doc)
            ctx.tree_head.verify(orderer)
        except (KeyError, TypeError, STHError) as exc:
            raise ContextInvalid(f"context is malformed: {exc}") from None
        return ctx

    def status_list(self, list_id: str) -> dict[str, Any] | None:
        return self._lists.get(list_id)

    def status(self, list_id: str, index: int) -> StatusEntry:
        """The entry's current value, from the published bitstring, and its history."""
        bits = self._bits.get(list_id)
        if bits is None:
            bits = self._bits[list_id] = status_list.decode(self._lists[list_id]["encodedList"])
        history = self._lists[list_id]["history"].get(str(index), [])
        return StatusEntry(status_list.bit(bits, index), history)
