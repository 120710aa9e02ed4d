"""The records part of the SDK: ingest, read through the gateway, consent, access log.

Reads are end-to-end: the gateway returns ciphertext and a document key sealed to the
caller's X25519 key, and this client opens both locally.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from salus.records import sealing
from salus.records.ingest_request import signed_headers

if TYPE_CHECKING:
    from salus.client.client import SalusClient
    from salus.node.receipt import Receipt


class RecordsClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def ingest_headers(self: SalusClient, custodian: str, patient: str, body: bytes
                       ) -> dict[str, str]:
        """Your signed ``records.ingest`` request for sending ``body`` (salted), as the
        headers that carry it: every record it registers names you as its author."""
        return signed_headers(self._need_identity(), chain=self.chain_id, custodian=custodian,
                              patient=patient, body=body, nonce=self.next_nonce(),
                              time=self.clock())

    def ingest(self: SalusClient, custodian: str, patient: str,
               resource: dict[str, Any] | bytes) -> list[dict[str, Any]]:
        """Store a FHIR resource or Bundle at ``custodian`` for ``patient`` (a did), as
        its author (the request is signed with your key)."""
        body = resource if isinstance(resource, bytes) else json.dumps(resource).encode()
        return self._request("POST", f"/v1/records/{custodian}/ingest", auth=True,
                             params={"patient": patient}, content=body,
                             headers={"Content-Type": "application/fhir+json",
                                      **self.ingest_headers(custodian, patient, body)})["records"]

    def store_binary(self: SalusClient, custodian: str, patient: str, data: bytes,
                     content_type: str) -> dict[str, Any]:
        """Store a large binary (image, PDF) as a Binary record, as its author."""
        return self._request("POST", f"/v1/records/{custodian}/binary", auth=True,
                             params={"patient": patient}, content=data,
                             headers={"Content-Type": content_type,
                                      **self.ingest_headers(custodian, patient, data)})

    def record_index(self: SalusClient, patient: str | None = None) -> list[dict[str, Any]]:
        """A patient's records across custodians (yours by default)."""
        who = patient or self.member_id()
        return self._request("GET", "/v1/records", auth=True, params={"patient": who})["records"]

    def read_sealed(self: SalusClient, custodian: str, record: str, purpose: str = "TREAT"
                    ) -> dict[str, Any]:
        """The gateway's answer: ciphertext and your wrapped key (base64), and the basis."""
        raw = self.sign("access", "read", {"custodian": custodian, "record": record,
                                           "purpose": purpose})
        return self._request("POST", "/v1/records/read",
                             json={"request": base64.b64encode(raw).decode()})

    def read_record(self: SalusClient, custodian: str, record: str, purpose: str = "TREAT"
                    ) -> dict[str, Any]:
        """Read and decrypt a record (a FHIR resource) through the gateway."""
        sealed = self.read_sealed(custodian, record, purpose)
        return json.loads(self.open_sealed(sealed))

    def open_sealed(self: SalusClient, sealed: dict[str, Any]) -> bytes:
        from salus.client.client import SalusError  # the SDK's module imports this one
        try:
            key = sealing.unwrap(base64.b64decode(sealed["wrapped_key"]),
                                 self._need_identity().encryption_key)
        except sealing.SealingError:
            raise SalusError("WRONG_ENCRYPTION_KEY",
                             f"the key to {sealed['record']} was sealed to the encryption key "
                             "your member record names on the ledger, which is not this key "
                             "file's; use the key file whose encryption key you last set "
                             "(membership.set_encryption_key)") from None
        return sealing.decrypt(key, base64.b64decode(sealed["ciphertext"]), sealed["record"],
                               sealed["version"])

    # -- consent (the patient) -------------------------------------------------------------
    def grant(self: SalusClient, grantee: dict[str, str], purposes: list[str], *,
              resource_types: list[str] | None = None, records: list[str] | None = None,
              start: int | None = None, end: int | None = None, share_existing: bool = True
              ) -> str:
        """Grant access; with ``share_existing``, re-wrap the keys of the records it
        covers for a named practitioner right away. Returns the grant id."""
        args: dict[str, Any] = {"grantee": grantee, "purposes": purposes}
        for name, value in (("resource_types", resource_types), ("records", records),
                            ("start", start), ("end", end)):
            if value is not None:
                args[name] = value
        grant_id = self.call("consent", "grant", args).output["grant"]
        if share_existing and "member" in grantee:
            self.share_with(grantee["member"], resource_types=resource_types, records=records)
        return grant_id

    def share_with(self: SalusClient, member: str, *, resource_types: list[str] | None = None,
                   records: list[str] | None = None) -> int:
        """Re-wrap the document keys of your existing records for ``member``."""
        recipient = self._request("GET", f"/v1/members/{member}", auth=True)
        if not recipient.get("encryption_key"):
            return 0
        shared = 0
        for rec in self.record_index():
            if rec["status"] != "active" or (resource_types and rec["type"] not in resource_types) \
                    or (records and rec["id"] not in records):
                continue
            sealed = self.read_sealed(rec["custodian"], rec["id"], "PATRQT")
            key = sealing.unwrap(base64.b64decode(sealed["wrapped_key"]),
                                 self._need_identity().encryption_key)
            self._request("POST", f"/v1/records/{rec['id']}/keys", auth=True, json={
                "version": sealed["version"], "recipient": member,
                "wrapped_key": base64.b64encode(sealing.wrap(key, recipient["encryption_key"]))
                .decode()})
            shared += 1
        return shared

    def revoke(self: SalusClient, grant: str) -> Receipt:
        return self.call("consent", "revoke", {"grant": grant})

    def consents(self: SalusClient, *, fhir: bool = False) -> dict[str, Any]:
        return self._request("GET", "/v1/consent", auth=True,
                             params={"format": "fhir" if fhir else "json"})

    def set_break_glass(self: SalusClient, allowed: bool) -> Receipt:
        return self.call("consent", "set_break_glass", {"allowed": allowed})

    def access_log(self: SalusClient, *, fhir: bool = False, limit: int = 100,
                   after: str = "") -> dict[str, Any]:
        return self._request("GET", "/v1/access/log", auth=True, params={
            "format": "fhir" if fhir else "json", "limit": limit, "after": after})

    def erase(self: SalusClient, records: list[str] | None = None,
              patient: str | None = None) -> Receipt:
        """Erase records (all of the patient's by default). A regulator's admin passes
        ``patient`` and signs a regulator-approved erasure."""
        who = patient or self.member_id()
        if records is None:
            records = [r["id"] for r in self.record_index(who) if r["status"] == "active"]
        return self.call("records", "erase", {"patient": who, "records": records})

    def access_events(self: SalusClient, *, read_timeout: float = 60.0
                      ) -> Iterator[dict[str, Any]]:
        """Your live notifications (server-sent events), as they commit: each access to
        your records, break-glass overrides, erasures, and every step of a recovery of
        your identity. Yields ``{"event": kind, "id": tx id, "data": {...}}``; the first
        is ``ready`` (subscribed). Close the generator to disconnect."""
        return self.event_stream("/v1/access/events", read_timeout=read_timeout)

    # -- clinicians -------------------------------------------------------------------------
    def break_glass(self: SalusClient, patient: str, reason: str) -> dict[str, Any]:
        """Open an emergency override (emergency_clinician role); returns the override."""
        return self.call("access", "break_glass", {"patient": patient, "reason": reason}).output

    def fhir(self: SalusClient, path: str, *, purpose: str = "TREAT",
             params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._request("GET", f"/fhir/{path.lstrip('/')}", auth=True, params=params,
                             headers={"X-Purpose-Of-Use": purpose})

    # -- privacy officers ----------------------------------------------------------------
    def custodian_log(self: SalusClient, custodian: str, *, limit: int = 100, after: str = ""
                      ) -> dict[str, Any]:
        """Every access to ``custodian``'s records (privacy officers and auditors); page
        on with ``after=page["next"]``."""
        return self._request("GET", "/v1/access/audit", auth=True, params={
            "custodian": custodian, "limit": limit, "after": after})

    def review_list(self: SalusClient, custodian: str, *, pending: bool = True) -> dict[str, Any]:
        return self._request("GET", "/v1/access/review", auth=True,
                             params={"custodian": custodian, "pending": pending})

    def review(self: SalusClient, entry: str, finding: str) -> Receipt:
        return self.call("access", "review", {"entry": entry, "finding": finding})
