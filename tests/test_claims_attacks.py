"""Attacks on the claims services from outside (issue 17, red team): each on a real node,
each refused with a stable code, each changing nothing.

* A grant the patient scoped to some records (immunisations for a school nurse) must not
  open every claim in her name: an ExplanationOfBenefit carries her services and
  diagnoses at every provider and payer, which no scoped grant covers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import pas_bundles as pb
from claims_site import Site, bundle, claims_site
from salus.client import SalusError


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with claims_site(tmp_path_factory.mktemp("claims-attacks")) as s:
        yield s


def _submit(site: Site, doc: dict) -> None:
    with site.client("registrar") as c:
        token = c.token()
    resp = httpx.post(site.url + "/fhir/Claim/$submit", content=pb.encode(doc), timeout=30,
                      headers={"Authorization": f"Bearer {token}",
                               "Content-Type": "application/fhir+json"})
    assert resp.status_code == 200, resp.text


def test_a_grant_scoped_to_some_records_does_not_open_her_claims(site: Site) -> None:
    _submit(site, bundle(tag="scoped-grant"))
    ana = site.key("ana").did
    nurse, other = site.key("nurse").did, site.key("other-registrar").did
    with site.client("ana") as me:
        me.call("consent", "grant", {"grantee": {"member": nurse}, "purposes": ["TREAT"],
                                     "resource_types": ["Immunization"]})
        assert me.explanations_of_benefit()["total"] >= 1
    with site.client("nurse") as c, pytest.raises(SalusError) as refused:
        c.explanations_of_benefit(ana)
    assert refused.value.status == 403 and "FORBIDDEN_READ" in str(refused.value), refused.value
    # a grant of her whole record in force still lists them (what the consent says)
    with site.client("ana") as me:
        me.call("consent", "grant", {"grantee": {"member": other}, "purposes": ["TREAT"]})
    with site.client("other-registrar") as c:
        assert c.explanations_of_benefit(ana)["total"] >= 1
