"""The demo's credentials and competency ledger, written through the API once the node
serves, as issuers, physicians and a credentialing office would.

* City Medical School (dean-ruth) issues degrees; the State Medical Board
  (registrar-grace) licences and a board certification; the CME institute (cme-tina)
  CME certificates; Metro Residency (director-sam) EPA assessments; St Mary's
  (office-uma) hospital privileges.
* dr-walt's licence is revoked by the board.
* Physicians keep their credentials in wallets: ``DATA/wallets/<name>/``.
* The competency ledger: EPA assessments of resident-vic, teaching edges making a
  three-generation lineage from dean-ruth, CME hours against the board's biennial
  requirement, a learning module with pre/post scores.
* St Mary's credentialing office asks dr-alice for her dossier, verifies her answer,
  and keeps the signed report in ``DATA/credentialing/``.

What was made is written to ``DATA/demo-credentials.json``, which also marks it done.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salus.client import SalusClient
from salus.credentials.context import VerificationContext
from salus.credentials.credentialing import assess, request_dossier
from salus.credentials.issuer import CredentialRequest, Issuer
from salus.credentials.verifier import Verifier
from salus.credentials.wallet import Wallet
from salus.demo.marker import once
from salus.identity import Identity
from salus.node.datadir import DataDir

MARKER = "demo-credentials.json"
PHYSICIANS = ["dr-alice", "dr-bob", "dr-walt", "resident-vic"]
ISSUERS = ["dean-ruth", "registrar-grace", "cme-tina", "director-sam", "office-uma"]


def _achievement(kind: str, name: str) -> dict[str, Any]:
    return {"type": ["Achievement"], "achievementType": kind, "name": name}


def _requests(issuer: str, did: dict[str, str]) -> list[CredentialRequest]:
    if issuer == "dean-ruth":
        return [CredentialRequest("DegreeCredential", {
            "id": did[p], "achievement": _achievement("Degree", "Doctor of Medicine"),
            "degree": "MD", "field": "Medicine", "awarded": f"20{14 + i}-06-01"})
            for i, p in enumerate(PHYSICIANS)]
    if issuer == "registrar-grace":
        licences = [CredentialRequest("LicenseCredential", {
            "id": did[p], "achievement": _achievement("License", "Physician and surgeon"),
            "jurisdiction": "US-CA", "licenseNumber": f"A{120000 + i}",
            "licenseStatus": "active"}, valid_until="2028-12-31T23:59:59Z")
            for i, p in enumerate(PHYSICIANS[:3])]
        return [*licences, CredentialRequest("BoardCertificationCredential", {
            "id": did["dr-alice"], "achievement": _achievement("Certification",
                                                               "Internal Medicine"),
            "specialty": "Internal Medicine", "certified": "2021-09-15"})]
    if issuer == "cme-tina":
        return [CredentialRequest("CMECredential", {
            "id": did["dr-alice"], "achievement": _achievement("CertificateOfCompletion",
                                                               title),
            "hours": hours, "category": "AMA_PRA_1", "completed": done, "activity": title})
            for title, hours, done in (("Sepsis update 2026", 1500, "2026-03-10"),
                                       ("Antimicrobial stewardship", 2000, "2026-09-02"))]
    if issuer == "director-sam":
        return [CredentialRequest("EPAAssessmentCredential", {
            "id": did["resident-vic"], "achievement": _achievement(
                "Assessment", f"Core EPA {epa}"), "epa": epa, "entrustmentLevel": level,
            "assessor": did["director-sam"], "assessed": "2026-10-15",
            "setting": "inpatient-ward"}) for epa, level in ((1, 4), (4, 3), (10, 2))]
    assert issuer == "office-uma"
    return [CredentialRequest("HospitalPrivilegesCredential", {
        "id": did["dr-alice"], "facility": "st-mary", "department": "Internal Medicine",
        "privileges": ["admit", "consult", "central line placement"],
        "granted": "2025-02-01"})]


def _education(c: dict[str, SalusClient], did: dict[str, str]) -> None:
    sam, ruth, alice = c["director-sam"], c["dean-ruth"], c["dr-alice"]
    for competency, level, kind, day in (("EPA1", 3, "epa", "2026-08-01"),
                                         ("EPA1", 4, "epa", "2026-10-15"),
                                         ("EPA4", 3, "epa", "2026-10-15"),
                                         ("EPA10", 2, "epa", "2026-10-15"),
                                         ("PC1", 3, "milestone", "2026-10-20"),
                                         ("MK2", 2, "milestone", "2026-10-20")):
        sam.call("education", "assess", {"learner": did["resident-vic"], "kind": kind,
                                         "competency": competency, "level": level,
                                         "date": day, "setting": "inpatient-ward"})
    # lineage: dean-ruth taught alice and bob; alice now teaches resident-vic
    ruth.call("education", "teach", {"learners": [did["dr-alice"], did["dr-bob"]],
                                     "activity": "clinical-skills-2015"})
    alice.call("education", "teach", {"learners": [did["resident-vic"]],
                                      "activity": "ward-teaching"})
    for teacher, learner, pre, post in ((ruth, "dr-alice", 55, 85), (ruth, "dr-bob", 70, 80),
                                        (sam, "resident-vic", 40, 75)):
        teacher.call("education", "record_module", {"module": "sepsis-101",
                                                    "learner": did[learner], "pre": pre,
                                                    "post": post})
    c["registrar-grace"].call("education", "set_cme_requirement", {
        "id": "biennial", "hours": 5000, "months": 24, "category": "AMA_PRA_1"})
    for activity, hours, day in (("sepsis-update-2026", 1500, "2026-03-10"),
                                 ("stewardship-2026", 2000, "2026-09-02")):
        c["cme-tina"].call("education", "record_cme", {
            "professional": did["dr-alice"], "activity": activity, "hours": hours,
            "category": "AMA_PRA_1", "completed": day})


def seed_credentials(url: str, data: Path, say: Callable[[str], None] = lambda _: None
                     ) -> dict[str, Any]:
    keys = data / "keys"
    people = {n: Identity.load(keys / f"{n}.key") for n in PHYSICIANS + ISSUERS}
    did = {n: who.did for n, who in people.items()}
    c = {n: SalusClient(url, who) for n, who in people.items()}
    made: dict[str, Any] = {"wallets": {}, "issued": {}, "revoked": None}
    wallets = {p: _wallet(data, p, people[p]) for p in PHYSICIANS}
    holder_of = {did[p]: p for p in PHYSICIANS}
    try:
        say("issuing credentials: degrees, licences, CME, EPAs, privileges ...")
        (data / "issuers").mkdir(exist_ok=True)
        for issuer in ISSUERS:
            with Issuer(c[issuer], data / "issuers" / f"{issuer}.db") as service:
                issued = service.issue(_requests(issuer, did))
                if issuer == "registrar-grace":
                    walt = next(x for x in issued if x["credentialSubject"]["id"] ==
                                did["dr-walt"])
                    service.revoke(walt["id"], "surrendered")
                    made["revoked"] = {"holder": "dr-walt", "credential": walt["id"]}
            for cred in issued:
                made["issued"].setdefault(issuer, []).append(cred["id"])
                wallets[holder_of[cred["credentialSubject"]["id"]]].add(cred)
        made["wallets"] = {p: str(w.root) for p, w in wallets.items()}

        say("the competency ledger: assessments, teaching, modules, CME ...")
        _education(c, did)

        say("St Mary's credentialing office verifies dr-alice's dossier ...")
        office = people["office-uma"]
        request = request_dossier(office, "st-mary.example",
                                  ["LicenseCredential", "DegreeCredential",
                                   "BoardCertificationCredential"])
        answer = wallets["dr-alice"].respond(request)
        orderer = DataDir(data).genesis().orderer  # the trust root, from genesis on disk
        context = VerificationContext.load(c["office-uma"].credentials_context(), orderer)
        report = assess(request, answer, Verifier(context), office)
        folder = data / "credentialing"
        folder.mkdir(exist_ok=True)
        for name, doc in (("request-dr-alice.json", request),
                          ("presentation-dr-alice.json", answer),
                          ("report-dr-alice.json", report)):
            (folder / name).write_text(json.dumps(doc, indent=1))
        made["credentialing_report"] = {"file": str(folder / "report-dr-alice.json"),
                                        "complete": report["complete"]}
    finally:
        for client in c.values():
            client.close()
    return made


def _wallet(data: Path, name: str, holder: Identity) -> Wallet:
    root = data / "wallets" / name
    return Wallet.open(root) if (root / "holder.key").exists() else Wallet.create(root, holder)


def seed_once(url: str, data: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Seed the credentials unless this data directory already has them."""
    return once(data / MARKER, lambda: seed_credentials(url, data, say))
