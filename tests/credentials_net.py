"""A real node with a board, a school, a hospital, a CME provider and a regulator, and an
issuer service for each issuing organisation (tests of the credentials application)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ident
from salus.client import SalusClient
from salus.credentials.context import VerificationContext
from salus.credentials.issuer import CredentialRequest, Issuer
from salus.credentials.verifier import Verifier
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import node_server

ORGS = [OrgSpec("medboard", "board", "State Medical Board"),
        OrgSpec("med-school", "school", "City Medical School"),
        OrgSpec("st-luke", "hospital", "St Luke's Hospital"),
        OrgSpec("cme-co", "cme_provider", "CME Co"),
        OrgSpec("health-dept", "regulator", "Health Regulator")]
ISSUERS = {"registrar": "medboard", "dean": "med-school", "credentialing": "st-luke",
           "cme-desk": "cme-co"}


@dataclass
class CredNet:
    data: Path
    url: str
    orderer: str
    chain_id: str
    keys: dict[str, Identity] = field(default_factory=dict)

    def client(self, who: str | Identity | None = None) -> SalusClient:
        key = self.keys[who] if isinstance(who, str) else who
        return SalusClient(self.url, key)

    @contextmanager
    def issuer(self, name: str, key: Identity | None = None) -> Iterator[Issuer]:
        with self.client(key or self.keys[name]) as c, \
                Issuer(c, self.data / f"issuer-{name}.db") as issuer:
            yield issuer

    def context(self) -> VerificationContext:
        with self.client() as c:
            doc = c.credentials_context()
        return VerificationContext.load(doc, self.orderer, self.chain_id)

    def verifier(self) -> Verifier:
        return Verifier(self.context())


def licence(physician: str, number: str, **kw) -> CredentialRequest:
    return CredentialRequest("LicenseCredential", {
        "id": physician, "achievement": {"type": ["Achievement"], "achievementType": "License",
                                         "name": "Licence to practise medicine"},
        "jurisdiction": "US-CA", "licenseNumber": number, "licenseStatus": "active"}, **kw)


def degree(physician: str) -> CredentialRequest:
    return CredentialRequest("DegreeCredential", {
        "id": physician, "achievement": {"type": ["Achievement"], "achievementType": "Degree",
                                         "name": "Doctor of Medicine"},
        "degree": "MD", "field": "Medicine", "awarded": "2020-06-01"})


def privileges(physician: str) -> CredentialRequest:
    return CredentialRequest("HospitalPrivilegesCredential", {
        "id": physician, "facility": "st-luke", "privileges": ["admit", "general surgery"],
        "granted": "2024-01-15"})


@contextmanager
def running(tmp: Path) -> Iterator[CredNet]:
    init_datadir(tmp, "salus-cred-test", ORGS)
    datadir = DataDir(tmp)
    served, node = node_server(tmp, block_max_wait_ms=5, custodians=(), context_max_age=0)
    with served as server:
        genesis = datadir.genesis()
        net = CredNet(tmp, server.url, genesis.orderer, genesis.chain_id)
        for spec in ORGS:
            net.keys[f"{spec.id}-admin"] = Identity.load(admin_key_path(datadir, spec.id))
        for name, org in ISSUERS.items():
            net.keys[name] = ident(name)
            with net.client(f"{org}-admin") as admin:
                admin.call("membership", "enrol", {"org": org, "member": ident(name).did,
                                                   "roles": ["issuer"]})
        yield net
    node.ledger.close()
