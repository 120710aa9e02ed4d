"""No health information in the ledger's reward entries (issue 18).

A rewards life is run from FHIR records that carry what real ones do: the encounter's
reason, diagnosis, practitioner, place and class, the survey's questions and answers,
the patient's name, each marked so that nothing else could hold it by chance. The
sponsor's service decides on them as Salus does (:func:`salus.rewards.events.award_args`
in the vault), awards, and the patient redeems, points expire, an award is reversed.
Then every byte of the ledger's files (database and write-ahead log), its log entries
and its state is searched; and the state under ``rewards/`` is held to its shapes: ids,
dids, codes, integers and times only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Chain, world_ledger
from rewards_world import build_rewards
from salus.claims.contracts.layout import DAY_MS
from salus.rewards.events import award_args, event_of

H64, ORG, DID = "[0-9a-f]{64}", "[a-z0-9][a-z0-9-]*", "did:key:z[1-9A-HJ-NP-Za-km-z]+"
PID, RECORD = "[a-z0-9][a-z0-9-]*", "r-[0-9a-f]{32}"
SUFFIX = "[0-9]{12}/[0-9]{5}/[0-9]{4}"
ENTRY_FIELDS = {"kind", "programme", "sponsor", "patient", "points", "tx", "height", "time"}
#: Each kind of entry's fields beyond ENTRY_FIELDS.
ENTRY_KINDS = {
    "award": {"cents", "event", "record", "custodian", "version", "expires"},
    "redemption": {"item", "code", "item_kind", "cents", "spent"},
    "expiry": {"award", "expired_at"},
    "reversal": {"award", "reason", "cents"},
}
#: What each rewards/ key may look like, and the fields its value holds.
SHAPES = {
    rf"rewards/programme/{PID}": {
        "id", "sponsor", "version", "events", "point_cents", "item_cap_cents",
        "annual_cap_cents", "expiry_days", "custodians", "catalogue", "height", "time"},
    rf"rewards/enrolment/{PID}/{DID}": {"programme", "patient", "status", "height", "time",
                                         "left_height"},
    rf"rewards/by-patient/{DID}/{PID}": {"sponsor", "height"},
    rf"rewards/account/{PID}/{DID}": {"balance", "lots"},
    rf"rewards/entry/{DID}/{PID}/{SUFFIX}": None,  # ENTRY_KINDS
    rf"rewards/event/{ORG}/{RECORD}": {"programme", "award", "height"},
    rf"rewards/award/{H64}": {"programme", "patient", "sponsor", "points", "entry", "reversed"},
    rf"rewards/year/{ORG}/{DID}/[0-9]{{4}}": {"awarded_cents", "redeemed_cents"},
}
#: Every string a reward entry may hold: ids, dids, hashes, codes (no spaces, no prose).
TOKEN = re.compile(r"[A-Za-z0-9:._/-]{1,200}")
#: Marked text nothing on the ledger holds by chance (no hex, did:key or JSON holds "Qx").
marked = st.text("abcdefghjkmnpqrstuvwxyz", min_size=3, max_size=8).map(lambda t: f"Qx{t}")


def encounter(status: str, reason: str, doctor: str, patient: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "status": status,
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "reasonCode": [{"text": f"{reason} F32.1 major depressive disorder"}],
            "participant": [{"individual": {"display": f"Dr {doctor}"}}],
            "subject": {"display": f"Ana {patient}"},
            "location": [{"location": {"display": f"Psychiatry clinic {doctor}"}}]}


def survey(status: str, answer: str, patient: str) -> dict[str, Any]:
    return {"resourceType": "QuestionnaireResponse", "status": status,
            "questionnaire": "http://example.org/Questionnaire/phq-9",
            "subject": {"display": f"Ana {patient}"},
            "item": [{"linkId": "9", "text": "Thoughts that you would be better off dead",
                      "answer": [{"valueString": f"nearly every day {answer}"}]}]}


def _life(chain: Chain, reason: str, doctor: str, answer: str, patient: str) -> None:
    w = build_rewards(chain)
    vault: dict[str, dict[str, Any]] = {}  # what the custodian's vault holds, by record id
    for resource in (encounter("finished", reason, doctor, patient),
                     encounter("cancelled", reason, doctor, patient),
                     encounter("finished", reason, doctor, patient),
                     survey("completed", answer, patient), survey("in-progress", answer, patient)):
        vault[w.record("ana", resource["resourceType"])] = resource
    awarded = []
    for record, resource in vault.items():  # the sponsor's service, reading its vault
        args = award_args("stm-keep", record, resource)
        if args is None:
            assert event_of(resource) is None
            continue
        (out,) = w.ok(w.call("service", "award", args))
        awarded.append(out["award"])
    assert len(awarded) == 3  # two kept appointments and one completed survey
    w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))
    w.ok(w.call("officer", "reverse", {"award": awarded[2], "reason": "entered_in_error"}))
    w.chain.time += 31 * DAY_MS
    w.ok(w.call("service", "expire", {"programme": "stm-keep", "patient": w.did("ana")}))
    w.ok(w.call("ana", "leave", {"programme": "stm-keep"}))
    kinds = [e["kind"] for e in w.programme_of("ana", "stm-keep")["entries"]]
    assert sorted(set(kinds)) == ["award", "expiry", "redemption", "reversal"]


@settings(max_examples=3, deadline=None, database=None)
@given(reason=marked, doctor=marked, answer=marked, patient=marked)
def test_no_health_information_in_the_reward_entries(tmp_path_factory, reason, doctor, answer,
                                                     patient) -> None:
    path: Path = tmp_path_factory.mktemp("rewards") / "ledger.db"
    chain = world_ledger(path)
    try:
        _life(chain, reason, doctor, answer, patient)
        store = chain.ledger.store
        files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        rows = store.txs_in_range(0, store.tx_count() - 1)
        entries = b"".join(row.raw for row in rows)
        state = list(store.all_state())
        flat = b"".join(k.encode() + v for k, v, _ in state)
        # the search finds what is there: the programme and the event's kind
        assert b"appointment_kept" in files and b"stm-keep" in flat
        secrets = [reason, doctor, answer, patient, "F32.1", "depressive", "Psychiatry",
                   "better off dead", "phq-9"]
        # the records' FHIR statuses and class, as JSON strings ("completed" alone is in
        # the event's name, survey_completed; "AMB" could be in a did)
        secrets += [f'"{code}"' for code in ("finished", "completed", "cancelled",
                                              "in-progress", "AMB")]
        for text in secrets:
            for where, blob in (("files", files), ("entries", entries), ("state", flat)):
                for form in (text.encode(), json.dumps(text)[1:-1].encode()):
                    assert form not in blob, (where, text)
        _hold_to_the_shapes([(k, json.loads(v)) for k, v, _ in state
                             if k.startswith("rewards/")])
    finally:
        chain.ledger.close()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _hold_to_the_shapes(rewards: list[tuple[str, Any]]) -> None:
    assert len(rewards) > 15
    for key, value in rewards:
        shape = next((fields for pattern, fields in SHAPES.items() if re.fullmatch(pattern, key)),
                     "none")
        assert shape != "none", key  # no other kind of key
        if shape is None:
            assert set(value) == ENTRY_FIELDS | ENTRY_KINDS[value["kind"]], key
        else:
            assert set(value) == shape, key
        for text in _strings(value):
            assert TOKEN.fullmatch(text), (key, text)
