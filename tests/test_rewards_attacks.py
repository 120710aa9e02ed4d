"""Attacks on the rewards services from outside (issue 18, red team): each on a real node,
each refused with a stable code, each changing nothing.

* ``POST /v1/rewards/awards`` is an officer's way to award one of its own records. Asked
  about another custodian's record, it must say no more than about a made-up id: not the
  record's type, its custodian, whether it was erased, nor whether its patient is
  enrolled (record metadata is for the patient, her grantees and the custodian's staff).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from records_net import start, stop
from test_rewards_service import World, encounter, programme, wait_for


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    logging.getLogger("salus.rewards").setLevel(logging.INFO)
    net, server, node = start(tmp_path_factory.mktemp("rewards-attacks") / "node")
    try:
        w = World(net)
        net.patient("ana")
        with net.client("st-mary-admin") as c:
            c.call("rewards", "publish_programme", programme("stm-keep"))
        with net.client("north-admin") as c:
            c.call("rewards", "publish_programme", programme("north-keep"))
        wait_for(lambda: {"st-mary", "north"} <= set(w.service.sponsors))
        yield w
    finally:
        stop(server, node)


def test_another_custodians_record_is_answered_as_a_made_up_one(world: World) -> None:
    w = world
    observation = {"resourceType": "Observation", "id": "o-1", "status": "final",
                   "code": {"text": "QxMajorDepression"}}
    records = [w.ingest("kept", "ana", encounter("e-1", "finished")),
               w.ingest("obs", "ana", observation)]
    with w.net.client("ana") as c:  # enrolled with North, the records are St Mary's
        c.call("rewards", "enrol", {"programme": "north-keep"})
    records.append(w.ingest("kept-enrolled", "ana", encounter("e-2", "finished")))
    w.settled()
    made_up = w.post("north-admin", {"record": "r-" + "0" * 32})
    assert (made_up.status_code, made_up.json()["error"]["code"]) == (404, "UNKNOWN_RECORD")
    for record in records:
        resp = w.post("north-admin", {"record": record})
        assert (resp.status_code, resp.json()["error"]["code"]) == (404, "UNKNOWN_RECORD"), \
            resp.text
        said = resp.json()["error"]["reason"]
        assert said == made_up.json()["error"]["reason"].replace("r-" + "0" * 32, record)
        assert not [w for w in ("st-mary", "Observation", "Encounter", "enrolled")
                    if w in said], said
    assert not w.awarded("north", "kept-enrolled")
