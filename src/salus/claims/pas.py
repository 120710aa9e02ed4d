"""HL7 Da Vinci Prior Authorization Support (PAS) for Salus: read a request Bundle
(:func:`read_request`, :func:`read_inquiry`), answer it (:func:`response_bundle`,
:func:`inquire_response`). Pure functions: no ledger, no HTTP, no clock.

The reading is in :mod:`salus.claims.pas_request`, the answers in
:mod:`salus.claims.pas_response`; this module is the one name callers import.
"""

from __future__ import annotations

from salus.claims.fhir_values import Coded, Identifier
from salus.claims.pas_request import (
    MAX_BUNDLE_BYTES,
    Item,
    Member,
    Party,
    PasRefused,
    PasRequest,
    Related,
    SupportingInfo,
    read_inquiry,
    read_request,
)
from salus.claims.pas_response import (
    Action,
    Answer,
    ItemDecision,
    claim_response,
    inquire_response,
    inquiry_matches,
    response_bundle,
    summary,
)

__all__ = [
    "MAX_BUNDLE_BYTES", "Action", "Answer", "Coded", "Identifier", "Item", "ItemDecision",
    "Member", "Party", "PasRefused", "PasRequest", "Related", "SupportingInfo",
    "claim_response", "inquire_response", "inquiry_matches", "read_inquiry", "read_request",
    "response_bundle", "summary",
]
