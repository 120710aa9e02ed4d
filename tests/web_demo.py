"""The demo consortium (`make run`'s) served on a free loopback port, for the browser
tests: every page works on the same people, records, credentials and supply chain a
newcomer sees.

One demo serves the whole test session (seeding it takes a while). Tests change it (they
grant, revoke, break the glass): each test makes the state it asserts on, with people of
its own where it matters (``enrol``), and never relies on what another test may change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from salus.client import SalusClient
from salus.credentials import demo as demo_credentials
from salus.demo import seed, seed_once
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.rewards import demo as demo_rewards
from salus.supply import demo as demo_supply
from servers import node_server

#: Where the browser tests save a screenshot of each main page (the README shows them).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@dataclass
class Demo:
    data: Path
    url: str
    made: dict[str, Any]

    def key_path(self, name: str) -> Path:
        return self.data / "keys" / f"{name}.key"

    def key(self, name: str) -> Identity:
        return Identity.load(self.key_path(name))

    def client(self, name: str) -> SalusClient:
        return SalusClient(self.url, self.key(name))

    def enrol(self, org: str, roles: list[str], tmp: Path, name: str) -> tuple[Identity, Path]:
        """A new member of ``org`` with ``roles``, and their key file under ``tmp``."""
        person = Identity.generate()
        admin = Identity.load(admin_key_path(DataDir(self.data), org))
        with SalusClient(self.url, admin) as c:
            c.call("membership", "enrol", {"org": org, "member": person.did, "roles": roles,
                                           "encryption_key": person.encryption_did})
        return person, person.save(tmp / f"{name}.key")

    def patient(self, tmp: Path, name: str) -> tuple[Identity, Path]:
        """A newly registered patient and their key file under ``tmp``."""
        person = Identity.generate()
        with SalusClient(self.url, person) as c:
            c.call("membership", "register_patient", {"encryption_key": person.encryption_did})
        return person, person.save(tmp / f"{name}.key")


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("demo-site")
    seed(data)
    served, node = node_server(data, block_max_wait_ms=5)
    try:
        with served as server:
            made = seed_once(server.url, data, lambda _: None)
            assert made is not None
            # the credentials, wallets and competency ledger, as `make run` seeds them
            made["credentials"] = demo_credentials.seed_once(server.url, data, lambda _: None)
            # and the supply chain (packs, cases, a pallet, a recall, a suspect pack):
            # demo-supply.json's ids, by organisation, role and pack
            made["supply"] = demo_supply.seed_once(server.url, data, lambda _: None)
            # and the rewards programme at St Mary's (awards, a redemption)
            made["rewards"] = demo_rewards.seed_once(server.url, data, lambda _: None)
            yield Demo(data, server.url, made)
    finally:
        node.ledger.close()
