"""A gateway acts only for its own custodian (A5), driven through the ledger.

Each attack is a transaction a custodian's gateway key signs: a registration carrying a
request no clinical member of that custodian signed for that patient, a registration or
amendment of a record another custodian holds, or an access-log entry the ledger does not
bear out. Each is refused at admission with a stable code: dropped from its block, never
in the log, nothing written.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from conftest import Chain, ident
from salus.identity import Identity
from salus.ledger import transaction
from salus.records.contracts.layout import patient_record_key, record_key

ST_MARY, NORTHLAB = "st-mary", "northlab"
WINDOW = 10 * 60 * 1000  # the test genesis's tx_time_window_ms (the default)

GATEWAY = {ST_MARY: ident("st-mary-gateway"), NORTHLAB: ident("northlab-gateway")}
DR_ADAMS = ident("dr-adams")        # clinician, st-mary
FEED = ident("st-mary-ehr-feed")    # registrar, st-mary: the EHR feed
NURSE_LAB = ident("nurse-lab")      # nurse, northlab
TECH_LAB = ident("tech-lab")        # lab_technician, northlab
OFFICER = ident("po-st-mary")       # privacy officer, st-mary: no clinical role
IVY, JO = ident("patient-ivy"), ident("patient-jo")
STRANGER = ident("stranger")        # member of nothing


def _record(n: int) -> str:
    return "r-" + hashlib.sha256(f"record-{n}".encode()).hexdigest()[:32]


def _hash(n: int) -> str:
    return hashlib.sha256(f"ciphertext-{n}".encode()).hexdigest()


@pytest.fixture
def ledger(chain: Chain) -> Chain:
    regulator = ident("regulator-admin")
    st_mary_admin, lab_admin = ident("st-mary-admin"), ident("northlab-admin")
    block = chain.commit(chain.tx(regulator, "membership", "add_organisation", {
        "id": NORTHLAB, "name": "North Lab", "type": "lab", "admins": [lab_admin.did]}))
    assert chain.codes(block) == ["VALID"]
    staff = [(st_mary_admin, ST_MARY, GATEWAY[ST_MARY], ["gateway"]),
             (st_mary_admin, ST_MARY, DR_ADAMS, ["clinician"]),
             (st_mary_admin, ST_MARY, FEED, ["registrar"]),
             (st_mary_admin, ST_MARY, OFFICER, ["privacy_officer"]),
             (lab_admin, NORTHLAB, GATEWAY[NORTHLAB], ["gateway"]),
             (lab_admin, NORTHLAB, NURSE_LAB, ["nurse"]),
             (lab_admin, NORTHLAB, TECH_LAB, ["lab_technician"])]
    block = chain.commit(*[chain.tx(admin, "membership", "enrol", {
        "org": org, "member": who.did, "roles": roles, "encryption_key": who.encryption_did})
        for admin, org, who, roles in staff],
        *[chain.tx(p, "membership", "register_patient", {"encryption_key": p.encryption_did})
          for p in (IVY, JO)])
    assert set(chain.codes(block)) == {"VALID"}
    return chain


def signed_request(chain: Chain, who: Identity, custodian: str = ST_MARY,
                   patient: Identity = IVY, *, body: bytes = b'{"resourceType":"Bundle"}',
                   time: int | None = None, chain_id: str | None = None,
                   contract: str = "records", method: str = "ingest") -> str:
    """base64 of a request envelope as the SDK signs it (never submitted)."""
    raw = transaction.encode(who, chain=chain_id or chain.genesis.chain_id, contract=contract,
                             method=method, args={"custodian": custodian, "patient": patient.did,
                                                  "body": hashlib.sha256(body).hexdigest()},
                             nonce=1, time=chain.time if time is None else time)
    return base64.b64encode(raw).decode()


def register(chain: Chain, gateway: Identity, n: int, request: str | None, *,
             patient: Identity = IVY, **extra) -> bytes:
    args = {"record": _record(n), "patient": patient.did, "resource_type": "Observation",
            "content_hash": _hash(n), **extra}
    if request is not None:
        args["request"] = request
    return chain.tx(gateway, "records", "register", args)


def refused(chain: Chain, raw: bytes) -> tuple[str, str]:
    """Commit one transaction that must fail admission: dropped, not in the log."""
    block = chain.commit(raw)
    assert chain.kept(block) == [], "a refused transaction reached the log"
    ((code, reason),) = chain.verdicts(block)
    return code, reason


def _nothing_written(chain: Chain, n: int, patient: Identity = IVY) -> None:
    state = chain.ledger.state_value
    assert state(record_key(_record(n))) is None
    assert state(patient_record_key(patient.did, _record(n))) is None


# -- registration carries a clinical member's signed request ------------------------------
def test_a_clinicians_request_makes_them_the_author(ledger: Chain) -> None:
    request = signed_request(ledger, DR_ADAMS)
    block = ledger.commit(register(ledger, GATEWAY[ST_MARY], 1, request),
                          register(ledger, GATEWAY[ST_MARY], 2, request))  # one call, two records
    assert ledger.codes(block) == ["VALID", "VALID"]
    doc = ledger.ledger.state_value(record_key(_record(1)))
    request_id = transaction.decode(base64.b64decode(request)).id_hex
    assert doc["author"] == DR_ADAMS.did and doc["request"] == request_id
    assert doc["custodian"] == ST_MARY
    assert doc["history"][0]["author"] == DR_ADAMS.did


def test_an_ehr_feed_is_a_registrar_member(ledger: Chain) -> None:
    block = ledger.commit(register(ledger, GATEWAY[ST_MARY], 3, signed_request(ledger, FEED)))
    assert ledger.codes(block) == ["VALID"]
    assert ledger.ledger.state_value(record_key(_record(3)))["author"] == FEED.did


@pytest.mark.parametrize("case", [
    "nurse of another organisation", "patient", "non-member", "gateway key itself",
    "privacy officer", "forged signature", "another patient", "another custodian",
    "before the window", "after the window", "another chain", "a read request",
    "not base64", "not an envelope", "oversized"])
def test_register_refuses_a_request_it_cannot_trust(ledger: Chain, case: str) -> None:
    c = ledger
    request = {
        "nurse of another organisation": lambda: signed_request(c, NURSE_LAB),
        "patient": lambda: signed_request(c, IVY),
        "non-member": lambda: signed_request(c, STRANGER),
        "gateway key itself": lambda: signed_request(c, GATEWAY[ST_MARY]),
        "privacy officer": lambda: signed_request(c, OFFICER),
        "another patient": lambda: signed_request(c, DR_ADAMS, patient=JO),
        "another custodian": lambda: signed_request(c, DR_ADAMS, NORTHLAB),
        "before the window": lambda: signed_request(c, DR_ADAMS, time=c.time - WINDOW - 5000),
        "after the window": lambda: signed_request(c, DR_ADAMS, time=c.time + WINDOW + 5000),
        "another chain": lambda: signed_request(c, DR_ADAMS, chain_id="salus-elsewhere"),
        "a read request": lambda: signed_request(c, DR_ADAMS, contract="access", method="read"),
        "not base64": lambda: "!!not base64!!",
        "not an envelope": lambda: base64.b64encode(b"x" * 120).decode(),
        "oversized": lambda: base64.b64encode(b"x" * 3000).decode(),
    }.get(case, lambda: None)()
    if case == "forged signature":
        raw = bytearray(base64.b64decode(signed_request(c, DR_ADAMS)))
        raw[5] ^= 0x01
        request = base64.b64encode(bytes(raw)).decode()
    code, reason = refused(c, register(c, GATEWAY[ST_MARY], 10, request))
    expected = {"a read request": "BAD_ARGUMENTS", "not base64": "BAD_ARGUMENTS",
                "not an envelope": "BAD_ARGUMENTS", "oversized": "BAD_ARGUMENTS"}
    assert code == expected.get(case, "FORBIDDEN"), reason
    why = {"nurse of another organisation": "holds none of", "patient": "holds none of",
           "non-member": "member's valid key", "gateway key itself": "holds none of",
           "privacy officer": "holds none of", "forged signature": "signature does not verify",
           "another patient": "another patient", "another custodian": "asks 'northlab'",
           "before the window": "ms from the block time",
           "after the window": "ms from the block time", "another chain": "salus-elsewhere",
           "a read request": "access.read", "not base64": "request",
           "not an envelope": "request", "oversized": "request"}[case]
    assert why in reason
    _nothing_written(c, 10)


def test_register_without_a_request_or_with_a_free_author_is_refused(ledger: Chain) -> None:
    code, reason = refused(ledger, register(ledger, GATEWAY[ST_MARY], 11, None))
    assert code == "BAD_ARGUMENTS" and "request" in reason
    code, reason = refused(ledger, register(ledger, GATEWAY[ST_MARY], 11,
                                            signed_request(ledger, DR_ADAMS),
                                            author=DR_ADAMS.did))
    assert code == "BAD_ARGUMENTS" and "author" in reason  # authorship is the signer's only
    _nothing_written(ledger, 11)


def test_a_clinician_cannot_register_without_the_gateway(ledger: Chain) -> None:
    code, reason = refused(ledger, register(ledger, DR_ADAMS, 12, signed_request(ledger, DR_ADAMS)))
    assert code == "FORBIDDEN" and "gateway" in reason
    _nothing_written(ledger, 12)


def test_a_request_outlives_neither_its_signers_role_nor_key(ledger: Chain) -> None:
    admin = ident("st-mary-admin")
    request = signed_request(ledger, DR_ADAMS)
    block = ledger.commit(ledger.tx(admin, "membership", "revoke_roles",
                                    {"member": DR_ADAMS.did, "roles": ["clinician"]}))
    assert ledger.codes(block) == ["VALID"]
    code, reason = refused(ledger, register(ledger, GATEWAY[ST_MARY], 13, request))
    assert code == "FORBIDDEN" and "holds none of" in reason
    feed_request = signed_request(ledger, FEED)
    block = ledger.commit(ledger.tx(admin, "membership", "revoke_key",
                                    {"key": FEED.did, "reason": "key_compromise"}))
    assert ledger.codes(block) == ["VALID"]
    code, reason = refused(ledger, register(ledger, GATEWAY[ST_MARY], 13, feed_request))
    assert code == "FORBIDDEN" and "member's valid key" in reason
    _nothing_written(ledger, 13)


# -- a gateway registers and amends only its own custodian's records -----------------------
def test_a_gateway_cannot_register_or_amend_another_custodians_record(ledger: Chain) -> None:
    c = ledger
    block = c.commit(register(c, GATEWAY[NORTHLAB], 20, signed_request(c, TECH_LAB, NORTHLAB)))
    assert c.codes(block) == ["VALID"]
    before = c.ledger.state_value(record_key(_record(20)))
    mine = signed_request(c, DR_ADAMS)  # a real request to st-mary, for this patient
    amend = register(c, GATEWAY[ST_MARY], 20, mine, version=2, amends=_hash(20))
    again = register(c, GATEWAY[ST_MARY], 20, mine)
    for raw in (amend, again):
        code, reason = refused(c, raw)
        assert code == "FORBIDDEN" and "held by northlab" in reason
    assert c.ledger.state_value(record_key(_record(20))) == before
    # the holder amends it, with its own member's request
    block = c.commit(register(c, GATEWAY[NORTHLAB], 20, signed_request(c, NURSE_LAB, NORTHLAB),
                              version=2, amends=_hash(20)))
    assert c.codes(block) == ["VALID"]
    assert c.ledger.state_value(record_key(_record(20)))["author"] == NURSE_LAB.did


# -- access-log entries must be borne out by the ledger (access.log's rule) ----------------
def _entry(record: str | None, patient: Identity | None, requester: Identity, org: str | None,
           code: str, basis: str | None = None, purpose: str = "TREAT", height: int = 1) -> dict:
    return {"record": record, "patient": patient.did if patient else None,
            "requester": requester.did, "requester_org": org, "purpose": purpose, "code": code,
            "basis": basis, "request": "ab" * 32, "at": 1_763_700_000_000, "height": height}


@pytest.fixture
def records(ledger: Chain) -> Chain:
    """Ivy has a record at st-mary (1) and at northlab (20)."""
    c = ledger
    block = c.commit(register(c, GATEWAY[ST_MARY], 1, signed_request(c, DR_ADAMS)),
                     register(c, GATEWAY[NORTHLAB], 20, signed_request(c, TECH_LAB, NORTHLAB)))
    assert c.codes(block) == ["VALID", "VALID"]
    return c


def _log(c: Chain, gateway: Identity, *entries: dict) -> bytes:
    return c.tx(gateway, "access", "log", {"entries": list(entries)})


def _access_log(c: Chain, patient: Identity) -> list:
    return c.ledger.store.state_scan(f"access-log/{patient.did}/", "", 1000)


@pytest.mark.parametrize("case", [
    "another custodian's record", "break-glass with no override", "consent with no grant",
    "patient read by someone else"])
def test_a_gateway_cannot_forge_the_audit_trail(records: Chain, case: str) -> None:
    c = records
    h = c.ledger.height
    entry = {
        "another custodian's record": _entry(_record(20), IVY, DR_ADAMS, ST_MARY, "CONSENT",
                                             "c-" + "0" * 24, height=h),
        "break-glass with no override": _entry(_record(1), IVY, DR_ADAMS, ST_MARY, "BREAK_GLASS",
                                               "bg-" + "0" * 24, "ETREAT", h),
        "consent with no grant": _entry(_record(1), IVY, NURSE_LAB, NORTHLAB, "CONSENT",
                                        "c-" + "1" * 24, height=h),
        "patient read by someone else": _entry(_record(1), IVY, JO, None, "PATIENT", height=h),
    }[case]
    code, reason = refused(c, _log(c, GATEWAY[ST_MARY], entry))
    assert code == "FORBIDDEN", reason
    assert {"another custodian's record": "held by northlab",
            "break-glass with no override": "no break-glass override",
            "consent with no grant": "no grant in force",
            "patient read by someone else": "only the patient"}[case] in reason
    assert _access_log(c, IVY) == []
    assert c.ledger.store.state_scan(f"review/{ST_MARY}/", "", 10) == []
    assert c.ledger.store.state_scan(f"audit/{ST_MARY}/", "", 10) == []


def test_the_gateway_logs_what_the_ledger_bears_out(records: Chain) -> None:
    """The control for the attacks above: the same entries, true, are kept."""
    c = records
    h = c.ledger.height
    block = c.commit(_log(c, GATEWAY[ST_MARY], _entry(_record(1), IVY, IVY, None, "PATIENT",
                                                      height=h)),
                     _log(c, GATEWAY[NORTHLAB], _entry(_record(20), IVY, IVY, None, "PATIENT",
                                                       height=h)))
    assert c.codes(block) == ["VALID", "VALID"]
    assert len(_access_log(c, IVY)) == 2
