"""Claims served by a real node: an insurer (acme-health) and a hospital (st-mary) hosted
by the node, another insurer and hospital it does not host, claims officers, a medical
reviewer, a registrar, patients with coverage recorded under the payer's member key."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pas_bundles as pb
from claims_world import coverage_id, rule, table, units
from salus.claims.keys import member_hash, payer_member_key
from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import LedgerSession, OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import node_server

PAYER, OTHER_PAYER = "acme-health", "beacon-health"
PROVIDER, OTHER_PROVIDER = "st-mary", "riverside"
ORGS = [OrgSpec(PAYER, "insurer", "Acme"), OrgSpec(PROVIDER, "hospital", "St Mary"),
        OrgSpec(OTHER_PAYER, "insurer", "Beacon"), OrgSpec(OTHER_PROVIDER, "hospital", "Riverside")]
#: key name -> (org, roles); patients have org None
PEOPLE = {"officer": (PAYER, ["claims_officer"]), "reviewer": (PAYER, ["medical_reviewer"]),
          "other-officer": (OTHER_PAYER, ["claims_officer"]),
          "registrar": (PROVIDER, ["registrar"]), "nurse": (PROVIDER, ["nurse"]),
          "other-registrar": (OTHER_PROVIDER, ["registrar"]),
          "ana": (None, []), "ben": (None, [])}
MEMBERS = {"ana": "M-ANA-1", "ben": "M-BEN-2"}


def site_table() -> dict[str, Any]:
    """The tests' table, plus the request examples' MRI (70551) under review."""
    t = table(PAYER)
    t["rules"].append(rule("mri-brain", codes=["70551"], prior_auth=True, units=units(2, 60),
                           allowed_cents=200_000))
    t["rules"].append(rule("ct-review", codes=["70450"], prior_auth=True, review=True,
                           units=units(1, 30)))
    return t


def found(data: Path) -> None:
    init_datadir(data, "salus-claims-test", ORGS)
    datadir = DataDir(data)
    admins = {o.id: Identity.load(admin_key_path(datadir, o.id)) for o in ORGS}
    people = {name: Identity.generate() for name in PEOPLE}
    for name, key in people.items():
        key.save(datadir.keys_dir / f"{name}.key")
    ledger = datadir.open_ledger()
    try:
        s = LedgerSession(ledger)
        for name, (org, roles) in PEOPLE.items():
            if org is None:
                s.tx(people[name], "membership", "register_patient", {})
            else:
                s.tx(admins[org], "membership", "enrol", {
                    "org": org, "member": people[name].did, "roles": roles,
                    "encryption_key": people[name].encryption_did})
        assert all(c == "VALID" for c, _ in s.commit())
        s.tx(people["officer"], "claims", "publish_rules", {"table": site_table()})
        s.tx(people["other-officer"], "claims", "publish_rules", {"table": table(OTHER_PAYER)})
        key = payer_member_key(datadir, PAYER)
        for name, member in MEMBERS.items():
            s.tx(people["officer"], "claims", "record_coverage", {
                "coverage": coverage_id(name), "plan": "gold", "start": "2025-01-01",
                "member": member_hash(key, member), "patient": people[name].did})
        verdicts = s.commit()
        assert all(c == "VALID" for c, _ in verdicts), verdicts
    finally:
        ledger.close()


@dataclass
class Site:
    url: str
    data: Path

    def key(self, name: str) -> Identity:
        return Identity.load(DataDir(self.data).keys_dir / f"{name}.key")

    def client(self, name: str) -> SalusClient:
        return SalusClient(self.url, self.key(name))


@contextmanager
def claims_site(data: Path, orgs: tuple[str, ...] = (PAYER, PROVIDER)) -> Iterator[Site]:
    found(data)
    # the other payer and provider are on the chain, not hosted by this node
    datadir = DataDir(data)
    for org in (OTHER_PAYER, OTHER_PROVIDER):
        admin_key_path(datadir, org).unlink()
    server, node = node_server(data, block_max_wait_ms=5, claims_orgs=orgs)
    with server:
        yield Site(server.url, data)
    node.ledger.close()


def bundle(patient: str = "ana", use: str = "preauthorization", code: str = "70551",
           n: int = 1, tag: str = "111099", **item: Any) -> dict[str, Any]:
    """A PAS request for ``patient`` (her member id), one item, the Patient's birth date."""
    doc = copy.deepcopy(pb.minimal(use))
    claim = pb.claim_of(doc)
    claim["identifier"][0]["value"] = tag
    line = claim["item"][0]
    line["productOrService"]["coding"][0]["code"] = code
    line["quantity"] = {"value": n}
    line.pop("net")
    line.update(item)
    pb.resource(doc, "Coverage")["identifier"][0]["value"] = MEMBERS.get(patient, patient)
    pb.resource(doc, "Patient")["birthDate"] = "1970-03-15"
    return doc
