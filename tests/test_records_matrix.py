"""The permission matrix: role x purpose x grant state -> decision, each one audited."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from records_net import bundle_for, start, stop
from salus.client import SalusError

ROLES = {"clinician": "dr-baker", "emergency_clinician": "er-only", "nurse": "nurse-diaz",
         "researcher": "res-evans", "claims_officer": "claims-fox"}
PURPOSES = ["TREAT", "ETREAT", "HPAYMT", "HRESCH"]
STATES = ["none", "active", "expired", "revoked", "break-glass", "opted-out"]
GRANTED_PURPOSES = ["TREAT", "HPAYMT"]  # what every grant in this matrix allows


def expected(role: str, purpose: str, state: str) -> str:
    """The rule, written out independently of salus.records.policy."""
    has_grants = state in ("active", "expired", "revoked")
    if state == "active" and purpose in GRANTED_PURPOSES:
        return "CONSENT"
    if purpose == "ETREAT":
        if state == "opted-out":
            return "BREAK_GLASS_OPTED_OUT"
        if role != "emergency_clinician":
            return "NO_CONSENT"
        return "BREAK_GLASS" if state == "break-glass" else "BREAK_GLASS_NOT_OPEN"
    if not has_grants:
        return "NO_CONSENT"
    if purpose not in GRANTED_PURPOSES:
        return "PURPOSE_NOT_GRANTED"
    return {"expired": "CONSENT_EXPIRED", "revoked": "CONSENT_REVOKED"}[state]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    net, server, node = start(tmp_path_factory.mktemp("matrix"))
    records = {}
    for state in STATES:
        pat = net.patient(f"matrix-{state}")
        with net.client("dr-adams") as doc:
            (stored, *_) = doc.ingest("st-mary", pat.did, bundle_for(f"MRN-{state}"))
        records[state] = stored["record"]
        with net.client(f"matrix-{state}") as me:
            if state in ("active", "expired", "revoked"):
                end = int(time.time() * 1000) + 1500 if state == "expired" else None
                grants = [me.grant({"role": role}, GRANTED_PURPOSES, end=end, share_existing=False)
                          for role in ROLES]
                if state == "revoked":
                    for g in grants:
                        me.revoke(g)
            if state == "opted-out":
                me.set_break_glass(False)
        if state == "break-glass":
            with net.client("er-only") as er:
                er.break_glass(pat.did, "life_threatening")
    time.sleep(1.6)  # let the "expired" grants lapse
    yield net, records
    stop(server, node)


def test_permission_matrix(matrix) -> None:
    net, records = matrix
    want: dict[str, Counter] = {state: Counter() for state in STATES}
    for state in STATES:
        for role, person in ROLES.items():
            with net.client(person) as c:
                for purpose in PURPOSES:
                    code = expected(role, purpose, state)
                    try:
                        c.read_record("st-mary", records[state], purpose=purpose)
                        got = "granted"
                    except SalusError as exc:
                        got = exc.code
                    allowed = code in ("CONSENT", "BREAK_GLASS")
                    assert got == ("granted" if allowed else code), (role, purpose, state)
                    want[state][(net.did(person), purpose, code)] += 1
    net.settle()
    for state in STATES:
        with net.client(f"matrix-{state}") as me:
            log = me.access_log(limit=1000)["entries"]
        reads = Counter((e["requester"], e["purpose"], e["code"]) for e in log if e["kind"] == "read")
        assert reads == want[state], state
        for e in log:
            if e["kind"] == "read":
                assert e["outcome"] == ("granted" if e["code"] in ("CONSENT", "BREAK_GLASS")
                                        else "refused")
                assert e["emergency"] == (e["code"] == "BREAK_GLASS")
                assert e["record"] == records[state] and e["custodian"] == "st-mary"
