"""GET /v1/claims/metrics and /v1/claims/metrics/payers on a real node serving the seeded
ledger (claims_metrics_world): public, the hand-computed values, every bad question
refused with a stable code while the node keeps serving, and nothing of a request in the
answer."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from claims_metrics_world import ACME_2025, served
from claims_world import OTHER_PAYER, PAYER, PROVIDER
from salus.cli.main import app
from salus.client import SalusClient, SalusError


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with served(tmp_path_factory.mktemp("claims-metrics")) as (url, c):
        yield url, c


def ask(url: str, **params) -> httpx.Response:
    return httpx.get(f"{url}/v1/claims/metrics", params=params, timeout=30)


def test_anyone_reads_a_payers_metrics_without_a_token(node) -> None:
    url, c = node
    r = ask(url, payer=PAYER, year=2025)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {g: body[g] for g in ACME_2025} == ACME_2025
    assert body["as_of"]["height"] == c.chain.ledger.height
    assert ask(url, payer=PAYER, year=2025).json() == body  # remembered at this height
    # aggregates only: no request, patient, provider or reviewer in the answer
    text = r.text
    for rid in c.documents:
        assert rid not in text
    for who in ("ana", "ben", "officer", "reviewer", "registrar"):
        assert c.did(who) not in text
    assert PROVIDER not in text and "coverage" not in text


def test_payers_are_answered_apart(node) -> None:
    url, _ = node
    other = ask(url, payer=OTHER_PAYER, year=2025).json()
    assert other["all"]["requests"] == other["all"]["denied"] == 1
    assert ask(url, payer=PAYER, year=2026).json()["all"]["requests"] == 1
    assert ask(url, payer=PAYER, year=2024).json()["all"]["share_bp"]["approved"] is None


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"payer": PROVIDER, "year": 2025}, 404, "NOT_FOUND"),       # a hospital, not an insurer
    ({"payer": "health-dept", "year": 2025}, 404, "NOT_FOUND"),  # a regulator
    ({"payer": "nobody", "year": 2025}, 404, "NOT_FOUND"),
    ({"payer": "Acme-Health", "year": 2025}, 400, "BAD_REQUEST"),
    ({"payer": "acme-health/../member", "year": 2025}, 400, "BAD_REQUEST"),
    ({"payer": "a" * 64, "year": 2025}, 400, "BAD_REQUEST"),
    ({"payer": "acme health", "year": 2025}, 400, "BAD_REQUEST"),
    ({"payer": "", "year": 2025}, 400, "BAD_REQUEST"),
    ({"year": 2025}, 400, "BAD_REQUEST"),
    ({"payer": PAYER}, 400, "BAD_REQUEST"),
    ({"payer": PAYER, "year": 1969}, 400, "BAD_REQUEST"),
    ({"payer": PAYER, "year": 9999}, 400, "BAD_REQUEST"),
    ({"payer": PAYER, "year": 2**64}, 400, "BAD_REQUEST"),
    ({"payer": PAYER, "year": "9" * 1000}, 400, "BAD_REQUEST"),
    ({"payer": PAYER, "year": "2025.0"}, 400, "BAD_REQUEST"),
    ({"payer": PAYER, "year": "MMXXV"}, 400, "BAD_REQUEST"),
])
def test_bad_questions_are_refused_with_stable_codes(node, params, status, code) -> None:
    url, _ = node
    r = ask(url, **params)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert ask(url, payer=PAYER, year=2025).status_code == 200  # and the node serves on


def test_the_payers_are_the_insurers(node) -> None:
    url, _ = node
    r = httpx.get(f"{url}/v1/claims/metrics/payers", timeout=30)
    assert r.status_code == 200
    assert sorted(p["id"] for p in r.json()["payers"]) == [PAYER, OTHER_PAYER]
    assert {p["name"] for p in r.json()["payers"]} == {"Acme Health", "Beacon Health"}


# -- SDK and CLI ---------------------------------------------------------------------------
def test_the_sdk_reads_them_without_a_key(node) -> None:
    url, _ = node
    with SalusClient(url) as client:
        assert client.claims_metrics(PAYER, 2025)["standard"] == ACME_2025["standard"]
        assert {p["id"] for p in client.claims_metrics_payers()} == {PAYER, OTHER_PAYER}
        with pytest.raises(SalusError) as err:
            client.claims_metrics(PROVIDER, 2025)
        assert err.value.code == "NOT_FOUND"


def cli(*args: str):
    return CliRunner().invoke(app, ["claims", "metrics", *args])


def test_the_cli_prints_the_table_or_the_json(node) -> None:
    url, _ = node
    done = cli("--payer", PAYER, "--year", "2025", "--json", "--node", url)
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["expedited"] == ACME_2025["expedited"]
    done = cli("--payer", PAYER, "--year", "2025", "--field", "all.decision_time.mean_s",
               "--node", url)
    assert done.output.strip() == "187201"
    table = cli("--payer", PAYER, "--year", "2025", "--node", url)
    assert table.exit_code == 0, table.output
    lines = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
             for line in table.output.splitlines() if line.count("│") == 5}
    assert lines["Approved"] == ["3 (75.00%)", "1 (50.00%)", "4 (66.67%)"]
    assert lines["Approved after appeal"] == ["0 (0.00%)", "1 (50.00%)", "1 (16.67%)"]
    assert lines["Mean decision time"] == ["2d 12h 0m 2s", "1d 12h 0m 1s", "2d 4h 0m 1s"]
    assert lines["Median decision time"] == ["0h 0m 1s", "1d 12h 0m 1s", "0h 0m 1s"]


def test_the_cli_refuses_what_the_node_refuses(node) -> None:
    url, _ = node
    done = cli("--payer", PROVIDER, "--year", "2025", "--node", url)
    assert done.exit_code == 1 and "NOT_FOUND" in done.output
    done = cli("--payer", "Not An Org", "--year", "2025", "--node", "http://127.0.0.1:1")
    assert done.exit_code == 1 and "not an organisation id" in done.output  # nothing sent
    assert cli("--payer", PAYER, "--year", "1969", "--node", url).exit_code == 2
