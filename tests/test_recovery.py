"""Patients own their identity: no admin changes it, and a lost key is recovered only
through the k-of-n guardians the patient chose, after the patient's delay.

The first part drives the contract through the ledger (the ``chain`` fixture, whose
block time only the test moves); the second runs the same story end to end through a
real node, its SDK, CLI and the patient's notification stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import Chain, ident
from records_net import ORGS, bundle_for
from salus.cli.main import app as cli
from salus.client import SalusClient, SalusError, TransactionRejected
from salus.identity import Identity
from salus.ledger.codes import Code
from salus.ledger.contracts.membership import (
    DEFAULT_RECOVERY_DELAY_MS,
    MIN_RECOVERY_DELAY_MS,
    RECOVERY_GATHER_MS,
    recovery_key,
)
from salus.ledger.members import key_index, key_valid_at, member_key
from salus.node.bootstrap import admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.records.contracts.layout import consent_key, patient_records_prefix, record_key
from salus.records.custodian import open_custodian
from salus.records.gateway import Gateway
from salus.records.ingest_request import REQUEST_HEADER, signed_headers
from salus.records.service import hosted_orgs
from servers import ClockedNet as Net
from servers import Inbox, NodeClock, clocked_node

ST_MARY_ADMIN = ident("st-mary-admin")  # the hospital holding the patient's records
MEDBOARD_ADMIN = ident("medboard-admin")  # another organisation
REGULATOR_ADMIN = ident("regulator-admin")  # a regulator
HOUR = 60 * 60 * 1000
RECORD = "r-" + "7" * 32


# -- contract level ------------------------------------------------------------------------
@dataclass
class People:
    kim: Identity  # the patient
    sister: Identity  # a relative, a patient too: a guardian
    registrar: Identity  # St Mary's registrar: a guardian
    mallory: Identity  # a guardian who turns against kim
    other: Identity  # another patient, no guardian of kim
    doctor: Identity  # a St Mary's clinician with kim's consent
    gateway: Identity  # St Mary's records gateway


def _snapshot(chain: Chain) -> dict[str, bytes]:
    return {k: v for k, v, _ in chain.ledger.store.state_scan("", "", 1_000_000)}


def _commit(chain: Chain, *txs: tuple[Identity, str, dict[str, Any]], contract: str = "membership"):
    return chain.commit(*(chain.tx(who, contract, m, args) for who, m, args in txs))


def ok(chain: Chain, who: Identity, method: str, args: dict[str, Any] | None = None,
       contract: str = "membership") -> Any:
    """Commit one call that must be VALID; its result (output, events)."""
    block = _commit(chain, (who, method, args or {}), contract=contract)
    assert chain.codes(block) == ["VALID"], chain.verdicts(block)
    return block.results[0]


def refused(chain: Chain, who: Identity, method: str, args: dict[str, Any], code: Code, *,
            dropped: bool, match: str = "", contract: str = "membership") -> str:
    """Commit one call that must be refused with ``code``, changing no state; ``dropped``:
    it failed admission and is not even in the log. Returns the reason."""
    before, log_size = _snapshot(chain), chain.ledger.log_size
    block = _commit(chain, (who, method, args), contract=contract)
    ((got, reason),) = chain.verdicts(block)
    assert got == code, (got, reason)
    assert match in reason, reason
    assert _snapshot(chain) == before
    assert chain.kept(block) == ([] if dropped else [code])
    assert chain.ledger.log_size == log_size + (0 if dropped else 1)
    return reason


@pytest.fixture
def people(chain: Chain) -> People:
    p = People(*(ident(n) for n in ("kim", "kim-sister", "st-mary-registrar", "mallory",
                                    "other-patient", "dr-adams", "st-mary-gateway")))
    block = chain.commit(
        *(chain.tx(who, "membership", "register_patient", {"encryption_key": who.encryption_did})
          for who in (p.kim, p.sister, p.mallory, p.other)),
        *(chain.tx(ST_MARY_ADMIN, "membership", "enrol",
                   {"org": "st-mary", "member": who.did, "roles": [role],
                    "encryption_key": who.encryption_did})
          for who, role in ((p.registrar, "registrar"), (p.doctor, "clinician"),
                            (p.gateway, "gateway"))))
    assert set(chain.codes(block)) == {"VALID"}, chain.verdicts(block)
    request = signed_headers(p.doctor, chain=chain.genesis.chain_id, custodian="st-mary",
                             patient=p.kim.did, body=b"{}", nonce=1, time=chain.time,
                             salt=b"")[REQUEST_HEADER]
    ok(chain, p.gateway, "register", {"record": RECORD, "patient": p.kim.did,
                                      "resource_type": "Observation", "content_hash": "ab" * 32,
                                      "request": request}, contract="records")
    ok(chain, p.kim, "grant", {"grantee": {"member": p.doctor.did}, "purposes": ["TREAT"]},
       contract="consent")
    return p


def _set(chain: Chain, p: People, guardians: list[Identity], threshold: int,
         delay_ms: int | None = None) -> None:
    args: dict[str, Any] = {"guardians": [g.did for g in guardians], "threshold": threshold}
    if delay_ms is not None:
        args["delay_ms"] = delay_ms
    ok(chain, p.kim, "set_recovery", args)


def _start(chain: Chain, guardian: Identity, patient: Identity, new: Identity,
           encryption: bool = True) -> tuple[str, Any]:
    args = {"patient": patient.did, "new_key": new.did}
    if encryption:
        args["encryption_key"] = new.encryption_did
    result = ok(chain, guardian, "start_recovery", args)
    return result.output["recovery"], result


def _at(chain: Chain, block_time: int) -> None:
    """The next block commits at exactly ``block_time``."""
    chain.time = block_time - 1000


def test_no_admin_and_no_other_patient_changes_a_patients_identity(chain: Chain,
                                                                    people: People) -> None:
    kim, stolen = people.kim, ident("admins-key-for-kim")
    for who in (ST_MARY_ADMIN, MEDBOARD_ADMIN, REGULATOR_ADMIN, people.other, people.registrar):
        for method, args in (
                ("rotate_key", {"new_key": stolen.did, "member": kim.did}),
                ("revoke_key", {"key": kim.did, "reason": "key_compromise"}),
                ("grant_roles", {"member": kim.did, "roles": ["emergency_clinician", "admin"]}),
                ("revoke_roles", {"member": kim.did, "roles": ["clinician"]})):
            refused(chain, who, method, args, Code.FORBIDDEN, dropped=True)
    # nor set, change or cancel her recovery: those act only on the signer's own identity
    for who in (ST_MARY_ADMIN, REGULATOR_ADMIN):
        refused(chain, who, "set_recovery", {"guardians": [people.registrar.did], "threshold": 1},
                Code.FORBIDDEN, dropped=True, match="only a patient")
        refused(chain, who, "cancel_recovery", {}, Code.FORBIDDEN, dropped=True)
    assert chain.ledger.state_value(key_index(stolen.did)) is None
    # kim herself rotates her key (and the admin who tried cannot now revoke the new one)
    new = ident("kim-rotated")
    ok(chain, kim, "rotate_key", {"new_key": new.did})
    refused(chain, ST_MARY_ADMIN, "revoke_key", {"key": new.did, "reason": "key_lost"},
            Code.FORBIDDEN, dropped=True)
    ok(chain, new, "revoke_key", {"key": kim.did, "reason": "superseded"})


def test_the_patient_sets_a_sound_recovery_set(chain: Chain, people: People) -> None:
    kim, sister, registrar = people.kim, people.sister, people.registrar
    body_refusals = (  # the contract's own checks: kept as invalid, nothing changed
        ({"guardians": [sister.did, sister.did], "threshold": 1}, "distinct"),
        ({"guardians": [sister.did, kim.did], "threshold": 1}, "other than you"),
        ({"guardians": [sister.did, registrar.did], "threshold": 3}, "more than the 2"),
    )
    for args, match in body_refusals:
        refused(chain, kim, "set_recovery", args, Code.BAD_ARGUMENTS, dropped=False, match=match)
    stranger = ident("not-a-member")
    refused(chain, kim, "set_recovery", {"guardians": [sister.did, stranger.did], "threshold": 1},
            Code.NOT_FOUND, dropped=True, match="no member")
    schema_refusals = (  # failing admission: dropped, never in the log
        {"guardians": [], "threshold": 1},
        {"guardians": [sister.did], "threshold": 0},
        {"guardians": [sister.did], "threshold": 1, "delay_ms": MIN_RECOVERY_DELAY_MS - 1},
        {"guardians": [sister.did], "threshold": 1, "delay_ms": 91 * 24 * HOUR},
        {"guardians": [sister.did], "threshold": 1, "delay_ms": -1},
        {"guardians": [sister.did], "threshold": "1"},
        {"guardians": [ident(f"g{i}").did for i in range(11)], "threshold": 1},
        {"guardians": ["Kim's sister Ann, 555-0101"], "threshold": 1},
        {"guardians": [sister.did], "threshold": 1, "note": "call my sister"},
    )
    for args in schema_refusals:
        refused(chain, kim, "set_recovery", args, Code.BAD_ARGUMENTS, dropped=True)
    refused(chain, registrar, "set_recovery", {"guardians": [sister.did], "threshold": 1},
            Code.FORBIDDEN, dropped=True)  # staff are not patients
    assert "recovery" not in chain.ledger.state_value(member_key(kim.did))
    result = ok(chain, kim, "set_recovery", {"guardians": [sister.did, registrar.did],
                                             "threshold": 2})
    assert result.output["delay_ms"] == DEFAULT_RECOVERY_DELAY_MS == 72 * HOUR
    rules = chain.ledger.state_value(member_key(kim.did))["recovery"]
    assert rules["guardians"] == sorted([sister.did, registrar.did]) and rules["threshold"] == 2
    assert [e["kind"] for e in result.events] == ["recovery_set"]


def test_only_guardians_start_approve_and_complete(chain: Chain, people: People) -> None:
    kim, sister, registrar, other = people.kim, people.sister, people.registrar, people.other
    new = ident("kim-new")
    refused(chain, sister, "start_recovery", {"patient": kim.did, "new_key": new.did},
            Code.FORBIDDEN, dropped=True, match="guardian")  # kim chose no one yet
    _set(chain, people, [sister, registrar], 2, MIN_RECOVERY_DELAY_MS)
    for who in (other, ST_MARY_ADMIN, REGULATOR_ADMIN, kim, people.doctor):
        refused(chain, who, "start_recovery", {"patient": kim.did, "new_key": new.did},
                Code.FORBIDDEN, dropped=True, match="guardian")
    refused(chain, sister, "start_recovery", {"patient": other.did, "new_key": new.did},
            Code.FORBIDDEN, dropped=True)  # a guardian of kim is no guardian of another
    refused(chain, sister, "start_recovery", {"patient": registrar.did, "new_key": new.did},
            Code.NOT_FOUND, dropped=True, match="no patient")
    rec, _ = _start(chain, sister, kim, new)
    for who in (other, ST_MARY_ADMIN, kim, new):
        code = Code.UNKNOWN_SIGNER if who is new else Code.FORBIDDEN
        refused(chain, who, "approve_recovery", {"patient": kim.did, "recovery": rec}, code,
                dropped=True)
    ok(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec})
    _at(chain, chain.time + 2 * MIN_RECOVERY_DELAY_MS)
    for who in (other, ST_MARY_ADMIN, REGULATOR_ADMIN):
        refused(chain, who, "complete_recovery", {"patient": kim.did, "recovery": rec},
                Code.FORBIDDEN, dropped=True)
    refused(chain, sister, "approve_recovery", {"patient": kim.did, "recovery": "rc-" + "0" * 24},
            Code.NOT_FOUND, dropped=False, match="no open recovery")


def test_too_few_approvals_never_complete(chain: Chain, people: People) -> None:
    kim, sister, registrar = people.kim, people.sister, people.registrar
    _set(chain, people, [sister, registrar, people.mallory], 2, MIN_RECOVERY_DELAY_MS)
    rec, started = _start(chain, sister, kim, ident("kim-new"))
    assert started.output == {"recovery": rec, "approvals": 1, "threshold": 2, "ready_at": None}
    assert [e["kind"] for e in started.events] == ["recovery_started"]
    refused(chain, sister, "approve_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="already approved")
    refused(chain, sister, "start_recovery", {"patient": kim.did, "new_key": ident("x").did},
            Code.CONFLICT, dropped=False, match="already have an open proposal")
    refused(chain, sister, "complete_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="1 of the 2 approvals")
    _at(chain, chain.time + RECOVERY_GATHER_MS - 5000)  # long after any delay: still 1 of 2
    refused(chain, sister, "complete_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="1 of the 2 approvals")
    assert key_valid_at(chain.ledger.state_value(member_key(kim.did)), kim.did,
                        chain.ledger.height + 1)


def test_the_delay_cannot_be_skipped(chain: Chain, people: People) -> None:
    kim, sister, registrar = people.kim, people.sister, people.registrar
    _set(chain, people, [sister, registrar], 2, MIN_RECOVERY_DELAY_MS)
    new = ident("kim-new")
    rec, _ = _start(chain, sister, kim, new)
    approved = ok(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec})
    ready_at = approved.output["ready_at"]
    assert ready_at == chain.ledger.head.time + MIN_RECOVERY_DELAY_MS
    assert [e["kind"] for e in approved.events] == ["recovery_approved", "recovery_pending"]
    assert approved.events[1]["takes_effect_at"] == ready_at
    for guardian in (sister, registrar):  # either guardian, right away ...
        refused(chain, guardian, "complete_recovery", {"patient": kim.did, "recovery": rec},
                Code.CONFLICT, dropped=False, match="delay runs until")
    refused(chain, new, "revoke_key", {"key": kim.did, "reason": "key_lost"},
            Code.UNKNOWN_SIGNER, dropped=True)  # the new key is nothing yet
    _at(chain, ready_at - 1)  # ... or one millisecond early
    refused(chain, registrar, "complete_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="delay runs until")
    assert chain.ledger.head.time == ready_at - 1
    _at(chain, ready_at)
    done = ok(chain, registrar, "complete_recovery", {"patient": kim.did, "recovery": rec})
    assert chain.ledger.head.time == ready_at
    assert done.output == {"patient": kim.did, "key": new.did}


def test_the_patients_current_key_cancels(chain: Chain, people: People) -> None:
    kim, sister, registrar = people.kim, people.sister, people.registrar
    _set(chain, people, [sister, registrar], 2, MIN_RECOVERY_DELAY_MS)
    rec, _ = _start(chain, sister, kim, ident("kim-new"))
    ok(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec})
    # nobody else cancels it: other patients only reach their own, staff none
    refused(chain, people.other, "cancel_recovery", {"recovery": rec}, Code.NOT_FOUND,
            dropped=False)
    refused(chain, sister, "cancel_recovery", {"recovery": rec}, Code.NOT_FOUND, dropped=False)
    refused(chain, registrar, "cancel_recovery", {"recovery": rec}, Code.FORBIDDEN, dropped=True)
    refused(chain, kim, "set_recovery", {"guardians": [people.other.did], "threshold": 1},
            Code.CONFLICT, dropped=False, match="a recovery is open")
    cancelled = ok(chain, kim, "cancel_recovery", {"recovery": rec})
    assert cancelled.output == {"cancelled": [rec]}
    assert cancelled.events == [{"kind": "recovery_cancelled", "patient": kim.did,
                                 "recovery": rec}]
    _at(chain, chain.time + 2 * MIN_RECOVERY_DELAY_MS)
    refused(chain, registrar, "complete_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="was cancelled")
    refused(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="was cancelled")
    refused(chain, kim, "cancel_recovery", {"recovery": rec}, Code.CONFLICT, dropped=False)
    refused(chain, kim, "cancel_recovery", {}, Code.NOT_FOUND, dropped=False)
    assert chain.ledger.state_value(key_index(kim.did)) == kim.did
    # a new recovery can start (by the same guardian too), and "cancel" with no id ends all
    again, _ = _start(chain, sister, kim, ident("kim-new-2"))
    other, _ = _start(chain, registrar, kim, ident("kim-new-3"))
    assert ok(chain, kim, "cancel_recovery").output == {"cancelled": sorted([again, other])}
    assert chain.ledger.state_value(recovery_key(kim.did))["open"] == []


def test_a_proposal_without_its_approvals_lapses(chain: Chain, people: People) -> None:
    kim, sister, registrar = people.kim, people.sister, people.registrar
    _set(chain, people, [sister, registrar], 2)
    rec, started = _start(chain, sister, kim, ident("kim-new"))
    opened = chain.ledger.head.time
    assert started.events[0]["lapses_at"] == opened + RECOVERY_GATHER_MS
    _at(chain, opened + RECOVERY_GATHER_MS)
    refused(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="did not gather its approvals in time")
    ok(chain, kim, "set_recovery", {"guardians": [registrar.did], "threshold": 1})  # not open
    # a lapsed proposal no longer holds its guardian's slot
    ok(chain, kim, "set_recovery", {"guardians": [sister.did, registrar.did], "threshold": 2})
    _start(chain, sister, kim, ident("kim-new-2"))


def test_a_guardian_cannot_propose_a_members_key(chain: Chain, people: People) -> None:
    kim, sister, registrar = people.kim, people.sister, people.registrar
    _set(chain, people, [sister, registrar], 2, MIN_RECOVERY_DELAY_MS)
    for taken in (people.other, people.doctor, sister, kim):
        refused(chain, sister, "start_recovery", {"patient": kim.did, "new_key": taken.did},
                Code.CONFLICT, dropped=False, match="already belongs to a member")
    # a key proposed already: approve that proposal rather than open a second one
    new = ident("kim-new")
    rec, _ = _start(chain, sister, kim, new)
    refused(chain, registrar, "start_recovery", {"patient": kim.did, "new_key": new.did},
            Code.CONFLICT, dropped=False, match=f"already proposed in {rec}")
    ok(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec})
    # an admin who enrols the proposed key (anyone may name any did) voids the proposal,
    # so that it cannot block the patient's recovery for ever: guardians start another
    ok(chain, MEDBOARD_ADMIN, "enrol", {"org": "medboard", "member": new.did,
                                        "roles": ["assessor"]})
    _at(chain, chain.time + 2 * MIN_RECOVERY_DELAY_MS)
    refused(chain, registrar, "complete_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="has since become a member's key")
    _start(chain, sister, kim, ident("kim-new-2"))


def test_completion_moves_the_identity_to_the_new_key(chain: Chain, people: People) -> None:
    kim, sister, registrar, mallory = people.kim, people.sister, people.registrar, people.mallory
    _set(chain, people, [sister, registrar, mallory], 2, MIN_RECOVERY_DELAY_MS)
    mine = {k: v for k, v in _snapshot(chain).items()
            if kim.did in k and not k.startswith(("member/", "key/", "nonce/", "recovery/"))}
    assert consent_key(kim.did) in mine and record_key(RECORD) not in mine
    assert any(k.startswith(patient_records_prefix(kim.did)) for k in mine)
    record_before = chain.ledger.state_value(record_key(RECORD))
    new = ident("kim-new")
    rival, _ = _start(chain, mallory, kim, ident("mallorys-key"))  # stays open alongside
    rec, _ = _start(chain, sister, kim, new)
    ok(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rec})
    _at(chain, chain.ledger.head.time + MIN_RECOVERY_DELAY_MS)
    done = ok(chain, sister, "complete_recovery", {"patient": kim.did, "recovery": rec})
    assert [e["kind"] for e in done.events] == ["key_recovered", "encryption_key_set"]
    height = chain.ledger.height
    member = chain.ledger.state_value(member_key(kim.did))
    assert member["id"] == kim.did and member["kind"] == "patient"  # the member id stays
    assert member["encryption_key"] == new.encryption_did
    old = next(k for k in member["keys"] if k["did"] == kim.did)
    assert old["status"] == "recovered" and old["to"] == height
    assert key_valid_at(member, new.did, height + 1) and not key_valid_at(member, kim.did, height + 1)
    assert chain.ledger.state_value(key_index(new.did)) == kim.did
    # consent, the records index and the record itself are the same, under the same id
    assert {k: v for k, v in _snapshot(chain).items() if k in mine} == mine
    assert chain.ledger.state_value(record_key(RECORD)) == record_before
    # the old key is refused at admission; the new one signs as kim
    refused(chain, kim, "grant", {"grantee": {"org": "st-mary"}, "purposes": ["TREAT"]},
            Code.KEY_NOT_ACTIVE, dropped=True, contract="consent")
    refused(chain, kim, "cancel_recovery", {}, Code.KEY_NOT_ACTIVE, dropped=True)
    granted = ok(chain, new, "grant", {"grantee": {"org": "st-mary"}, "purposes": ["TREAT"]},
                 contract="consent")
    assert len(chain.ledger.state_value(consent_key(kim.did))["grants"]) == 2
    assert granted.signer == new.did
    # completing one proposal closed the others: mallory's cannot go on
    assert chain.ledger.state_value(recovery_key(kim.did))["open"] == []
    refused(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": rival},
            Code.NOT_FOUND, dropped=False)
    # and the recovered patient may choose a new set with her new key
    ok(chain, new, "set_recovery", {"guardians": [sister.did], "threshold": 1})


def test_a_lone_guardian_cannot_take_over_nor_block(chain: Chain, people: People) -> None:
    kim, sister, registrar, mallory = people.kim, people.sister, people.registrar, people.mallory
    _set(chain, people, [sister, registrar, mallory], 2, MIN_RECOVERY_DELAY_MS)
    hers = ident("mallorys-key")
    rec, _ = _start(chain, mallory, kim, hers)
    refused(chain, mallory, "approve_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="already approved")
    sock = ident("mallorys-sock-puppet")  # a second identity of hers is no guardian
    ok(chain, sock, "register_patient")
    refused(chain, sock, "approve_recovery", {"patient": kim.did, "recovery": rec},
            Code.FORBIDDEN, dropped=True)
    refused(chain, mallory, "set_recovery", {"guardians": [mallory.did, sock.did],
                                             "threshold": 1},
            Code.BAD_ARGUMENTS, dropped=False)  # only for herself, never for kim
    _at(chain, chain.time + RECOVERY_GATHER_MS - 5000)
    refused(chain, mallory, "complete_recovery", {"patient": kim.did, "recovery": rec},
            Code.CONFLICT, dropped=False, match="1 of the 2 approvals")
    # her open proposal does not stop the honest guardians recovering kim meanwhile
    new = ident("kim-new")
    honest, _ = _start(chain, sister, kim, new)
    ok(chain, registrar, "approve_recovery", {"patient": kim.did, "recovery": honest})
    _at(chain, chain.ledger.head.time + MIN_RECOVERY_DELAY_MS)
    ok(chain, registrar, "complete_recovery", {"patient": kim.did, "recovery": honest})
    assert chain.ledger.state_value(key_index(hers.did)) is None
    assert chain.ledger.state_value(key_index(new.did)) == kim.did
    refused(chain, hers, "cancel_recovery", {}, Code.UNKNOWN_SIGNER, dropped=True)


# -- end to end, through a real node -------------------------------------------------------
def _gateway_on(datadir: DataDir, clock: NodeClock):
    """salus.records.service.open_gateway, with the gateway on the test's clock."""
    async def open_gateway(node: Node) -> Gateway:
        custodians = {org: await open_custodian(node, datadir, org,
                                                Identity.load(admin_key_path(datadir, org)),
                                                clock())
                      for org in hosted_orgs(node, datadir)}
        gateway = Gateway(node, custodians, replay_file=datadir.replay_file, clock=clock)
        await gateway.start()
        return gateway
    return open_gateway


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    data, clock = tmp_path / "node", NodeClock()
    init_datadir(data, "salus-recovery-test", ORGS)
    datadir = DataDir(data)
    with clocked_node(datadir, clock, open_gateway=_gateway_on(datadir, clock)) as server:
        keys = tmp_path / "keys"
        keys.mkdir()
        net = Net(server.url, clock, keys, {"st-mary-admin": Identity.load(
            admin_key_path(datadir, "st-mary"))})
        for name, role in (("registrar", "registrar"), ("dr-adams", "clinician")):
            who = net.people[name] = ident(f"e2e-{name}")
            with net.client("st-mary-admin") as admin:
                admin.call("membership", "enrol", {"org": "st-mary", "member": who.did,
                                                   "roles": [role],
                                                   "encryption_key": who.encryption_did})
        for name in ("ann", "bea", "cai"):  # bea is ann's and cai's sister
            who = net.people[name] = ident(f"e2e-{name}")
            with net.client(name) as c:
                c.call("membership", "register_patient", {"encryption_key": who.encryption_did})
        yield net


runner = CliRunner()


def salus(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _records_and_consent(net: Net, patient: str) -> tuple[list[str], str]:
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", net.did(patient), bundle_for(f"MRN-{patient}"))
    with net.client(patient) as me:
        grant = me.grant({"member": net.did("dr-adams")}, ["TREAT"])
    return sorted(s["record"] for s in stored), grant


def test_recovery_end_to_end(net: Net) -> None:
    ann = net.did("ann")
    records, grant = _records_and_consent(net, "ann")
    observation = records[0]
    with net.client("ann") as me:
        before = me.read_record("st-mary", observation)
    # ann chooses her sister and her hospital's registrar, 2 of 2, with a 1 h delay
    chosen = json.loads(salus("recovery", "set", "-k", net.key_file("ann"), "--node", net.url,
                              "--guardian", net.did("bea"), "--guardian", net.did("registrar"),
                              "--threshold", "2", "--delay-hours", "1"))
    assert chosen == {"patient": ann, "guardians": 2, "threshold": 2, "delay_ms": HOUR}
    inbox = Inbox(net.client("ann"), SalusClient.access_events, until="key_recovered")
    # ann loses her key file; she makes a new one and gives its public dids to bea
    lost = net.people.pop("ann")
    new = net.people["ann-new"] = Identity.generate()
    shown = json.loads(salus("keys", "show", net.key_file("ann-new")))
    assert "recovery" in salus("recovery", "start", "--help")
    started = json.loads(salus("recovery", "start", "-k", net.key_file("bea"), "--node", net.url,
                               "--patient", ann, "--new-key", shown["did"],
                               "--encryption-key", shown["encryption_did"]))
    rec = started["recovery"]
    assert started["approvals"] == 1 and started["ready_at"] is None
    # one guardian is too few, whatever the time
    early = salus("recovery", "complete", "-k", net.key_file("bea"), "--node", net.url,
                  "--patient", ann, "--recovery", rec, code=2)
    assert "CONFLICT" in early and "1 of the 2 approvals" in early
    hostile = salus("recovery", "approve", "-k", net.key_file("registrar"), "--node", net.url,
                    "--patient", ann, "--recovery", "rc-'; DROP TABLE state; --", code=2)
    assert "BAD_ARGUMENTS" in hostile
    # someone else is no guardian: refused at ingress
    stranger = salus("recovery", "approve", "-k", net.key_file("cai"), "--node", net.url,
                     "--patient", ann, "--recovery", rec, code=2)
    assert "FORBIDDEN" in stranger
    with net.client("registrar") as registrar:
        approved = registrar.approve_recovery(ann, rec)
    assert approved["approvals"] == 2 and approved["ready_at"] > net.clock()
    # both guardians, together, still cannot skip ann's delay
    for guardian in ("bea", "registrar"):
        skipped = salus("recovery", "complete", "-k", net.key_file(guardian), "--node", net.url,
                        "--patient", ann, "--recovery", rec, code=2)
        assert "CONFLICT" in skipped and "delay runs until" in skipped
    status = json.loads(salus("recovery", "status", "-k", net.key_file("registrar"),
                              "--node", net.url, "--patient", ann))
    (proposal,) = status["proposals"]
    assert proposal["id"] == rec and proposal["status"] == "waiting"
    assert proposal["new_key"] == new.did and status["threshold"] == 2
    with net.client(new) as c, pytest.raises(SalusError) as err:
        c.record_index()  # the new key is nobody's yet
    assert err.value.code == "INVALID_CLIENT"
    # the hour passes; a guardian completes; the new key takes over
    net.clock.offset += HOUR + 1000
    with net.client("bea") as bea:
        assert bea.recovery_status(ann)["proposals"][0]["status"] == "ready"
        assert bea.complete_recovery(ann, rec) == {"patient": ann, "key": new.did}
    kinds = inbox.kinds()
    assert kinds == ["ready", "recovery_started", "recovery_approved", "recovery_pending",
                     "key_recovered"], kinds
    pending = inbox.events[3]["data"]
    assert pending["patient"] == ann and pending["takes_effect_at"] == approved["ready_at"]
    assert pending["new_key"] == new.did
    # she reads her own records with the new key: same member id, records and consent
    with net.client("ann-new") as me:
        assert me.member_id() == ann
        assert sorted(r["id"] for r in me.record_index()) == records
        assert me.read_record("st-mary", observation) == before
        assert list(me.consents()["grants"]) == [grant]
        assert me.recovery_status()["last"]["status"] == "completed"
    with net.client("dr-adams") as doc:  # her grant still holds for her doctor
        assert doc.read_record("st-mary", observation) == before
    # the old key is refused: no token, no transaction, no read
    with SalusClient(net.url, lost, clock=net.clock) as old:
        with pytest.raises(SalusError) as err:
            old.token()
        assert err.value.code == "INVALID_CLIENT"
        with pytest.raises(TransactionRejected) as err:
            old.call("membership", "cancel_recovery", {})
        assert err.value.code == "KEY_NOT_ACTIVE"
        with pytest.raises(SalusError) as err:
            old.read_sealed("st-mary", observation)
        assert err.value.code == "NOT_A_MEMBER"


def test_cancelled_recovery_end_to_end(net: Net) -> None:
    cai = net.did("cai")
    records, _ = _records_and_consent(net, "cai")
    with net.client("cai") as me:
        me.set_recovery([net.did("bea"), net.did("registrar")], 2, HOUR)
    inbox = Inbox(net.client("cai"), SalusClient.access_events, until="recovery_cancelled")
    # another patient's recovery is not on cai's stream
    with net.client("ann") as ann, net.client("bea") as bea:
        ann.set_recovery([net.did("bea")], 1)
        assert bea.start_recovery(net.did("ann"), Identity.generate().did)["ready_at"]
    # cai has her key; someone persuades both guardians to propose one that is not hers
    impostor = Identity.generate()
    with net.client("bea") as bea, net.client("registrar") as registrar:
        rec = bea.start_recovery(cai, impostor.did, impostor.encryption_did)["recovery"]
        registrar.approve_recovery(cai, rec)
    # she hears of it, and cancels with her current key
    cancelled = json.loads(salus("recovery", "cancel", "-k", net.key_file("cai"),
                                 "--node", net.url, "--recovery", rec))
    assert cancelled == {"cancelled": [rec]}
    assert inbox.kinds() == ["ready", "recovery_started", "recovery_approved",
                             "recovery_pending", "recovery_cancelled"]
    net.clock.offset += 2 * HOUR
    with net.client("registrar") as registrar:
        with pytest.raises(TransactionRejected) as err:
            registrar.complete_recovery(cai, rec)
        assert err.value.code == "CONFLICT" and "was cancelled" in err.value.reason
        with pytest.raises(TransactionRejected) as err:
            registrar.approve_recovery(cai, rec)
        assert err.value.code == "CONFLICT"
    with net.client(impostor) as c, pytest.raises(SalusError) as err:
        c.token()
    assert err.value.code == "INVALID_CLIENT"
    with net.client("cai") as me:  # still hers
        assert me.read_record("st-mary", records[0])["resourceType"]
        assert me.recovery_status()["last"] == {**me.recovery_status()["last"],
                                                "status": "cancelled", "id": rec}
    # a cancelled recovery does not stop a new one
    with net.client("bea") as bea:
        assert bea.start_recovery(cai, Identity.generate().did)["approvals"] == 1
    with net.client("cai") as me, pytest.raises(TransactionRejected) as err:
        me.set_recovery([net.did("registrar")], 1)  # not while one is open
    assert err.value.code == "CONFLICT" and "a recovery is open" in err.value.reason
