"""The claims pages' world: a node hosting a payer and a provider (claims_site), with the
requests each page shows, made through the real endpoints and transactions:

* ``review_ben``, ``review_ana``: prior authorisations of a head CT (70450) a rule sends to
  review, pended (A4) in the payer's queue;
* ``mri``: ana's MRI (70551) asked for 3 units, cut to the rule's 2 (A2, CARC 119);
* ``visit``: ana's office visit claim (99213), denied at once (B7: no licence credential
  is held), appealed by ana, approved by the claims officer on appeal and paid (120.00 by
  the payer, 30.00 hers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pas_bundles as pb
from claims_site import Site, bundle, claims_site
from salus.node.datadir import DataDir

USD = "USD"


def submit(site: Site, doc: dict) -> str:
    body = pb.encode(doc)
    with site.client("registrar") as c:
        c.pas_submit(body)
    return hashlib.sha256(body).hexdigest()


def visit_bundle() -> dict:
    return bundle("ana", use="claim", code="99213", tag="pg-visit",
                  net={"value": 150, "currency": USD}, servicedDate="2026-03-01")


@contextmanager
def claims_pages_site(data: Path) -> Iterator[tuple[Site, dict[str, str]]]:
    with claims_site(data) as site:
        made = {
            "review_ben": submit(site, bundle("ben", code="70450", tag="pg-review-ben",
                                              net={"value": 800, "currency": USD})),
            "review_ana": submit(site, bundle("ana", code="70450", tag="pg-review-ana",
                                              net={"value": 800, "currency": USD})),
            "mri": submit(site, bundle("ana", code="70551", n=3, tag="pg-mri-3",
                                       net={"value": 3000, "currency": USD})),
            "visit": submit(site, visit_bundle()),
        }
        with site.client("ana") as ana:
            ana.call("claims", "appeal", {"request": made["visit"], "items": [1]})
        with site.client("officer") as officer:
            officer.decide_claim(made["visit"], [{
                "sequence": 1, "outcome": "approved", "rule": "office-visit", "reason": None,
                "carc": None, "units": 1, "amount_cents": 15_000}])
            officer.call("claims", "record_payment", {
                "claim": made["visit"], "paid_cents": 12_000, "patient_cents": 3_000,
                "remittance": hashlib.sha256(b"remittance pg-visit").hexdigest()})
        yield site, made


def open_as(browser: Any, site: Site, who: str, path: str, status: str, **context: Any) -> Any:
    """A fresh browser profile signed in with ``who``'s key, on the page at ``path`` once
    its ``status`` element (an id) is past loading."""
    from browser import sign_in

    page = sign_in(browser, site.url, DataDir(site.data).keys_dir / f"{who}.key", **context)
    page.goto(f"{site.url}{path}")
    page.wait_for_selector(f"#{status}:not(:empty)")
    page.wait_for_function("id => !document.getElementById(id).textContent.startsWith('Loading')",
                           arg=status)
    return page
