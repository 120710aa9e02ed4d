"""Whether a record is a rewarded event: what the sponsor's service reads off the ledger.

The ledger holds, of a registered record, its id, patient (a pseudonymous did),
custodian, FHIR resource type, version, the SHA-256 of its ciphertext, author, heights and
times, and ``active`` or ``erased``; never its FHIR ``status`` nor anything it says
(salus.records.contracts.layout). So "an appointment kept" is established in two halves:
the contract checks on the ledger that the record is a registered Encounter of an
enrolled patient that the sponsor may read (RW5); the sponsor's service, which reads the
record in its vault (as its custodian, or under the patient's consent), awards only if
:func:`qualifies` (status ``finished``; a survey ``completed`` or ``amended``). The award
then names the record and version: whoever holds the record can check the status of
that version against its hash on the ledger. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from salus.rewards.contracts.layout import (
    APPOINTMENT_KEPT,
    EVENT_RECORD_TYPES,
    SURVEY_COMPLETED,
)

#: The FHIR statuses that make a record the event (Encounter.status, R4 EncounterStatus;
#: QuestionnaireResponse.status, R4 QuestionnaireResponseStatus).
QUALIFYING_STATUS = {APPOINTMENT_KEPT: frozenset({"finished"}),
                     SURVEY_COMPLETED: frozenset({"completed", "amended"})}


def event_of(resource: dict[str, Any]) -> str | None:
    """The rewarded event a FHIR resource is, or None (a cancelled encounter, a survey in
    progress, an observation)."""
    kind = resource.get("resourceType")
    for event, resource_type in EVENT_RECORD_TYPES.items():
        if kind == resource_type and resource.get("status") in QUALIFYING_STATUS[event]:
            return event
    return None


def award_args(programme: str, record: str, resource: dict[str, Any]) -> dict[str, Any] | None:
    """The ``rewards.award`` arguments for record ``record`` (whose decrypted resource is
    ``resource``), or None when it is no rewarded event. Only the event's kind and the
    record id leave the vault."""
    event = event_of(resource)
    return None if event is None else {"programme": programme, "event": event, "record": record}
