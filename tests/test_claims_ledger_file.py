"""No claim content in the ledger, as docs/claims.md decides.

A claims life (coverage, rules, an authorisation, claims citing records, units used,
decisions, an appeal, a payment, a phantom flag, a cancel and an update) is run with
claim documents that carry what real ones do (the patient's name, birth date, member id,
diagnoses and a free-text note), each marked so nothing else could hold it by chance. Then
every byte of the ledger's files (database and write-ahead log), its log entries, stored
transaction details and state is searched, as ``test_phi_guard`` searches for health
information; and the state under ``claims/`` is held to the decision's shapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from claims_world import FP_KEY, approve_pa, build_claims, item, member_hash, register_record
from conftest import Chain, world_ledger

H64, ORG = "[0-9a-f]{64}", "[a-z0-9][a-z0-9-]*"
REQUEST_FIELDS = {
    "id", "use", "coverage", "payer", "provider", "patient", "submitter", "rules", "items",
    "priority", "fingerprints", "duplicates", "evidence", "prior_auths", "height", "time",
    "due", "extended", "status", "replaces", "replaced_by", "lines", "decisions", "appeals",
    "payments", "decided_time", "late"}
LINE_FIELDS = {"sequence", "outcome", "rule", "reason", "carc", "units", "amount_cents",
               "decision", "human", "period", "used", "prior_auth", "flagged", "flag"}
FLAG_FIELDS = {"height", "index", "finding"}
RESOLVED_FIELDS = FLAG_FIELDS | {"by", "resolved_height", "resolved_time"}
DECISION_FIELDS = {"n", "reviewer", "human_review", "height", "time", "late", "items",
                   "appeal", "facts"}
#: What each claims/ key may look like, and the fields its value may hold (None: a string).
SHAPES = {
    rf"claims/rules/{H64}": {"payer", "version", "table", "height", "time", "previous"},
    rf"claims/rule/{H64}/[A-Za-z0-9._-]+": {
        "id", "codes", "code_sets", "plans", "covered", "prior_auth", "review",
        "documentation", "units", "age", "sex", "places", "allowed_cents", "carc"},
    rf"claims/policy/{H64}": {"payer", "unlisted", "carc"},
    rf"claims/rules-current/{ORG}": {"version", "height"},
    rf"claims/rules-history/{ORG}/[0-9]{{16}}": None,
    r"claims/coverage/cv-[0-9a-f]{32}": {"id", "payer", "plan", "start", "end", "member",
                                         "patient", "height", "time"},
    rf"claims/member/{ORG}/{H64}": None,
    rf"claims/request/{H64}": REQUEST_FIELDS,
    rf"claims/fingerprint/(claim|preauthorization)/{H64}": {"request", "sequence"},
    rf"claims/open/{ORG}/{H64}": {"use", "priority", "due", "status"},
    rf"claims/review/{ORG}/[0-9]{{12}}/[0-9]{{5}}/[0-9]{{3}}": {
        "request", "sequence", "kind", "height", "time"},
    rf"claims/by-(patient/did:key:z[1-9A-HJ-NP-Za-km-z]+|provider/{ORG}|payer/{ORG})/"
    rf"[0-9]{{12}}/{H64}": {"use"},
}
#: Marked text nothing on the ledger holds by chance (no hex, did:key or JSON holds "Qx").
marked = st.text("abcdefghjkmnpqrstuvwxyz", min_size=3, max_size=8).map(lambda t: f"Qx{t}")
DIAGNOSES = ["F32.1 major depressive disorder", "B20 HIV disease", "O09.521 pregnancy"]


def _life(chain: Chain, name: str, member: str, note: str) -> dict[str, str]:
    c = build_claims(chain)
    secret = {"name": f"Ana {name}", "birthDate": "1970-03-15", "memberId": member,
              "diagnosis": DIAGNOSES, "note": note}
    c.ok(c.call("officer", "record_coverage", {
        "coverage": c.patients["ana"], "plan": "gold", "start": "2025-01-01",
        "member": member_hash(member), "patient": c.did("ana")}))
    record = register_record(c, "ana", f"progress note {note}")
    pa, _ = approve_pa(c, "ana", "97110", 12)
    bill = c.facts("ana", [item(1, "97110", 4, 16_000), item(2, "99213", 1, 20_000),
                           item(3, "15780", 1, 90_000)], prior_auths=(pa,), evidence=(record,))
    rid = c.submit(bill, extra=secret)
    c.decide(rid, bill)
    c.ok(c.call("ana", "flag_phantom", {"request": rid, "items": [2, 3]}))
    c.ok(c.call("officer", "resolve_phantom", {"request": rid, "sequence": 2,
                                               "finding": "unfounded"}))
    c.ok(c.call("registrar", "appeal", {"request": rid, "items": [3]}))
    c.ok(c.call("reviewer", "decide", {"request": rid, "human_review": True, "items": [
        {"sequence": 3, "outcome": "denied", "rule": "cosmetic", "reason": "not_covered",
         "carc": "204", "units": None, "amount_cents": None}]}))
    c.ok(c.call("officer", "record_payment", {"claim": rid, "paid_cents": 25_000,
                                              "patient_cents": 6_000, "remittance": "cd" * 32}))
    other = c.facts("ben", [item(1, "99214", 1, 12_000)])
    first = c.submit(other, extra={**secret, "name": f"Ben {name}"})
    corrected, args = c.submit_args(other, "corrected", {**secret, "name": f"Ben {name}"})
    del args["use"], args["coverage"]
    c.ok(c.call("registrar", "update", {"request": first, **args}))
    c.ok(c.call("registrar", "cancel", {"request": corrected}))
    return {"claim": rid, "pa": pa}


@settings(max_examples=3, deadline=None)
@given(name=marked, member=marked.map(lambda t: f"M-{t}"), note=marked)
def test_no_claim_content_anywhere_in_the_ledger(tmp_path_factory, name, member, note) -> None:
    path: Path = tmp_path_factory.mktemp("claims") / "ledger.db"
    chain = world_ledger(path)
    try:
        ids = _life(chain, name, member, note)
        store = chain.ledger.store
        files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        rows = store.txs_in_range(0, store.tx_count() - 1)
        entries = b"".join(row.raw for row in rows)
        details = "".join(row.detail or "" for row in rows).encode()
        state = list(store.all_state())
        flat = b"".join(k.encode() + v for k, v, _ in state)
        # The search finds what is there: the claim's hash and its keyed member hash.
        for there in (ids["claim"], member_hash(member)):
            assert there.encode() in files and there.encode() in flat
        secrets = [name, member, note, "1970-03-15", FP_KEY.hex(), *DIAGNOSES]
        for text in secrets:
            for form in (text.encode(), json.dumps(text)[1:-1].encode()):
                for where, blob in (("files", files), ("entries", entries),
                                    ("details", details), ("state", flat)):
                    assert form not in blob, (where, text)
        assert FP_KEY not in files
        _hold_to_the_decision(state)
    finally:
        chain.ledger.close()


def _hold_to_the_decision(state: list[tuple[str, bytes, int]]) -> None:
    claims = [(k, json.loads(v)) for k, v, _ in state if k.startswith("claims/")]
    assert len(claims) > 20
    for key, value in claims:
        shape = next((fields for pattern, fields in SHAPES.items() if re.fullmatch(pattern, key)),
                     "none")
        assert shape != "none", key  # no other kind of key
        if shape is None:
            assert isinstance(value, str), key
            continue
        assert set(value) == shape, key
        if key.startswith("claims/request/"):
            assert all(set(line) == LINE_FIELDS for line in value["lines"]), key
            flags = [line["flag"] for line in value["lines"] if line["flag"] is not None]
            assert all(set(f) == (FLAG_FIELDS if f["finding"] is None else RESOLVED_FIELDS)
                       and f["finding"] in (None, "confirmed", "unfounded") for f in flags), key
            assert all(set(d) == DECISION_FIELDS for d in value["decisions"]), key
