from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.ledger import transaction
from salus.ledger.ledger import Ledger
from salus.ledger.log import leaf_hash
from salus.ledger.signatures import executable
from salus.node.contracts import registry

GENESIS_TIME = 1_763_700_000_000


def ident(name: str) -> Identity:
    return Identity.from_seed(hashlib.sha256(name.encode()).digest())


@dataclass
class Chain:
    """A ledger with a small consortium and a clock that only the test moves."""

    ledger: Ledger
    genesis: genesis_mod.Genesis
    orderer: Identity
    time: int = GENESIS_TIME
    nonces: dict[str, int] = field(default_factory=dict)
    _submitted: dict[int, list[bytes]] = field(default_factory=dict)

    def tx(self, who: Identity, contract: str, method: str, args: dict | None = None,
           *, nonce: int | None = None, chain: str | None = None, time: int | None = None) -> bytes:
        if nonce is None:
            nonce = self.nonces.get(who.did, 0) + 1
            self.nonces[who.did] = nonce
        return transaction.encode(who, chain=chain or self.genesis.chain_id, contract=contract,
                                  method=method, args=args or {}, nonce=nonce,
                                  time=self.time if time is None else time)

    def commit(self, *raws: bytes):
        self.time += 1000
        txs, sig_ok = executable(raws, self.ledger.executor.max_tx_bytes)
        block = self.ledger.commit(self.time, txs, sig_ok)
        self._submitted[block.header.height] = list(raws)
        return block

    def verdicts(self, block) -> list[tuple[str, str]]:
        """Each submitted transaction's (code, reason), in submission order, whether the
        block kept it (in the log) or dropped it (failed admission: nowhere)."""
        by_id = {r.id: (r.code, r.reason) for r in [*block.results, *block.dropped]}
        return [by_id[leaf_hash(raw)] for raw in self._submitted[block.header.height]]

    def codes(self, block) -> list[str]:
        return [code for code, _ in self.verdicts(block)]

    def kept(self, block) -> list[str]:
        """Codes of what the block kept: the only transactions that reach the log."""
        return [r.code for r in block.results]


@dataclass
class ContractWorld:
    """A test world of one application's contract on a :class:`Chain`: the worlds of the
    supply, claims and rewards tests share how they commit and read."""

    chain: Chain

    def run(self, *raws: bytes) -> list[tuple[str, str]]:
        """Commit ``raws`` in one block: each one's (code, reason)."""
        return self.chain.verdicts(self.chain.commit(*raws))

    def ok(self, *raws: bytes) -> list[Any]:
        """Commit ``raws`` in one block, each VALID: their outputs."""
        block = self.chain.commit(*raws)
        assert self.chain.codes(block) == ["VALID"] * len(raws), self.chain.verdicts(block)
        return [r.output for r in block.results]

    def get(self, key: str) -> Any:
        return self.chain.ledger.state_value(key)


def make_genesis(orderer: Identity) -> genesis_mod.Genesis:
    orgs = [
        {"id": "st-mary", "name": "St Mary's Hospital", "type": "hospital",
         "admins": [{"did": ident("st-mary-admin").did,
                     "encryption_key": ident("st-mary-admin").encryption_did}]},
        {"id": "medboard", "name": "State Medical Board", "type": "board",
         "admins": [{"did": ident("medboard-admin").did}]},
        {"id": "health-dept", "name": "Health Regulator", "type": "regulator",
         "admins": [{"did": ident("regulator-admin").did}]},
    ]
    return genesis_mod.build("salus-test", orderer.did, orgs, GENESIS_TIME)


def world_ledger(path: Path) -> Chain:
    """A fresh ledger of the test consortium at ``path``, as a :class:`Chain`."""
    orderer = ident("orderer")
    genesis = make_genesis(orderer)
    return Chain(Ledger.create(path, genesis, registry(), orderer), genesis, orderer)


def run_reaching(machine: type[RuleBasedStateMachine], runs: settings, seen: dict[str, int],
                 calls: set[str]) -> None:
    """Run ``machine``'s sequences with ``runs``, then hold them to having reached every
    method in ``calls`` (``seen``: the methods the machine counted), so that they are real
    sequences, not only refusals. One test, so that the check sees the runs it checks
    under any test distribution (pytest-xdist may run two tests of a module in different
    processes)."""
    seen.clear()
    run_state_machine_as_test(machine, settings=runs)
    assert calls <= set(seen), seen


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    made = world_ledger(tmp_path / "ledger.db")
    yield made
    made.ledger.close()


# The demo consortium served for the browser tests (tests/web_demo.py), one per session.
from web_demo import demo_site  # noqa: E402, F401
