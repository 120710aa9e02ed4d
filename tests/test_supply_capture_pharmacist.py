"""A pharmacist dispenses through ``POST /epcis/capture`` (SC6, the counter page), on a
real node: a pharmacy's or hospital's pharmacist captures dispensing events and nothing
else; a document with any other event is refused whole (403 FORBIDDEN) and nothing of it
is kept; nobody else without the supply operator role captures at all; and a pack the
pharmacy does not hold is refused by the contract, as for its supply operator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.supply import epcis_events as ev
from supply_site import EXPIRY, Site, now_ms, pack, party, place, supply_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with supply_site(tmp_path_factory.mktemp("supply-pharmacist")) as s:
        yield s


def enrol(site: Site, org: str, roles: list[str]) -> Identity:
    person = Identity.generate()
    admin = Identity.load(admin_key_path(DataDir(site.data), org))
    with SalusClient(site.url, admin) as c:
        c.call("membership", "enrol", {"org": org, "member": person.did, "roles": roles,
                                       "encryption_key": person.encryption_did})
    return person


def delivered(site: Site, to: str, serials: list[str]) -> list[str]:
    """Packs Meridian commissions and sells straight to ``to``, which receives them."""
    t = now_ms() - 60_000
    packs = [pack(s) for s in serials]
    po = [("po", f"urn:x:po-{serials[0]}")]
    with site.client("meridian-operator") as maker:
        job = maker.capture(ev.document([
            ev.commissioning(packs, f"L-{serials[0]}", EXPIRY, t, place("meridian")),
            ev.sale(packs, t + 1000, source=party("meridian"), destination=party(to),
                    transactions=po),
            ev.shipping(packs, t + 1000, source=party("meridian"), destination=party(to),
                        place=place("meridian"), transactions=po)], t))
        assert job["success"], job
    with site.client(f"{to}-operator") as holder:
        job = holder.capture(ev.document([ev.receiving(packs, t + 2000, place(to))], t))
        assert job["success"], job
    return packs


def status(site: Site, epc: str) -> str:
    with site.client("fda-operator") as regulator:
        return str(regulator.trace(epc)["state"]["status"])


def jobs(site: Site, org: str) -> list[dict[str, Any]]:
    with site.client("fda-operator") as regulator:
        return regulator._request("GET", "/epcis/capture", auth=True,  # type: ignore[no-any-return]
                                  params={"org": org, "perPage": 1000})["jobs"]


def dispensing(epc: str, org: str) -> dict[str, Any]:
    t = now_ms()
    return ev.document([ev.dispensing(epc, t, place(org))], t)


def refused(who: Identity, site: Site, document: dict[str, Any]) -> SalusError:
    with SalusClient(site.url, who) as c, pytest.raises(SalusError) as caught:
        c.capture(document)
    return caught.value


def test_a_pharmacist_dispenses_a_pack_the_pharmacy_holds(site: Site) -> None:
    pharmacist = enrol(site, "corner", ["pharmacist"])
    first, second = delivered(site, "corner", ["PH-A1", "PH-A2"])
    with SalusClient(site.url, pharmacist) as c:
        job = c.capture(dispensing(first, "corner"))
        assert job["success"] is True and job["errors"] == [], job
        assert job["member"] == pharmacist.did  # the job names who asked
        # the same pack again: the contract's refusal, as for the operator
        again = c.capture(dispensing(first, "corner"))
    assert again["success"] is False and again["errors"][0]["code"] == "CONFLICT"
    assert status(site, first) == "dispensed" and status(site, second) == "active"


def test_a_pharmacist_captures_nothing_but_dispensing_and_nothing_of_it_is_kept(
        site: Site) -> None:
    pharmacist = enrol(site, "corner", ["pharmacist"])
    (held,) = delivered(site, "corner", ["PH-B1"])
    t = now_ms()
    before = len(jobs(site, "corner"))
    documents = {
        "a dispensing with a shipment": ev.document([
            ev.dispensing(held, t, place("corner")),
            ev.shipping([held], t, source=party("corner"), destination=party("riverside"),
                        place=place("corner"))], t),
        "a quarantine": ev.document([ev.quarantine(held, t, place("corner"))], t),
        "a shipment": ev.document([ev.shipping(
            [held], t, source=party("corner"), destination=party("riverside"),
            place=place("corner"))], t),
        "an error declaration of a dispensing": ev.document([{
            **ev.dispensing(held, t, place("corner")),
            "errorDeclaration": {"declarationTime": ev.document([], t)["creationDate"],
                                 "reason": "incorrect_data"}}], t),
    }
    for what, document in documents.items():
        exc = refused(pharmacist, site, document)
        assert (exc.status, exc.code) == (403, "FORBIDDEN"), what
        assert "dispense" in str(exc), what
    assert status(site, held) == "active"  # nothing reached the ledger
    assert len(jobs(site, "corner")) == before  # nor the repository's job list


def test_nobody_else_without_the_supply_operator_role_captures(site: Site) -> None:
    (held,) = delivered(site, "corner", ["PH-C1"])
    at_northway = enrol(site, "northway", ["pharmacist"])  # a distributor dispenses nothing
    nurse = enrol(site, "corner", ["nurse"])
    revoked = enrol(site, "corner", ["pharmacist"])
    admin = Identity.load(admin_key_path(DataDir(site.data), "corner"))
    with SalusClient(site.url, admin) as c:
        c.call("membership", "revoke_roles", {"member": revoked.did, "roles": ["pharmacist"]})
    stranger = Identity.generate()  # no member at all
    for who in (at_northway, nurse, revoked, admin):
        exc = refused(who, site, dispensing(held, "corner"))
        assert (exc.status, exc.code) == (403, "FORBIDDEN"), who.did
    with pytest.raises(SalusError) as caught, SalusClient(site.url, stranger) as c:
        c.capture(dispensing(held, "corner"))
    assert caught.value.code == "INVALID_CLIENT"  # no token for a key of no member
    assert status(site, held) == "active"


def test_a_pharmacist_cannot_dispense_another_pharmacys_pack(site: Site) -> None:
    pharmacist = enrol(site, "corner", ["pharmacist"])
    (theirs,) = delivered(site, "riverside", ["PH-D1"])
    with SalusClient(site.url, pharmacist) as c:
        job = c.capture(dispensing(theirs, "corner"))
    assert job["success"] is False and job["errors"][0]["code"] == "FORBIDDEN", job
    assert "riverside" not in job["errors"][0]["reason"]  # who holds it is not said
    assert status(site, theirs) == "active"
