"""Read, in the sponsor's own vault, which rewarded event a record is (and nothing else).

The sponsor is the record's custodian (RW5: a programme rewards its sponsor's records),
so its vault holds the document and a copy of its key wrapped to the custodian's gateway
key. The document is decrypted here, in memory, checked against the content hash the
ledger registered for the record's current version, and reduced to
:func:`salus.rewards.events.event_of`: the plaintext is dropped when this returns. This is
the custodian reading its own record for its own operations, not a release to a reader,
so it is not an ``access.log`` entry (a release to anyone else is, through the gateway).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from salus.records import sealing
from salus.records.custodian import Custodian
from salus.records.vault import VaultError
from salus.rewards.awarding import VaultUnavailable
from salus.rewards.events import event_of


class VaultReader:
    """``custodian_of(org)``: the records custodian this node hosts for ``org`` (its
    gateway's), or None."""

    def __init__(self, sponsor: str, custodian_of: Callable[[str], Custodian | None]) -> None:
        self.sponsor = sponsor
        self.custodian_of = custodian_of

    def __call__(self, record: dict[str, Any]) -> str | None:
        custodian = self.custodian_of(self.sponsor)
        if custodian is None or record["custodian"] != self.sponsor:
            raise VaultUnavailable(f"this node does not hold the vault of {self.sponsor}")
        vault = custodian.vault
        doc = vault.document(record["id"], record["version"])
        if doc is None or doc.hash != record["hash"]:
            raise VaultUnavailable(f"the vault of {self.sponsor} does not hold version "
                                   f"{record['version']} of {record['id']} as registered")
        own = vault.wrapped_key(doc, custodian.member_id)
        try:
            if own is None:
                raise VaultError(f"no custodian key for {doc.record}")
            key = sealing.unwrap(own, custodian.key.encryption_key)
            resource = json.loads(sealing.decrypt(key, vault.ciphertext(doc), doc.record,
                                                  doc.version))
        except (VaultError, sealing.SealingError, ValueError) as exc:
            raise VaultUnavailable(f"{doc.record} v{doc.version} does not open: {exc}") from None
        return event_of(resource) if isinstance(resource, dict) else None
