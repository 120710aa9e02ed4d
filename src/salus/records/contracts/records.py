"""The records contract: which custodian holds which version of which record.

A registration names the record, its (pseudonymous) patient, the custodian, the FHIR
resource type and the SHA-256 of the stored ciphertext, plus the version it amends, so
every record carries a provenance chain of hashes. Erasure marks records erased; the
hashes and the erasure event stay, the ciphertext and keys are destroyed off-ledger.

A registration is signed by the custodian's gateway and carries the signed request of
the member who sent the record (:mod:`salus.records.contracts.request`): the record's
author is that member, who must hold a clinical role in the custodian now. So a gateway
registers only what a clinical member of its own custodian asked it to, for that patient,
and an EHR feed is a member too (a ``registrar``), never the gateway key alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.ledger.authority import PatientOrGovernor, Rule, is_governor
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import PatientRef, has_role, key_valid_at, member_of_key
from salus.ledger.schema import Sha256Hex, array, integer
from salus.ledger.transaction import Transaction
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
from salus.records.contracts.request import RequestText, request_of, signed_by_signer

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


def _refuse(reason: str) -> Rejected:
    return Rejected(Code.FORBIDDEN, f"request: {reason}")


def check_request(ctx: Context, request: str, custodian: str, patient: str) -> dict[str, Any]:
    """A5's second half: ``request`` is a member's signed ``records.ingest`` request for
    this chain, naming ``custodian`` and ``patient``, signed within the chain's time window
    of the block time by a key valid now, of a member holding one of ``AUTHOR_ROLES`` in
    ``custodian`` now. Returns that member (the record's author)."""
    tx = request_of(request)  # BAD_ARGUMENTS if it is not a records.ingest envelope
    if tx.chain != ctx.chain_id:
        raise _refuse(f"signed for chain {tx.chain!r}, not this one")
    if not signed_by_signer(tx.raw):
        raise _refuse("its signature does not verify under the key it names")
    if tx.args["custodian"] != custodian:
        raise _refuse(f"it asks {tx.args['custodian']!r} to ingest, not {custodian}")
    if tx.args["patient"] != patient:
        raise _refuse("it is for another patient")
    author = member_of_key(ctx.get, tx.signer)
    if author is None or not key_valid_at(author, tx.signer, ctx.height):
        raise _refuse("it is not signed with a member's valid key")
    if not any(has_role(ctx.get, author, role, custodian, ctx.height) for role in AUTHOR_ROLES):
        raise _refuse(f"its signer holds none of {', '.join(AUTHOR_ROLES)} in {custodian}")
    if abs(ctx.time - tx.time) > ctx.time_window_ms:
        raise _refuse(f"signed at {tx.time}, more than {ctx.time_window_ms} ms from the "
                      f"block time {ctx.time}")
    return author


@dataclass(frozen=True)
class RegisterRule(CustodianGateway):
    """A5 for registrations: the custodian's own gateway, for its own records, carrying a
    clinical member's signed request (:func:`check_request`)."""

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        check_request(ctx, args["request"], custodian_of(ctx), args["patient"])

    def describe(self) -> str:
        return (super().describe() + "; carrying the signed `records.ingest` request of a "
                f"member holding one of {', '.join(AUTHOR_ROLES)} in that custodian now, "
                "for this patient, signed within the chain's time window")


def custodian_of(ctx: Context) -> str:
    """The signing gateway's organisation (its rule has admitted it)."""
    assert ctx.member is not None
    return ctx.member["org"]


class RecordsContract(Contract):
    name = "records"

    @method(who=RegisterRule(lambda a: [a["record"]], "an existing `record`"))
    def register(self, ctx: Context, record: RecordId, patient: PatientRef,
                 resource_type: ResourceType, content_hash: Sha256Hex, request: RequestText,
                 version: Version = 1, amends: Sha256Hex | None = None) -> dict[str, Any]:
        """Register a version of a record the signing gateway's custodian holds. ``request``
        is the ingesting member's signed request; that member is the record's author."""
        custodian = custodian_of(ctx)
        signed: Transaction = request_of(request)  # admitted: RegisterRule checked it
        author = member_of_key(ctx.get, signed.signer)["id"]
        entry = {"version": version, "hash": content_hash, "amends": amends, "author": author,
                 "request": signed.id_hex, "height": ctx.height, "time": ctx.time}
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
                   request=signed.id_hex, height=ctx.height, time=ctx.time)
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
