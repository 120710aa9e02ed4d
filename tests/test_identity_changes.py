"""Identity changes keep members working, end to end through a real node.

After a key rotation the CLI and the SDK address the member by member id (the did of
their first key), so ``salus records list -k new.key`` lists the same records; after a
new encryption key, custodians re-wrap the member's document keys to it from their own
copies (docs/architecture.md, "Changing keys"), so reads go on at once, for patients and
for the practitioners they granted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nacl.public
import pytest
from typer.testing import CliRunner

from conftest import ident
from records_net import bundle_for
from salus.cli.main import app as cli
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.records.fhir_export import patient_fhir_id
from servers import node_server

ORGS = [OrgSpec("st-mary", "hospital", "St Mary's")]
runner = CliRunner()


@dataclass
class World:
    url: str
    keys: Path
    people: dict[str, Identity] = field(default_factory=dict)

    def client(self, who: str | Identity) -> SalusClient:
        return SalusClient(self.url, self.people[who] if isinstance(who, str) else who)

    def key_file(self, name: str) -> str:
        path = self.keys / f"{name}.key"
        if not path.exists():
            self.people[name].save(path)
        return str(path)

    def enrol(self, name: str, role: str = "clinician") -> Identity:
        who = self.people[name] = ident(f"identity-{name}")
        with self.client("st-mary-admin") as admin:
            admin.call("membership", "enrol", {"org": "st-mary", "member": who.did,
                                               "roles": [role],
                                               "encryption_key": who.encryption_did})
        return who

    def patient(self, name: str, doctor: str) -> tuple[list[str], dict[str, dict]]:
        """A new patient with records at St Mary's, granted to ``doctor``, each record
        read once (so keys wrapped to the patient's current key are in the vault)."""
        who = self.people[name] = ident(f"identity-{name}")
        with self.client(name) as me:
            me.call("membership", "register_patient", {"encryption_key": who.encryption_did})
        with self.client(doctor) as doc:
            stored = doc.ingest("st-mary", who.did, bundle_for(f"MRN-{name}"))
        records = sorted(s["record"] for s in stored)
        with self.client(name) as me:
            me.grant({"member": self.people[doctor].did}, ["TREAT"])
            return records, {r: me.read_record("st-mary", r) for r in records}


def salus(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("node")
    init_datadir(data, "salus-identity-test", ORGS)
    served, node = node_server(data, block_max_wait_ms=5)
    with served as server:
        keys = tmp_path_factory.mktemp("keys")
        w = World(server.url, keys, {"st-mary-admin": Identity.load(
            admin_key_path(DataDir(data), "st-mary"))})
        w.enrol("dr-adams")
        yield w
    node.ledger.close()


def test_after_a_rotation_the_cli_and_the_sdk_work_with_the_new_key(world: World) -> None:
    records, before = world.patient("ann", "dr-adams")
    ann = world.people["ann"].did  # her member id, for ever
    old_file, new_file = world.key_file("ann"), str(world.keys / "ann-new.key")
    made = json.loads(salus("keys", "new", "-o", new_file))
    rotated = json.loads(salus("keys", "rotate", "-k", old_file, "--new", new_file,
                               "--node", world.url))
    assert rotated == {"member": ann, "key": made["did"], "encryption_key": made["encryption_did"]}
    node = ("-k", new_file, "--node", world.url)
    listed = json.loads(salus("records", "list", *node))
    assert sorted(r["id"] for r in listed) == records
    for record in records:
        assert json.loads(salus("records", "read", record, "--custodian", "st-mary",
                                *node)) == before[record]
    grants = json.loads(salus("consent", "list", *node))
    assert grants["patient"] == ann and len(grants["grants"]) == 1
    log = json.loads(salus("access", "log", *node))
    assert log["entries"] and all(e["record"] in records for e in log["entries"])
    # she still writes as herself: a new grant is hers
    nurse = world.enrol("nurse-ivy", "nurse")
    granted = json.loads(salus("consent", "grant", *node, "--member", nurse.did,
                               "--purpose", "TREAT"))
    assert granted["grant"]
    with SalusClient(world.url, Identity.load(Path(new_file))) as me:
        assert me.member_id() == ann
        assert len(me.consents()["grants"]) == 2
        assert me.fhir(f"Patient/{patient_fhir_id(ann)}")["resourceType"] == "Patient"
    with world.client("dr-adams") as doc:  # her grant to her doctor holds
        assert doc.read_record("st-mary", records[0]) == before[records[0]]
    # the old key is nobody's now
    refused = salus("records", "list", "-k", old_file, "--node", world.url, code=1)
    assert "INVALID_CLIENT" in refused


def test_a_practitioner_who_rotates_keeps_reading_what_patients_granted(world: World) -> None:
    world.enrol("dr-bell")
    records, before = world.patient("bo", "dr-bell")  # grant() shared bo's keys with him
    with world.client("dr-bell") as doc:
        assert doc.read_record("st-mary", records[0]) == before[records[0]]
        new = Identity.generate()
        assert doc.rotate_key(new)["member"] == world.people["dr-bell"].did
        for record in records:  # the client signs and opens with the new key now
            assert doc.read_record("st-mary", record) == before[record]
        found = doc.fhir("Observation", params={"patient": patient_fhir_id(
            world.people["bo"].did)})
        assert found["entry"]


def test_a_new_encryption_key_keeps_the_patients_reads_working(world: World) -> None:
    records, before = world.patient("bea", "dr-adams")
    bea = world.people["bea"]
    renewed = Identity(bea.signing_key, nacl.public.PrivateKey.generate())  # same signing key
    assert renewed.did == bea.did and renewed.encryption_did != bea.encryption_did
    with world.client(renewed) as me:
        me.call("membership", "set_encryption_key", {"encryption_key": renewed.encryption_did})
        for record in records:  # at once: no wait for the gateways to catch up
            assert me.read_record("st-mary", record) == before[record]
    # what is handed out now opens with the new key only
    with world.client(bea) as old, pytest.raises(SalusError) as err:
        old.read_record("st-mary", records[0])
    assert err.value.code == "WRONG_ENCRYPTION_KEY"
    with world.client("dr-adams") as doc:  # nothing changed for her doctor
        assert doc.read_record("st-mary", records[0]) == before[records[0]]
