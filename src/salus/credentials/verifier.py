"""Offline verification of issued credentials, each step reported on its own.

The steps, in report order (``STEPS``):

``format``            VC 2.0 envelope and the type's JSON Schema; the proof set is there
``signature``         the issuer's ``eddsa-jcs-2022`` proof verifies
``issuer_key``        the signing key was the issuer's, and valid, when the batch was
                      anchored (not yet created / rotated / revoked before then fail)
``issuer_authorised`` the issuer's organisation type may issue the type, the batch was
                      anchored for it, and the organisation was a member then
``merkle``            the credential's path leads to the anchored batch root
``anchor``            the anchor transaction names that root, is signed, and the ledger
                      accepted it
``log``               the anchor transaction is in the log under an orderer-signed head
``status``            neither revoked nor suspended (at ``at``; history says since when)
``validity``          ``validFrom`` <= at < ``validUntil``

A step that cannot be judged because one it depends on failed is reported as not
checked (``ok`` is None) with the reason; ``failed_step`` is the first step that failed.
The only inputs are the credential and a :class:`VerificationContext` signed by the
orderer: no issuer website, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from salus.canonical import JSONError, loads_strict
from salus.clock import iso_from_ms, ms_from_iso, wall_clock_ms
from salus.credentials.anchor_proof import (
    AnchorClaim,
    AnchorInvalid,
    check_anchor_tx,
    check_log,
    check_merkle,
    parse,
    split,
)
from salus.credentials.context import VerificationContext, list_id_of
from salus.credentials.data_integrity import (
    ProofInvalid,
    SignedContent,
    signed_content,
    verify_proof,
)
from salus.credentials.status_list import StatusListError
from salus.credentials.types import ISSUER_ORG_TYPES, SchemaError, check_schema

STEPS = ("format", "signature", "issuer_key", "issuer_authorised", "merkle", "anchor", "log",
         "status", "validity")
_CACHE_LIMIT = 10_000


@dataclass
class Step:
    name: str
    ok: bool | None  # None: not checked, because a step it needs failed
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "ok": self.ok, "reason": self.reason}


@dataclass
class CredentialReport:
    id: str | None
    type: str | None
    issuer: str | None
    subject: str | None
    digest: str | None  # its batch leaf hash (the credential as signed): what was checked
    steps: list[Step]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.ok is False), None)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "issuer": self.issuer,
                "subject": self.subject, "digest": self.digest, "ok": self.ok,
                "failed_step": self.failed_step, "steps": [s.to_json() for s in self.steps]}


@dataclass
class DossierReport:
    subject: str | None
    at: str
    context: dict[str, Any]
    credentials: list[CredentialReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.credentials)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "subject": self.subject, "verified_at": self.at,
                "context": self.context, "problems": self.problems,
                "summary": {"credentials": len(self.credentials),
                            "passed": sum(c.ok for c in self.credentials),
                            "failed": sum(not c.ok for c in self.credentials)},
                "credentials": [c.to_json() for c in self.credentials]}


class _Run:
    """One credential's verification: the steps' outcomes as they are decided."""

    def __init__(self) -> None:
        self.results: dict[str, Step] = {}

    def passed(self, name: str, reason: str) -> None:
        self.results[name] = Step(name, True, reason)

    def failed(self, name: str, reason: str) -> None:
        self.results[name] = Step(name, False, reason)

    def skip(self, names: Sequence[str], because: str) -> None:
        for name in names:
            self.results.setdefault(name, Step(name, None, f"not checked: {because}"))

    def steps(self) -> list[Step]:
        return [self.results.get(n) or Step(n, None, "not checked") for n in STEPS]


def _within(span: dict[str, Any], height: int) -> bool:
    return span["from"] <= height and (span["to"] is None or height < span["to"])


class Verifier:
    """Verifies credentials against one context. The anchor and log checks are shared by
    every credential of a batch, so their outcome is cached per anchoring."""

    def __init__(self, context: VerificationContext) -> None:
        self.context = context
        self._anchoring: dict[tuple[Any, ...], tuple[str, str | None, str | None]] = {}

    def context_summary(self) -> dict[str, Any]:
        c = self.context
        return {"chain_id": c.chain_id, "height": c.height, "time": iso_from_ms(c.time),
                "orderer": c.orderer, "tree_size": c.tree_head.tree_size}

    # -- one credential --------------------------------------------------------------------
    def verify_bytes(self, raw: bytes, at_ms: int | None = None) -> CredentialReport:
        """A credential as a file holds it: JSON that Salus reads strictly (no floats, no
        duplicate keys), or a report failing at "format"."""
        try:
            credential = loads_strict(raw)
        except JSONError as exc:
            run = _Run()
            run.failed("format", f"not a JSON credential: {exc}")
            run.skip(STEPS, "the credential is not JSON")
            return CredentialReport(None, None, None, None, None, run.steps())
        return self.verify(credential, at_ms)

    def verify(self, credential: Any, at_ms: int | None = None) -> CredentialReport:
        at = wall_clock_ms() if at_ms is None else at_ms
        run = _Run()
        report = CredentialReport(None, None, None, None, None, [])
        if isinstance(credential, dict):
            report.id = _str(credential.get("id"))
            report.issuer = _str(credential.get("issuer"))
            subject = credential.get("credentialSubject")
            report.subject = _str(subject.get("id")) if isinstance(subject, dict) else None
        self._run(credential, at, run, report)
        report.steps = run.steps()
        return report

    def _run(self, credential: Any, at: int, run: _Run, report: CredentialReport) -> None:
        # format ---------------------------------------------------------------------------
        try:
            if not isinstance(credential, dict):
                raise SchemaError("a credential is a JSON object")
            issued, anchor = split(credential)
            kind = check_schema(issued)
            claim = parse(anchor)
        except (SchemaError, AnchorInvalid) as exc:
            run.failed("format", str(exc))
            run.skip(STEPS, "the credential is malformed")
            return
        report.type = kind
        run.passed("format", f"a well-formed {kind}")

        # signature ------------------------------------------------------------------------
        signer: str | None = None
        content: SignedContent | None = None
        try:
            content = signed_content(issued)
            proof = verify_proof(issued, content=content)
            if proof.options.get("proofPurpose") != "assertionMethod":
                raise ProofInvalid("the issuer's proof purpose must be assertionMethod")
            signer = proof.signer
            run.passed("signature", f"signed by {signer}")
        except ProofInvalid as exc:
            run.failed("signature", str(exc))

        # merkle, anchor, log --------------------------------------------------------------
        try:
            report.digest = check_merkle(issued, claim, content).hex()
            run.passed("merkle", f"leaf {claim.index} of a batch of {claim.size} leads to "
                                 f"root {claim.root.hex()}")
        except AnchorInvalid as exc:
            run.failed("merkle", exc.reason)
        record = self._anchor_steps(claim, run)

        # issuer key and authority need the anchor the ledger accepted --------------------
        if record is None:
            run.skip(("issuer_key", "issuer_authorised"), "the anchor is not established")
        else:
            if signer is None:
                run.skip(("issuer_key",), "the issuer's signature did not verify")
            else:
                self._issuer_key(issued["issuer"], signer, record, run)
            self._issuer_authorised(kind, record, run)

        self._status(issued, record, at, run)
        self._validity(issued, at, run)

    def _anchor_steps(self, claim: AnchorClaim, run: _Run) -> dict[str, Any] | None:
        """Run "anchor" and "log"; the accepted anchor record if both pass."""
        key = claim.anchoring
        outcome = self._anchoring.get(key)
        if outcome is None:
            outcome = self._anchoring_of(claim)
            if len(self._anchoring) >= _CACHE_LIMIT:
                self._anchoring.clear()
            self._anchoring[key] = outcome
        tx_id, anchor_error, log_error = outcome
        if anchor_error is not None:
            run.failed("anchor", anchor_error)
            run.skip(("log",), "the anchor transaction is not valid")
            return None
        record = self.context.anchors.get(claim.root.hex())
        if record is None or record["tx"] != tx_id:
            run.failed("anchor", f"the ledger accepted no anchor of root {claim.root.hex()} "
                                 f"by this transaction as of height {self.context.height} "
                                 f"(it was rejected, or the context predates it: refresh it)")
            record = None
        else:
            run.passed("anchor", f"root anchored at height {record['height']} by {record['org']}")
        if log_error is not None:
            run.failed("log", log_error)
            return None
        run.passed("log", f"in the log at {claim.log_index} under a tree head of size "
                          f"{claim.tree_size} signed by the orderer")
        return record

    def _anchoring_of(self, claim: AnchorClaim) -> tuple[str, str | None, str | None]:
        """(anchor tx id, why step "anchor" fails, why step "log" fails)."""
        try:
            tx_id = check_anchor_tx(claim, self.context.chain_id).id_hex
        except AnchorInvalid as exc:
            return "", exc.reason, None
        try:
            check_log(claim, self.context.orderer, self.context.chain_id)
        except AnchorInvalid as exc:
            return tx_id, None, exc.reason
        return tx_id, None, None

    def _issuer_key(self, issuer: str, signer: str, record: dict[str, Any], run: _Run) -> None:
        height = record["height"]
        if issuer != record["issuer"]:
            run.failed("issuer_key", f"the credential names issuer {issuer}, but the batch was "
                                     f"anchored by {record['issuer']}")
            return
        member = self.context.issuers.get(issuer)
        entry = None if member is None else next(
            (k for k in member["keys"] if k["did"] == signer), None)
        if entry is None:
            run.failed("issuer_key", f"{signer} was never a key of issuer {issuer}")
        elif height < entry["from"]:
            run.failed("issuer_key", f"the key was not yet created at issue (height {height}; "
                                     f"the key is valid from height {entry['from']})")
        elif entry["to"] is not None and height >= entry["to"]:
            how = "revoked" if entry["status"] == "revoked" else "rotated"
            run.failed("issuer_key", f"the key was {how} at height {entry['to']}, before the "
                                     f"credential was issued at height {height}")
        else:
            later = "" if entry["to"] is None else (
                f"; {entry['status']} later, at height {entry['to']}")
            run.passed("issuer_key", f"the issuer's key was valid at issue (height {height})"
                                     f"{later}")

    def _issuer_authorised(self, kind: str, record: dict[str, Any], run: _Run) -> None:
        org_type, height = record["org_type"], record["height"]
        org = self.context.organisations.get(record["org"])
        if kind not in record["types"]:
            run.failed("issuer_authorised", f"the batch was anchored for {record['types']}, "
                                            f"not {kind}")
        elif org_type not in ISSUER_ORG_TYPES[kind]:
            run.failed("issuer_authorised", f"a {org_type} may not issue {kind}")
        elif org is None or not _within(org, height):
            run.failed("issuer_authorised", f"{record['org']} was not a member at height {height}")
        else:
            removed = "" if org["to"] is None else f"; left the consortium at height {org['to']}"
            run.passed("issuer_authorised", f"{record['org']} ({org_type}) may issue {kind}"
                                            f"{removed}")

    def _status(self, issued: dict[str, Any], record: dict[str, Any] | None, at: int,
                run: _Run) -> None:
        notes = []
        for entry in issued["credentialStatus"]:
            purpose, index = entry["statusPurpose"], int(entry["statusListIndex"])
            list_id = list_id_of(entry["statusListCredential"], self.context.chain_id)
            doc = None if list_id is None else self.context.status_list(list_id)
            if doc is None:
                run.failed("status", f"{entry['statusListCredential']} is not a status list "
                                     f"of this ledger")
                return
            if doc["purpose"] != purpose or index >= doc["size"]:
                run.failed("status", f"entry {index} of {list_id} is not a {purpose} entry")
                return
            if record is not None and doc["org"] != record["org"]:
                run.failed("status", f"status list {list_id} belongs to {doc['org']}, not "
                                     f"the issuer's organisation")
                return
            try:
                state = self.context.status(list_id, index)
            except StatusListError as exc:
                run.failed("status", f"status list {list_id}: {exc}")
                return
            # the entry as of `at`: unset until its history says otherwise
            value, since = False, None
            for height, time, set_to, reason in state.history:
                if time <= at or at >= self.context.time:
                    value, since = set_to, (height, time, reason)
            if value:
                height, time, reason = since or (None, self.context.time, "")
                word = "revoked" if purpose == "revocation" else "suspended"
                run.failed("status", f"{word} since {iso_from_ms(time)} (height {height}): "
                                     f"{reason}")
                return
            if state.history:
                notes.append(f"{purpose} entry changed {len(state.history)} time(s)")
        run.passed("status", "; ".join(["not revoked, not suspended", *notes]) +
                   f" (as of height {self.context.height})")

    @staticmethod
    def _validity(issued: dict[str, Any], at: int, run: _Run) -> None:
        try:
            start = ms_from_iso(issued["validFrom"])
            end = ms_from_iso(issued["validUntil"]) if "validUntil" in issued else None
        except ValueError as exc:
            run.failed("validity", f"a validity date is not a date-time: {exc}")
            return
        if at < start:
            run.failed("validity", f"not yet valid: valid from {issued['validFrom']}")
        elif end is not None and at >= end:
            run.failed("validity", f"expired: valid until {issued['validUntil']}")
        else:
            until = f" until {issued['validUntil']}" if end is not None else ""
            run.passed("validity", f"valid at {iso_from_ms(at)} (from {issued['validFrom']}"
                                   f"{until})")

    # -- a dossier -------------------------------------------------------------------------
    def verify_dossier(self, credentials: Sequence[Any], subject: str | None = None,
                       at_ms: int | None = None) -> DossierReport:
        """All of one professional's credentials, one report. Every credential must be
        about ``subject`` (default: the first credential's subject)."""
        at = wall_clock_ms() if at_ms is None else at_ms
        reports = [self.verify(c, at) for c in credentials]
        subject = subject or next((r.subject for r in reports if r.subject), None)
        dossier = DossierReport(subject, iso_from_ms(at), self.context_summary(), reports)
        if not credentials:
            dossier.problems.append("the dossier holds no credentials")
        for r in reports:
            if r.subject != subject:
                dossier.problems.append(f"credential {r.id} is about {r.subject}, not {subject}")
        return dossier


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
