"""The rendering practitioner's licence, from the credentials application (a fact
adjudication takes from its caller: :class:`salus.claims.adjudicate.LedgerFacts.licence`).

A licence is a ``LicenseCredential`` a board issued and anchored (salus.credentials). A
provider keeps its practitioners' licence credentials with its claims service
(``claims/licences/<provider>/*.json`` in the data directory: the practitioner presents
it once, as to a credentialing office). A PAS Bundle names its practitioner by
identifiers (NPI, licence number); the credential whose ``licenseNumber`` (or subject
did) is one of them is the practitioner's.

Whether the licence was valid on a date of service is the credentials verifier's answer
at noon UTC of that day against the ledger's verification context: signed, anchored by
an authorised board, within its validity period, and neither revoked nor suspended *as
of that day* (the status lists' history on the ledger says since when). So a licence
revoked after the service still covers it, and one revoked before does not. The periods
given to adjudication are those days, each a period of one day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from salus.canonical import JSONError, loads_strict
from salus.claims.contracts.layout import DAY_MS, days_of
from salus.credentials.context import VerificationContext, snapshot
from salus.credentials.verifier import Verifier
from salus.ledger.ledger import Ledger

LICENCE_TYPE = "LicenseCredential"
MAX_LICENCE_BYTES = 256 * 1024


def licences_dir(root: Path, provider: str) -> Path:
    return root / "claims" / "licences" / provider


def _subject(credential: Any) -> dict[str, Any]:
    subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
    return subject if isinstance(subject, dict) else {}


def held(directory: Path) -> list[dict[str, Any]]:
    """The licence credentials in ``directory`` (files that are not one are skipped)."""
    out = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        if path.stat().st_size > MAX_LICENCE_BYTES:
            continue
        try:
            doc = loads_strict(path.read_bytes())
        except (JSONError, OSError):
            continue
        if isinstance(doc, dict) and LICENCE_TYPE in (doc.get("type") or []):
            out.append(doc)
    return out


def of_practitioner(credentials: Iterable[dict[str, Any]], ids: Iterable[str]
                    ) -> list[dict[str, Any]]:
    """The credentials naming one of ``ids`` as licence number or subject."""
    wanted = set(ids)
    return [c for c in credentials
            if {_subject(c).get("licenseNumber"), _subject(c).get("id")} & wanted]


def subject_of(credentials: list[dict[str, Any]]) -> str | None:
    return next((s for s in (_subject(c).get("id") for c in credentials)
                 if isinstance(s, str)), None)


def periods(ledger: Ledger, credentials: list[dict[str, Any]], dates: Iterable[str]
            ) -> tuple[tuple[str, str | None], ...]:
    """The days among ``dates`` on which one of ``credentials`` was a valid licence."""
    if not credentials:
        return ()
    verifier = Verifier(VerificationContext(snapshot(ledger)))
    valid = []
    for date in sorted(set(dates)):
        noon = days_of(date) * DAY_MS + DAY_MS // 2
        if any(verifier.verify(json.loads(json.dumps(c)), at_ms=noon).ok for c in credentials):
            valid.append((date, date))
    return tuple(valid)
