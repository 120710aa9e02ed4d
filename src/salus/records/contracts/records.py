"""The records contract: which custodian holds which version of which record.

A registration names the record, its (pseudonymous) patient, the custodian, the FHIR
resource type and the SHA-256 of the stored ciphertext, plus the version it amends, so
every record carries a provenance chain of hashes. Erasure marks records erased; the
hashes and the erasure event stay, the ciphertext and keys are destroyed off-ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.ledger.authority import PatientOrGovernor, Rule, is_governor
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import KeyRef, PatientRef, has_role, member_of_key
from salus.ledger.schema import Sha256Hex, array, integer
from salus.records.contracts.layout import (
    AUTHOR_ROLES,
    GATEWAY_ROLE,
    RecordId,
    RecordRef,
    ResourceType,
    entry_suffix,
    erasure_prefix,
    patient_record_key,
    record_key,
)

MAX_ERASE = 1000
MAX_VERSION = 1_000_000
Version = integer(1, MAX_VERSION, "the record's version")
ErasedRecords = array(RecordRef, 1, MAX_ERASE, "the records to erase")


@dataclass(frozen=True)
class CustodianGateway(Rule):
    """A5: the gateway key of a custodian, acting on that custodian's records only:
    every existing record the call names (``records(args)``) is held by the signer's
    organisation."""

    records: Callable[[dict[str, Any]], list[str]]
    names: str
    cites = "A5"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        member = ctx.member
        if member is None or not has_role(ctx.get, member, GATEWAY_ROLE, member["org"], ctx.height):
            raise Rejected(Code.FORBIDDEN, f"only a custodian's {GATEWAY_ROLE} key may do this")
        for record in self.records(args):
            found = ctx.get(record_key(record))
            if found is not None and found["custodian"] != member["org"]:
                raise Rejected(Code.FORBIDDEN, f"record {record} is held by {found['custodian']}, "
                                               f"not {member['org']}")

    def describe(self) -> str:
        return (f"the {GATEWAY_ROLE} key of a custodian organisation, for its own records only "
                f"({self.names})")


def custodian_of(ctx: Context) -> str:
    """The signing gateway's organisation (its rule has admitted it)."""
    assert ctx.member is not None
    return ctx.member["org"]


class RecordsContract(Contract):
    name = "records"

    @method(who=CustodianGateway(lambda a: [a["record"]], "an existing `record`"))
    def register(self, ctx: Context, record: RecordId, patient: PatientRef,
                 resource_type: ResourceType, content_hash: Sha256Hex,
                 version: Version = 1,
                 amends: Sha256Hex | None = None, author: KeyRef | None = None) -> dict[str, Any]:
        custodian = custodian_of(ctx)
        if author is not None and not any(
                has_role(ctx.get, member_of_key(ctx.get, author), role, custodian, ctx.height)
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

    @method(who=PatientOrGovernor("patient"))
    def erase(self, ctx: Context, patient: PatientRef, records: ErasedRecords) -> dict[str, Any]:
        """Erase a patient's records: signed by the patient, or by a regulator's admin
        (a regulator-approved erasure)."""
        approved_by = None
        if ctx.member_id != patient and is_governor(ctx):
            approved_by = ctx.member["org"]
        if len(set(records)) != len(records):
            raise Rejected(Code.BAD_ARGUMENTS, "name each record to erase once")
        erased = []
        for record in records:
            doc = ctx.get(record_key(record))
            if doc["patient"] != patient:
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
