"""The demo consortium: organisations, members, patients and some signed activity.

The chain is founded in the data directory and its transactions are committed through
the ledger exactly as a node would (signed, verified, executed, logged), before any node
runs. Every demo member's key is in ``DATA/keys`` so you can act as them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from salus.identity import Identity
from salus.node.bootstrap import LedgerSession, OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.supply.demo import PARTIES, REGULATOR, founding_calls

DEMO_CHAIN = "salus-demo"
DEMO_ORGS = [
    OrgSpec("st-mary", "hospital", "St Mary's Hospital"),
    OrgSpec("city-general", "hospital", "City General Hospital"),
    OrgSpec("northlab", "lab", "North Diagnostics Laboratory"),
    OrgSpec("corner-pharmacy", "pharmacy", "Corner Pharmacy"),
    # the supply chain's other trading partners (salus.supply.demo)
    *(OrgSpec(p.org, p.type, p.name) for p in PARTIES.values() if p.org != "corner-pharmacy"),
    OrgSpec("state-board", "board", "State Medical Board"),
    OrgSpec("city-med-school", "school", "City Medical School"),
    OrgSpec("metro-residency", "residency", "Metro Internal Medicine Residency"),
    OrgSpec("cme-institute", "cme_provider", "Institute for Continuing Medical Education"),
    OrgSpec("acme-health", "insurer", "Acme Health Insurance"),
    OrgSpec("health-dept", "regulator", "Department of Health"),
]
#: (key name, organisation, roles)
DEMO_MEMBERS = [
    ("dr-alice", "st-mary", ["clinician", "educator"]),
    ("dr-bob", "city-general", ["clinician", "emergency_clinician"]),
    ("nurse-carol", "st-mary", ["nurse"]),
    ("officer-olga", "st-mary", ["privacy_officer"]),
    ("tech-dan", "northlab", ["lab_technician"]),
    ("pharm-erin", "corner-pharmacy", ["pharmacist"]),
    ("officer-frank", "acme-health", ["claims_officer"]),
    ("registrar-grace", "state-board", ["registrar", "issuer"]),
    ("auditor-heidi", "health-dept", ["auditor"]),
    ("dean-ruth", "city-med-school", ["issuer", "assessor", "educator"]),
    ("director-sam", "metro-residency", ["issuer", "assessor", "educator"]),
    ("cme-tina", "cme-institute", ["issuer"]),
    ("office-uma", "st-mary", ["registrar", "issuer"]),
    ("resident-vic", "metro-residency", ["learner"]),
    ("dr-walt", "city-general", ["clinician"]),
    # each trading partner's supply operator, who captures its EPCIS documents
    *((p.operator, p.org, ["supply_operator"]) for p in PARTIES.values()),
]
DEMO_PATIENTS = ["patient-ivy", "patient-jack", "patient-kim"]


def seed(data: Path) -> None:
    """Found the demo chain in ``data`` and commit its activity."""
    init_datadir(data, DEMO_CHAIN, DEMO_ORGS)
    datadir = DataDir(data)
    ledger = datadir.open_ledger()
    try:
        admins = {o.id: Identity.load(admin_key_path(datadir, o.id)) for o in DEMO_ORGS}
        people: dict[str, Identity] = {}
        for name in [m[0] for m in DEMO_MEMBERS] + DEMO_PATIENTS:
            people[name] = Identity.generate()
            people[name].save(datadir.keys_dir / f"{name}.key")
        s = LedgerSession(ledger)
        for name, org, roles in DEMO_MEMBERS:
            s.tx(admins[org], "membership", "enrol", {
                "org": org, "member": people[name].did, "roles": roles,
                "encryption_key": people[name].encryption_did})
        for name in DEMO_PATIENTS:
            s.tx(people[name], "membership", "register_patient",
                 {"encryption_key": people[name].encryption_did})
        s.commit()
        # the regulator registers the manufacturer's GS1 prefix and the parties' GLNs
        for contract, method, args in founding_calls():
            s.tx(admins[REGULATOR], contract, method, args)
        refused = [r for r in s.commit() if r[0] != "VALID"]
        if refused:
            raise RuntimeError(f"the demo's supply parties were not registered: {refused}")
        for i, (name, label) in enumerate([("dr-alice", "discharge-summary"),
                                           ("tech-dan", "lipid-panel-report"),
                                           ("pharm-erin", "dispensing-record"),
                                           ("dr-bob", "emergency-note")]):
            digest = hashlib.sha256(f"demo document {i}".encode()).hexdigest()
            s.tx(people[name], "notary", "anchor", {"hash": digest, "label": label})
        s.commit()
        # What only the order decides stays on the ledger with its code: the same document
        # anchored a second time is a CONFLICT. (What fails admission, say a nurse enrolling
        # someone, is refused before it is ordered and is nowhere on the ledger.)
        s.tx(people["dr-bob"], "notary", "anchor",
             {"hash": hashlib.sha256(b"demo document 0").hexdigest(), "label": "copy"})
        s.commit()
        rotated = Identity.generate()
        s.tx(people["dr-alice"], "membership", "rotate_key", {"new_key": rotated.did})
        s.commit()
        # The new key file carries a new X25519 key too: records are wrapped to that one.
        s.tx(rotated, "membership", "set_encryption_key",
             {"encryption_key": rotated.encryption_did})
        s.commit()
        rotated.save(datadir.keys_dir / "dr-alice.key", overwrite=True)
    finally:
        ledger.close()
