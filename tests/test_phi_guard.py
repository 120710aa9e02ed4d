"""No health information reaches the ledger, whoever sends it and wherever they put it.

Hypothesis drives every contract method with arguments in which health-like text (names,
birth dates, diagnoses, free sentences) replaces a value, is added under a new key, or is
nested inside one, signed by members of every kind and by non-members; and it writes the
same text into the envelope's own fields. Afterwards none of that text is anywhere in the
ledger's files (database and write-ahead log), its log entries, stored transaction
details or state. The one argument declared as free text (an organisation's public name,
written only by a regulator's admin: see ``test_contract_rules``) is the single place
left out of the drive.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authority_world import ACTORS, World, build_world
from conftest import world_ledger
from salus.ledger import transaction
from test_authority_matrix import CASES

FIRST = ["Ivy", "Jack", "Kim", "José", "Aisha", "Mei", "Olusegun", "Zoë"]
LAST = ["Smith", "Núñez", "O'Brien", "Okafor", "Zhang", "Kowalski", "Nguyen"]
DIAGNOSES = ["HIV positive", "type 2 diabetes mellitus (E11.9)", "major depressive disorder",
             "hepatitis C", "schizophrenia", "opioid use disorder", "BRCA1 mutation carrier",
             "pregnant, 12 weeks", "stage III colon cancer", "suicide attempt 2019"]
FREE_TEXT = {("membership", "add_organisation", "name")}

names = st.builds(lambda f, la: f"{f} {la}", st.sampled_from(FIRST), st.sampled_from(LAST))
births = st.dates().map(lambda d: st.sampled_from([f"DOB {d.isoformat()}",
                                                   f"born {d.strftime('%d/%m/%Y')}"])).flatmap(
    lambda s: s)
diagnoses = st.sampled_from(DIAGNOSES)
sentences = st.builds(lambda n, b, d: f"{n}, {b}: {d}", names, births, diagnoses)
#: Health-like text. Every piece holds a space, as real health information does, so no
#: chance collision with a base58 key or a hex hash can make the search below pass or fail.
phi = st.one_of(names, births, diagnoses, sentences,
                st.builds(lambda a, b: f"{a} {b}", st.text(min_size=2, max_size=30),
                          diagnoses))

SENT: set[str] = set()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    path = tmp_path_factory.mktemp("phi") / "ledger.db"
    chain = world_ledger(path)
    yield build_world(chain)
    chain.ledger.close()


def _places(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every value and container inside ``value`` (the root included)."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _places(v, (*path, i))
    return out


def _put(args: dict[str, Any], path: tuple, how: str, text: str) -> dict[str, Any]:
    args = copy.deepcopy(args)
    if not path:  # a new top-level argument
        args[text if how == "key" else "note"] = text
        return args
    parent = args
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    current = parent[last]
    if how == "replace":
        parent[last] = text
    elif how == "nest":
        parent[last] = [text] if isinstance(current, list) else {"note": text}
    elif how == "key" and isinstance(current, dict):
        current[text] = "x"
    elif isinstance(current, list):
        current.append(text)
    else:
        parent[last] = text
    return args


def _free_text(contract: str, method: str, path: tuple) -> bool:
    return bool(path) and (contract, method, str(path[0])) in FREE_TEXT


def _drive(world: World, data) -> None:
    """Health text in random arguments of random methods, by random signers: each block
    keeps nothing."""
    chain = world.chain
    raws = []
    for _ in range(data.draw(st.integers(1, 4), label="transactions")):
        _, contract, method, args_of, _ = data.draw(st.sampled_from(CASES), label="method")
        actor = data.draw(st.sampled_from(ACTORS), label="signer")
        args = args_of(world)
        for _ in range(data.draw(st.integers(1, 3), label="insertions")):
            text = data.draw(phi, label="text")
            SENT.add(text)
            places = [p for p in _places(args) if not _free_text(contract, method, p)]
            path = data.draw(st.sampled_from(places), label="where")
            how = data.draw(st.sampled_from(["replace", "nest", "key", "append"]), label="how")
            args = _put(args, path, how, text)
        raws.append(chain.tx(world.key[actor], contract, method, args))
    # ... and in the envelope's own fields
    text = data.draw(phi, label="envelope text")
    SENT.add(text)
    field = data.draw(st.sampled_from(["chain", "contract", "method"]), label="field")
    who = world.key[data.draw(st.sampled_from(ACTORS), label="envelope signer")]
    raws.append(transaction.encode(
        who, chain=text if field == "chain" else chain.genesis.chain_id,
        contract=text if field == "contract" else "notary",
        method=text if field == "method" else "anchor",
        args={"hash": "ab" * 32}, nonce=chain.nonces.get(who.did, 0) + 1, time=chain.time))
    block = chain.commit(*raws)
    assert block.header.tx_count == 0, chain.verdicts(block)  # nothing of it is kept


def _forms(text: str) -> list[bytes]:
    """The ways ``text`` could be stored: UTF-8, and JSON with non-ASCII escaped."""
    return [text.encode(), json.dumps(text)[1:-1].encode()]


def test_health_text_in_any_argument_never_reaches_the_ledger(world: World) -> None:
    """The drive above, then a search of every byte the ledger wrote. One test, so that the
    search sees the drive under any test distribution (pytest-xdist may run two tests of a
    module in different processes, each with its own world)."""
    SENT.clear()
    settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])(
        given(data=st.data())(lambda data: _drive(world, data)))()
    assert SENT
    store = world.chain.ledger.store
    path: Path = store.path
    files = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    entries = b"".join(row.raw for row in store.txs_in_range(0, store.tx_count() - 1))
    details = "".join(row.detail or "" for row in store.txs_in_range(0, store.tx_count() - 1))
    state = b"".join(k.encode() + v for k, v, _ in store.all_state())
    # The search finds what is there: the declared free text the world wrote.
    assert all(form in files and form in entries for form in _forms("North Lab"))
    for text in SENT:
        for form in _forms(text):
            assert form not in files, text
            assert form not in entries and form not in state, text
            assert form.decode() not in details, text
