"""The service's memory of decisions, written a block's worth at a time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from salus.rewards.decisions import Decisions


def test_a_batch_of_decisions_is_remembered_whole_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "rewards" / "st-mary.db"
    memory = Decisions(path)
    memory.remember_many([("r1", 1, "AWARD", 7, "tx1"), ("r2", 1, "NOT_KEPT", 7, None),
                          ("r2", 2, "AWARD", 9, "tx2")])
    memory.remember_many([])  # nothing to write: no transaction
    assert (memory.decided("r1", 1), memory.decided("r2", 1), memory.decided("r2", 2)) == \
        ("AWARD", "NOT_KEPT", "AWARD")
    assert memory.decided("r1", 2) is None  # a new version is a new question
    memory.close()
    again = Decisions(path)
    assert again.counts() == {"AWARD": 2, "NOT_KEPT": 1}
    # the columns are where remember() puts them
    row = sqlite3.connect(path).execute(
        "SELECT code, tx, height FROM decisions WHERE record = 'r1'").fetchone()
    assert row == ("AWARD", "tx1", 7)
    again.close()


def test_a_batch_that_fails_writes_none_of_it(tmp_path: Path) -> None:
    memory = Decisions(tmp_path / "d.db")
    with pytest.raises(sqlite3.IntegrityError):
        memory.remember_many([("r1", 1, "AWARD", 7, "tx1"),
                              ("r2", 1, "NOT_KEPT", None, None)])  # type: ignore[list-item]
    assert memory.decided("r1", 1) is None
    memory.remember("r3", 1, "NOT_HELD", 8)  # and the memory still works
    assert memory.decided("r3", 1) == "NOT_HELD"
    memory.close()
