"""The credentialing flow: an office asks for a dossier, the physician presents it, the
office verifies it in one step and keeps a signed report.

1. :func:`request_dossier`: the office names the credential types it needs and mints a
   fresh challenge for its domain.
2. The physician answers from their wallet (:meth:`salus.credentials.wallet.Wallet.respond`):
   a presentation of those types only, signed over the challenge and domain.
3. :func:`assess`: every check of the presentation and each credential, plus "is every
   requested type there and verified?", in one report signed by the office's key
   (``eddsa-jcs-2022``). :func:`check_report` lets anyone confirm later that the office
   issued the report unchanged; anchoring its hash with the notary contract dates it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from salus.clock import iso_from_ms, wall_clock_ms
from salus.credentials.data_integrity import ProofInvalid, add_proof, verify_proof
from salus.credentials.presentation import verify_presentation
from salus.credentials.types import TYPES
from salus.credentials.verifier import Verifier
from salus.identity import Identity

REQUEST_TYPE = "SalusDossierRequest"
REPORT_TYPE = "SalusCredentialingReport"


class CredentialingError(ValueError):
    """A request or report that is malformed or not the office's; ``str()`` says why."""


def request_dossier(office: Identity, domain: str, types: Sequence[str]) -> dict[str, Any]:
    unknown = sorted(set(types) - set(TYPES))
    if unknown or not types:
        raise CredentialingError(f"request known credential types ({', '.join(sorted(TYPES))})"
                                 + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    if not domain:
        raise CredentialingError("a request names the office's domain")
    return {"type": REQUEST_TYPE, "id": f"urn:uuid:{uuid.uuid4()}",
            "challenge": secrets.token_urlsafe(24), "domain": domain,
            "types": sorted(set(types)), "requester": office.did,
            "created": iso_from_ms(wall_clock_ms())}


def check_request(request: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or request.get("type") != REQUEST_TYPE or not all(
            isinstance(request.get(k), str) and request[k] for k in ("challenge", "domain",
                                                                     "requester", "id")) \
            or not isinstance(request.get("types"), list) or not request["types"]:
        raise CredentialingError(f"not a {REQUEST_TYPE} (id, challenge, domain, types, "
                                 f"requester)")
    return request


def assess(request: dict[str, Any], presentation: Any, verifier: Verifier, office: Identity,
           at_ms: int | None = None) -> dict[str, Any]:
    """The office's signed report on a presentation made for ``request``."""
    check_request(request)
    if request["requester"] != office.did:
        raise CredentialingError("this request was made by another office's key")
    result = verify_presentation(presentation, challenge=request["challenge"],
                                 domain=request["domain"], verifier=verifier, at_ms=at_ms)
    verified = set()
    if result.dossier is not None:
        verified = {c.type for c in result.dossier.credentials if c.ok}
    missing = sorted(set(request["types"]) - verified)
    now = iso_from_ms(wall_clock_ms())
    report = {"type": REPORT_TYPE, "id": f"urn:uuid:{uuid.uuid4()}", "request": request["id"],
              "requested_types": request["types"], "holder": result.holder,
              "complete": result.ok and not missing, "missing_types": missing,
              "verified_at": now, "presentation": result.to_json()}
    return add_proof(report, office, created=now)


def check_report(report: Any, office: str) -> None:
    """Raise :class:`CredentialingError` unless ``office`` signed this report unchanged."""
    if not isinstance(report, dict) or report.get("type") != REPORT_TYPE:
        raise CredentialingError(f"not a {REPORT_TYPE}")
    try:
        signer = verify_proof(report).signer
    except ProofInvalid as exc:
        raise CredentialingError(f"the report's proof: {exc}") from None
    if signer != office:
        raise CredentialingError(f"the report was signed by {signer}, not {office}")
