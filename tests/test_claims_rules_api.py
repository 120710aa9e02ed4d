"""Rules everyone can read (issue 17, item 2), through the SDK and the CLI without a key:
a payer's current rule set, any past version after a new one, and its history."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from claims_site import PAYER, Site, claims_site, site_table
from salus.claims.rules import version
from salus.cli.main import app
from salus.client import SalusClient


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with claims_site(tmp_path_factory.mktemp("claims-rules")) as s:
        yield s


def test_a_new_version_keeps_the_old_one_readable_by_anyone(site: Site) -> None:
    with SalusClient(site.url) as anyone:  # no key, no token
        old = anyone.rules(PAYER)
    assert old["current"] == version(site_table()) == old["rules"]["version"]
    assert old["rules"]["table"] == site_table()
    table = site_table()
    table["rules"][0]["allowed_cents"] = (table["rules"][0].get("allowed_cents") or 100) + 1
    with site.client("officer") as officer:
        officer.publish_rules(table)
    with SalusClient(site.url) as anyone:
        new = anyone.rules(PAYER)
        assert new["current"] == version(table) != old["current"]
        assert new["rules"]["previous"] == old["current"]
        assert anyone.rules(PAYER, old["current"])["rules"]["table"] == site_table()
    assert [v["version"] for v in new["versions"]] == [old["current"], new["current"]]
    assert new["versions"][0]["height"] < new["versions"][1]["height"]


def test_the_cli_shows_rules_without_a_key(site: Site) -> None:
    result = CliRunner().invoke(app, ["claims", "rules", "show", PAYER, "--node", site.url])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["payer"] == PAYER and shown["rules"]["version"] == shown["current"]
    result = CliRunner().invoke(app, ["claims", "rules", "show", "st-mary", "--node", site.url])
    assert result.exit_code == 1 and "NOT_FOUND" in result.output
