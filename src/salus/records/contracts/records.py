"""The records contract: which custodian holds which version of which record.

A registration names the record, its (pseudonymous) patient, the custodian, the FHIR
resource type and the SHA-256 of the stored ciphertext, plus the version it amends, so
every record carries a provenance chain of hashes. Erasure marks records erased; the
hashes and the erasure event stay, the ciphertext and keys are destroyed off-ledger.
"""

from __future__ import annotations

from typing import Any

from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import SHA256_HEX, Context, Contract, method
from salus.ledger.contracts.membership import GOVERNING_TYPES, has_role, member_key, org_key
from salus.records.contracts.layout import (
    AUTHOR_ROLES,
    GATEWAY_ROLE,
    RECORD_ID,
    RESOURCE_TYPES,
    entry_suffix,
    erasure_prefix,
    patient_record_key,
    record_key,
)

MAX_ERASE = 1000


def require_patient(ctx: Context, patient: str) -> dict[str, Any]:
    member = ctx.get(member_key(patient))
    if member is None or member["kind"] != "patient":
        raise Rejected(Code.NOT_FOUND, f"{patient} is not a registered patient")
    return member


def require_gateway(ctx: Context) -> str:
    """The signer must be a custodian's gateway; returns the custodian org."""
    member = ctx.member
    if member is None or not has_role(ctx.get, member, GATEWAY_ROLE, None, ctx.height):
        raise Rejected(Code.FORBIDDEN, f"only a custodian's {GATEWAY_ROLE} key may do this")
    return member["org"]


class RecordsContract(Contract):
    name = "records"

    @method
    def register(self, ctx: Context, record: str, patient: str, resource_type: str,
                 content_hash: str, version: int = 1, amends: str | None = None,
                 author: str | None = None) -> dict[str, Any]:
        custodian = require_gateway(ctx)
        if not RECORD_ID.match(record):
            raise Rejected(Code.BAD_ARGUMENTS, "record id must be 1-64 of A-Z a-z 0-9 - .")
        if resource_type not in RESOURCE_TYPES:
            raise Rejected(Code.BAD_ARGUMENTS, f"resource type {resource_type!r} is not one of "
                                               f"{', '.join(sorted(RESOURCE_TYPES))}")
        for name, value in (("content_hash", content_hash), ("amends", amends)):
            if value is not None and not SHA256_HEX.match(value):
                raise Rejected(Code.BAD_ARGUMENTS, f"{name} must be 64 lowercase hex digits")
        require_patient(ctx, patient)
        if author is not None and not any(
                has_role(ctx.get, ctx.get(member_key(author)), role, custodian, ctx.height)
                for role in AUTHOR_ROLES):
            raise Rejected(Code.FORBIDDEN, f"author {author} is not a clinical member of {custodian}")
        entry = {"version": version, "hash": content_hash, "amends": amends,
                 "height": ctx.height, "time": ctx.time}
        existing = ctx.get(record_key(record))
        if existing is None:
            if version != 1 or amends is not None:
                raise Rejected(Code.NOT_FOUND, f"record {record} has no version to amend")
            doc = {"id": record, "patient": patient, "custodian": custodian,
                   "type": resource_type, "status": "active", "history": []}
            ctx.put(patient_record_key(patient, record),
                    {"custodian": custodian, "type": resource_type})
        else:
            doc = existing
            if doc["custodian"] != custodian:
                raise Rejected(Code.FORBIDDEN, f"record {record} is held by {doc['custodian']}")
            if doc["patient"] != patient or doc["type"] != resource_type:
                raise Rejected(Code.CONFLICT, "an amendment cannot change patient or resource type")
            if doc["status"] == "erased":
                raise Rejected(Code.CONFLICT, f"record {record} was erased")
            if version != doc["version"] + 1 or amends != doc["hash"]:
                raise Rejected(Code.CONFLICT,
                               f"record {record} is at version {doc['version']} with hash "
                               f"{doc['hash']}; an amendment must be version "
                               f"{doc['version'] + 1} and amend that hash")
        doc.update(hash=content_hash, version=version, amends=amends, author=author,
                   height=ctx.height, time=ctx.time)
        doc["history"].append(entry)
        ctx.put(record_key(record), doc)
        ctx.emit("record_registered", record=record, patient=patient, custodian=custodian,
                 version=version)
        return {"record": record, "version": version, "custodian": custodian}

    @method
    def erase(self, ctx: Context, patient: str, records: list[str]) -> dict[str, Any]:
        """Erase a patient's records: signed by the patient, or by a regulator's admin
        (a regulator-approved erasure)."""
        require_patient(ctx, patient)
        signer = ctx.member
        approved_by = None
        if signer is None or signer["id"] != patient:
            org = ctx.get(org_key(signer["org"])) if signer and signer["org"] else None
            if org is None or org["type"] not in GOVERNING_TYPES or not has_role(
                    ctx.get, signer, "admin", org["id"], ctx.height):
                raise Rejected(Code.FORBIDDEN,
                               "only the patient or a regulator's admin may erase records")
            approved_by = org["id"]
        if not records or len(records) > MAX_ERASE or len(set(records)) != len(records):
            raise Rejected(Code.BAD_ARGUMENTS, f"name 1-{MAX_ERASE} distinct records to erase")
        erased = []
        for record in records:
            doc = ctx.get(record_key(record))
            if doc is None or doc["patient"] != patient:
                raise Rejected(Code.NOT_FOUND, f"{patient} has no record {record}")
            if doc["status"] == "erased":
                raise Rejected(Code.CONFLICT, f"record {record} is already erased")
            doc.update(status="erased", erased_height=ctx.height, erased_time=ctx.time)
            ctx.put(record_key(record), doc)
            erased.append({"record": record, "custodian": doc["custodian"]})
        ctx.put(erasure_prefix(patient) + entry_suffix(ctx.height, ctx.index, 0),
                {"patient": patient, "records": erased, "approved_by": approved_by,
                 "height": ctx.height, "time": ctx.time, "tx": ctx.tx_id})
        ctx.emit("records_erased", patient=patient, records=erased)
        return {"erased": len(erased)}
