"""Records: FHIR ingest, vault, gateway, consent, audit, break-glass, erasure."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from records_net import RecordsNet, fixture_bundle, start, stop
from salus.client import SalusError


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net, server, node = start(tmp_path_factory.mktemp("records"))
    yield net
    stop(server, node)


def test_ingest_then_patient_reads_own_record(net: RecordsNet) -> None:
    pat = net.patient("pat-ingest")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, fixture_bundle())
    types = sorted(s["type"] for s in stored)
    assert types.count("Binary") == 1 and "Patient" in types and len(stored) == 13
    with net.client("pat-ingest") as me:
        index = me.record_index()
        assert {r["id"] for r in index} == {s["record"] for s in stored}
        obs = next(s for s in stored if s["type"] == "Observation")
        resource = me.read_record("st-mary", obs["record"])
    assert resource["valueQuantity"]["unit"] == "ng/mL" and resource["id"] == obs["record"]
