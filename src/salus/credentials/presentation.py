"""Verifiable Presentations: a holder shows chosen credentials to one verifier, once.

The holder signs the presentation (``eddsa-jcs-2022``, proof purpose
``authentication``) over the verifier's ``challenge`` (a fresh nonce) and ``domain``
(who the verifier is), as VC Data Model 2.0 section 5.13 and Data Integrity section 2.1
describe. A verifier that checks both against what it asked for cannot be handed a
presentation made for someone else, or one it has seen before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from salus.credentials.data_integrity import ProofInvalid, add_proof, verify_proof
from salus.credentials.types import VC_CONTEXT
from salus.credentials.verifier import DossierReport, Step, Verifier
from salus.identity import Identity

PRESENTATION_TYPE = "VerifiablePresentation"
PRESENTATION_STEPS = ("format", "holder_signature", "challenge", "domain", "holder_is_subject")
MAX_CREDENTIALS = 500


def present(credentials: Sequence[dict[str, Any]], holder: Identity, *, challenge: str,
            domain: str, created: str) -> dict[str, Any]:
    """A presentation of ``credentials`` (the holder's choice of them) for one verifier."""
    if not challenge or not domain:
        raise ValueError("a presentation is made for a verifier's challenge and domain")
    doc = {"@context": [VC_CONTEXT], "type": [PRESENTATION_TYPE], "holder": holder.did,
           "verifiableCredential": list(credentials)}
    return add_proof(doc, holder, created=created, proof_purpose="authentication",
                     challenge=challenge, domain=domain)


@dataclass
class PresentationReport:
    holder: str | None
    steps: list[Step]
    dossier: DossierReport | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and self.dossier is not None and self.dossier.ok

    @property
    def failed_step(self) -> str | None:
        """The presentation's own first failed step; else the dossier's first, as
        ``credentials[i].<step>`` (or ``dossier`` for a problem of the whole): a
        presentation that fails only because a credential in it does says which."""
        own = next((s.name for s in self.steps if s.ok is False), None)
        if own is not None or self.dossier is None:
            return own
        if self.dossier.problems:
            return "dossier"
        return next((f"credentials[{i}].{c.failed_step}"
                     for i, c in enumerate(self.dossier.credentials) if c.failed_step), None)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "holder": self.holder, "failed_step": self.failed_step,
                "steps": [s.to_json() for s in self.steps],
                "dossier": None if self.dossier is None else self.dossier.to_json()}


def verify_presentation(presentation: Any, *, challenge: str, domain: str, verifier: Verifier,
                        at_ms: int | None = None) -> PresentationReport:
    """Check the holder's proof against the ``challenge`` and ``domain`` this verifier
    issued, then every credential in it as one dossier about the holder."""
    steps: dict[str, Step] = {}

    def done() -> PresentationReport:
        ordered = [steps.get(n) or Step(n, None, "not checked") for n in PRESENTATION_STEPS]
        holder = presentation.get("holder") if isinstance(presentation, dict) else None
        return PresentationReport(holder if isinstance(holder, str) else None, ordered)

    creds = presentation.get("verifiableCredential") if isinstance(presentation, dict) else None
    if (not isinstance(presentation, dict) or presentation.get("type") != [PRESENTATION_TYPE]
            or not isinstance(presentation.get("holder"), str) or not isinstance(creds, list)
            or not 1 <= len(creds) <= MAX_CREDENTIALS):
        steps["format"] = Step("format", False, f"not a {PRESENTATION_TYPE} with a holder and "
                                                f"1 to {MAX_CREDENTIALS} credentials")
        return done()
    steps["format"] = Step("format", True, f"a presentation of {len(creds)} credential(s)")
    holder = presentation["holder"]
    try:
        proof = verify_proof(presentation)
        if proof.signer != holder:
            raise ProofInvalid(f"signed by {proof.signer}, not by the holder {holder}")
        if proof.options.get("proofPurpose") != "authentication":
            raise ProofInvalid("a presentation's proof purpose must be authentication")
        steps["holder_signature"] = Step("holder_signature", True, f"signed by {holder}")
    except ProofInvalid as exc:
        steps["holder_signature"] = Step("holder_signature", False, str(exc))
        return done()
    for name, expected in (("challenge", challenge), ("domain", domain)):
        got = proof.options.get(name)
        steps[name] = (Step(name, True, f"{name} matches") if got == expected else
                       Step(name, False, f"made for {name} {got!r}, not {expected!r}: a "
                                         f"presentation for someone else, or a replay"))
    report = done()
    report.dossier = verifier.verify_dossier(creds, subject=holder, at_ms=at_ms)
    strangers = [c.id for c in report.dossier.credentials if c.subject != holder]
    report.steps[PRESENTATION_STEPS.index("holder_is_subject")] = (
        Step("holder_is_subject", False, f"the holder is not the subject of {strangers}")
        if strangers else Step("holder_is_subject", True, "every credential is the holder's"))
    return report
