"""A running node with three custodians, staff and patients, for the records tests."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ident
from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.node.receipt import Receipt
from salus.records.gateway import Gateway
from servers import ServerThread, node_server

FIXTURES = Path(__file__).parent / "fixtures"
#: Personal health information in the fixture Bundle: none of it may reach a ledger.
PHI = ["Quackenbush", "Theodora", "Winifred", "1958-03-14", "987-65-4329", "MRN-77341920",
       "+1-555-301-7788", "Juniper Hollow", "Marblehead", "01945", "89579-7", "401314000",
       "7980", "83367", "41976001", "11524-6", "Troponin", "substernal", "Pettigrew",
       "Hives over torso", "Chew 324", "Sinus tachycardia", "angiogram", "obs-troponin-1",
       "enc-5521", "cond-nstemi", "Discharge summary", "2.37"]
ORGS = [OrgSpec("st-mary", "hospital", "St Mary's"), OrgSpec("north", "hospital", "North General"),
        OrgSpec("city-lab", "lab", "City Lab"), OrgSpec("health-dept", "regulator", "Regulator"),
        OrgSpec("acme-ins", "insurer", "Acme Insurance")]
#: (name, org, roles) of the staff every records test can use.
STAFF = [
    ("dr-adams", "st-mary", ["clinician"]),
    ("dr-baker", "north", ["clinician"]),
    ("er-chen", "north", ["clinician", "emergency_clinician"]),
    ("er-only", "north", ["emergency_clinician"]),
    ("nurse-diaz", "st-mary", ["nurse"]),
    ("res-evans", "north", ["researcher"]),
    ("claims-fox", "acme-ins", ["claims_officer"]),
    ("po-green", "st-mary", ["privacy_officer"]),
    ("tech-hall", "city-lab", ["lab_technician"]),
]


def phi_in(blobs: Iterable[bytes], extra: Iterable[str] = ()) -> list[tuple[str, bytes]]:
    """Each piece of :data:`PHI` (and ``extra``) found in ``blobs``, with where. Matches
    are delimited, so that a code like 7980 is not "found" inside a timestamp or a hash."""
    found = []
    for needle in [*PHI, *extra]:
        pattern = re.compile(rb"(?<![0-9A-Za-z])" + re.escape(needle.encode()) + rb"(?![0-9A-Za-z])")
        found += [(needle, b[:80]) for b in blobs if pattern.search(b)]
    return found


def bundle_for(source_patient: str) -> dict:
    """The fixture Bundle, re-keyed to another source patient id (a different person)."""
    doc = json.loads((FIXTURES / "patient_bundle.json").read_text())
    text = json.dumps(doc).replace("MRN-77341920", source_patient)
    return json.loads(text)


@dataclass
class RecordsNet:
    data: Path
    url: str
    app: object
    people: dict[str, Identity] = field(default_factory=dict)

    @property
    def gateway(self) -> Gateway:
        return self.app.state.gateway

    def client(self, name: str) -> SalusClient:
        return SalusClient(self.url, self.people[name])

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every access so far is committed to the ledger."""
        deadline = time.monotonic() + timeout
        while not self.gateway.settled:
            assert time.monotonic() < deadline, "access entries did not commit"
            time.sleep(0.005)

    def on_server(self, coro, timeout: float = 30.0):
        """Run a coroutine on the server's event loop (where the gateway lives)."""
        loop = self.gateway._follower.get_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def as_gateway(self, org: str, contract: str, method: str, args: dict) -> Receipt:
        """Sign and send a transaction with ``org``'s gateway key, through the gateway's
        own writer (so its nonces stay in order): what a rogue gateway could send."""
        writer = self.gateway.custodians[org].writer

        async def send() -> Receipt:
            result = await writer.send(contract, method, args, self.gateway.clock(),
                                       want_commit=True)
            return result if isinstance(result, Receipt) else await asyncio.wait_for(result, 20)
        return self.on_server(send())

    def did(self, name: str) -> str:
        return self.people[name].did

    def patient(self, name: str) -> Identity:
        """A newly registered patient with an encryption key."""
        who = ident(name)
        self.people[name] = who
        with self.client(name) as c:
            c.call("membership", "register_patient", {"encryption_key": who.encryption_did})
        return who


def start(data: Path):
    init_datadir(data, "salus-records-test", ORGS)
    datadir = DataDir(data)
    server, node = node_server(data, block_max_wait_ms=5)
    app = server.app
    server.__enter__()
    net = RecordsNet(data, server.url, app)
    for org in {o for _, o, _ in STAFF}:
        net.people[f"{org}-admin"] = Identity.load(admin_key_path(datadir, org))
    for name, org, roles in STAFF:
        who = ident(name)
        net.people[name] = who
        with net.client(f"{org}-admin") as admin:
            admin.call("membership", "enrol", {"org": org, "member": who.did, "roles": roles,
                                               "encryption_key": who.encryption_did})
    return net, server, node


def stop(server: ServerThread, node) -> None:
    server.__exit__(None, None, None)
    node.ledger.close()


@contextmanager
def running(data: Path, *patients: str) -> Iterator[RecordsNet]:
    """A records node (:func:`start`) with ``patients`` registered, stopped on exit."""
    net, server, node = start(data)
    try:
        for name in patients:
            net.patient(name)
        yield net
    finally:
        stop(server, node)


def fixture_bundle() -> dict:
    return copy.deepcopy(json.loads((FIXTURES / "patient_bundle.json").read_text()))
