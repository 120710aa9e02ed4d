"""The README runs as written: each walkthrough's commands, taken from README.md itself,
run one by one with bash in a fresh copy of the repository (its files linked, the
virtualenv as ``.venv``), against servers the test starts on free loopback ports.

The README names port 8700. The test changes only that: the commands reach the node
through ``SALUS_NODE`` (every command's ``--node`` default), and a command that starts a
server (``make run``'s recipe, ``salus node --port 8700``) has its port replaced. The
virtualenv is not on PATH: a command that works here works from a fresh clone's shell.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from salus.client import SalusClient
from salus.identity import Identity
from salus.ports import free_port
from walkthrough import Ran, Server, Shell, blocks, commands

pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
VENV = Path(sys.prefix)  # the virtualenv running the tests: a fresh clone's .venv
PORT = "8700"  # the README's
#: What a clone holds that a run makes: never linked into the copy.
MADE = {".git", ".venv", ".salus-demo", ".salus-network", ".pytest_cache", "chain"}


@dataclass(frozen=True)
class Step:
    """What one README command must do: ``needle`` identifies the command (so a reordered
    or rewritten README fails here rather than passing by luck); then its exit status,
    text its standard output must (``out``) or must not (``not_out``) hold, and a shell
    variable it sets with the pattern of its value."""

    needle: str
    code: int = 0
    out: tuple[str, ...] = ()
    not_out: tuple[str, ...] = ()
    sets: tuple[str, str] | None = None


DID = r"did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}"
ENC_DID = r"did:key:z6LS[1-9A-HJ-NP-Za-km-z]{44}"


def _clone(where: Path) -> Path:
    """A fresh clone as the README's reader has it after `make`: the repository's files,
    and ``.venv``."""
    where.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in MADE:
            (where / entry.name).symlink_to(entry)
    (where / ".venv").symlink_to(VENV)
    return where


def _env(home: Path, port: int) -> dict[str, str]:
    venv_bin = str(VENV / "bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALUS_")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p != venv_bin)
    # the code under test, whichever checkout the shared virtualenv was installed from
    env["PYTHONPATH"] = str(ROOT / "src")
    env["HOME"] = str(home)  # wallets and caches default under ~: keep them in the test
    env["SALUS_NODE"] = f"http://127.0.0.1:{port}"
    env["COLUMNS"] = "100"
    home.mkdir(exist_ok=True)
    return env


def _walk(shell: Shell, cmds: list[str], steps: list[Step]) -> list[Ran]:
    assert len(cmds) == len(steps), "\n".join(cmds)
    done = []
    for command, step in zip(cmds, steps, strict=True):
        assert step.needle in command, (step.needle, command)
        ran = shell.run(command)
        assert ran.code == step.code, ran
        for text in step.out:
            assert text in ran.stdout, (text, str(ran))
        for text in step.not_out:
            assert text not in ran.stdout, (text, str(ran))
        if step.sets is not None:
            name, pattern = step.sets
            assert re.fullmatch(pattern, shell.value(name)), (name, shell.value(name), ran)
        done.append(ran)
    return done


def _server_command(command: str, port: int) -> str:
    """A server command with the README's port replaced by the test's."""
    assert command.count(f"--port {PORT}") == 1, command
    return command.replace(f"--port {PORT}", f"--port {port}")


def _make_run_recipe() -> str:
    """What `make run` runs, from the Makefile: the README's first command."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None
    (line,) = recipe.group(1).strip().splitlines()
    return line.strip().replace("$(BIN)", ".venv/bin")


# -- the demo: `make run`, "Try it", "The credentialing flow" ---------------------------
@dataclass
class Demo:
    clone: Path
    url: str
    env: dict[str, str]
    first: str  # `make run`'s output the first time, when it seeds the demo
    again: str  # ... and when run again on the same directory (the one now serving)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    assert README.startswith("```sh\nmake run ")  # the first thing a newcomer reads
    top = blocks(README, None)  # before any heading: the set-up commands
    assert commands(top[0])[0].startswith("make run")
    base = tmp_path_factory.mktemp("readme-demo")
    clone, port = _clone(base / "clone"), free_port()
    env = _env(base / "home", port)
    command = _server_command(_make_run_recipe(), port)
    server = Server(command, clone, env, base / "demo.log")
    try:
        first = server.wait_for("demo rewards ready")  # the last stage
    finally:
        server.stop()
    # a reader stops it and runs it again: the README's cues are printed then too
    server = Server(command, clone, env, base / "demo-again.log")
    try:
        again = server.wait_for("demo rewards ready")  # the last stage
        yield Demo(clone, f"http://127.0.0.1:{port}", env, first, again)
    finally:
        server.stop()


def test_make_run_says_where_the_web_application_is_once_the_node_is_up(demo: Demo) -> None:
    said = f"node is up: open {demo.url}/ui/ in a browser"
    for output in (demo.first, demo.again):
        # said once the node answers: before the demo's records, which go through the API
        assert said in output
        assert output.index(said) < output.index("demo records ready")
    assert "(new)" in demo.first and "issuing credentials" in demo.first
    assert "(reused)" in demo.again and "issuing credentials" not in demo.again
    assert "issued on an earlier run" in demo.again
    assert httpx.get(f"{demo.url}/ui/", timeout=10).status_code == 200
    # and the README's first section sends a newcomer there
    first = README[:README.index("\n# ")]
    assert f"http://127.0.0.1:{PORT}/ui/" in first and "node is up" in first


TRY_IT = [
    Step("salus status", out=('"chain_id": "salus-demo"',)),
    Step("ORDERER=$(", sets=("ORDERER", DID)),
    Step("date > note.txt"),
    Step("HASH=$(", sets=("HASH", r"[0-9a-f]{64}")),
    Step("TX=$(", sets=("TX", r"[0-9a-f]{64}")),
    Step("salus proof tx $TX > bundle.json"),
    Step("salus verify proof bundle.json", out=('"verified": true', '"kind": "inclusion"')),
    Step("salus audit --data .salus-demo", out=('"ok": true',)),
    Step("salus records list -k .salus-demo/keys/patient-ivy.key",
         out=('"custodian": "st-mary"', '"custodian": "city-general"',
              '"custodian": "northlab"')),
    Step("salus consent list", out=('"status": "active"', '"status": "revoked"')),
    Step("salus access log -k .salus-demo/keys/patient-jack.key", out=('"emergency": true',)),
    Step("RECORD=$(", sets=("RECORD", r"r-[0-9a-f]{32}")),
    Step("salus records read $RECORD --custodian northlab",
         out=('"resourceType": "Observation"', "LDL cholesterol")),
    Step("salus wallet list --wallet .salus-demo/wallets/dr-alice",
         out=("LicenseCredential", "DegreeCredential")),
    Step("salus verify context", out=('"anchors"',)),
    Step("wallets/dr-alice/credentials", out=("VERIFIED",), not_out=("NOT VERIFIED",)),
    Step("wallets/dr-walt/credentials", code=2, out=("NOT VERIFIED", "revoked")),
]


def test_try_it_runs_as_written(demo: Demo, tmp_path: Path) -> None:
    (block,) = blocks(README, "Try it")
    shell = Shell(demo.clone, demo.env, tmp_path / "shell")
    try:
        _walk(shell, commands(block), TRY_IT)
        # the note's hash is on the ledger, anchored by dr-alice: she reads her transaction
        note = hashlib.sha256((demo.clone / "note.txt").read_bytes()).hexdigest()
        alice = Identity.load(demo.clone / ".salus-demo" / "keys" / "dr-alice.key")
        with SalusClient(demo.url, alice) as client:
            doc = client.tx(shell.value("TX"))
        assert doc["receipt"]["code"] == "VALID" and doc["envelope"]["args"] == {"hash": note}
    finally:
        shell.close()


CREDENTIALING = [
    Step("ORDERER=$(", sets=("ORDERER", DID)),
    Step("salus credentialing request", out=('"LicenseCredential"', '"DegreeCredential"')),
    Step("wallet respond request.json -o dossier.json", out=('"presentation"',)),
    Step("credentialing verify dossier.json", out=('"complete": true', '"failed_step": null',
                                                    '"anchored"')),
    Step("wallet respond request.json -o walt.json"),
    Step("credentialing verify walt.json", code=2, out=('"complete": false',)),
]


def test_the_credentialing_flow_runs_as_written(demo: Demo, tmp_path: Path) -> None:
    (block,) = blocks(README, "The credentialing flow")
    shell = Shell(demo.clone, demo.env, tmp_path / "shell")
    try:
        ran = _walk(shell, commands(block), CREDENTIALING)
    finally:
        shell.close()
    report = json.loads((demo.clone / "report.json").read_text())
    assert report["complete"] and report["presentation"]["ok"]
    # a dossier with a revoked licence names, at its top, the credential and the step
    walt = json.loads(ran[-1].stdout)
    failed = walt["failed_step"]
    assert re.fullmatch(r"credentials\[\d\]\.status", failed), walt
    kept = json.loads((demo.clone / "walt-report.json").read_text())
    index = int(failed[len("credentials["):failed.index("]")])
    credential = kept["presentation"]["dossier"]["credentials"][index]
    assert credential["type"] == "LicenseCredential" and credential["failed_step"] == "status"
    assert f"`{failed}`" in README  # what the README says it prints, it prints


SUPPLY = [
    Step("S=.salus-demo/demo-supply.json"),
    Step("PACK=$(", sets=("PACK", r"\(01\)\d{14}\(.*\(21\).+")),
    Step("FAKE=$(", sets=("FAKE", r"\(01\)\d{14}\(.*\(21\).+")),
    Step("RECALLED=$(", sets=("RECALLED", r"https://\S+/01/\d{14}/21/\S+")),
    Step('supply scan "$PACK"', out=("\nverified",), not_out=("Recalled", "not verified")),
    Step('supply scan "$FAKE"', code=3, out=("No_match_GTIN_Serial",)),
    Step('supply scan "$RECALLED"', out=("\nverified", "Recalled")),
    Step("supply recalls", out=('"reason"',)),
    Step("auditor-heidi.key", out=("commissioning", "packing", "shipping", "receiving")),
    Step("ops-rosa.key", code=1),
    Step("supply events -k .salus-demo/keys/ops-cora.key > corner.json"),
    Step("supply hash corner.json"),
]


def test_the_supply_chain_runs_as_written(demo: Demo, tmp_path: Path) -> None:
    (block,) = blocks(README, "The drug supply chain")
    shell = Shell(demo.clone, demo.env, tmp_path / "shell")
    try:
        ran = _walk(shell, commands(block), SUPPLY)
        pack = shell.value("PACK")
    finally:
        shell.close()
    assert "FORBIDDEN_READ" in ran[9].stderr
    # the hashes printed are those of Corner's events, each recorded on the ledger
    hashes = ran[-1].stdout.split()
    assert hashes and all(h.startswith("ni:///sha-256;") for h in hashes)
    heidi = Identity.load(demo.clone / ".salus-demo" / "keys" / "auditor-heidi.key")
    with SalusClient(demo.url, heidi) as regulator:
        trace = regulator.trace(pack)
    on_ledger = {e["hash"] for e in trace["events"] if e["on_ledger"]}
    assert on_ledger & set(hashes)


CLAIMS = [
    Step("C=.salus-demo/demo-claims.json"),
    Step("PAID=$(", sets=("PAID", r".+\.json")),
    Step("LICENCE=$(", sets=("LICENCE", r"\d{4}-\d{2}-\d{2}:\S*")),
    Step("eligibility-ivy.json", out=("true",)),
    Step("eligibility-kim.json", out=("false",)),
    Step("patient-ivy.key", out=('"verdict": "same"', '"ok": true')),
    Step("patient-jack.key", code=1),
    Step("claims inquire", out=('"A1"',)),
    Step("claims metrics", out=("acme-health",)),
    Step("PHANTOM=$(", sets=("PHANTOM", r"[0-9a-f]{64}")),
    Step("claims resolve-flag", out=("unfounded",)),
]


def test_the_claims_walkthrough_runs_as_written(demo: Demo, tmp_path: Path) -> None:
    (block,) = blocks(README, "Claims and prior authorisation")
    shell = Shell(demo.clone, demo.env, tmp_path / "shell")
    try:
        ran = _walk(shell, commands(block), CLAIMS)
    finally:
        shell.close()
    assert "FORBIDDEN_READ" in ran[6].stderr, ran[6]  # Jack: not his claim


REWARDS = [
    Step("rewards programme show stm-care", out=("parking",)),
    Step("rewards statement", out=("40",)),
    Step("rewards-rita.key", out=('"awarded"',)),
    Step("patient-jack.key", code=1),
]


def test_the_rewards_walkthrough_runs_as_written(demo: Demo, tmp_path: Path) -> None:
    (block,) = blocks(README, "Patient rewards")
    shell = Shell(demo.clone, demo.env, tmp_path / "shell")
    try:
        ran = _walk(shell, commands(block), REWARDS)
    finally:
        shell.close()
    assert ran[1].stdout.strip() == "40"
    assert "FORBIDDEN_READ" in ran[3].stderr
    assert "patient" not in ran[2].stdout  # totals name no patient


# -- "Your own chain" and "In Python" ---------------------------------------------------
OWN_CHAIN_INIT = [Step("salus init --data ./chain", out=('"chain_id": "my-consortium"',))]
OWN_CHAIN_MEMBERS = [
    Step("keys new --out clinician.key", out=('"did"',)),
    Step("keys new --out patient.key", out=('"did"',)),
    Step("CLINICIAN=$(", sets=("CLINICIAN", DID)),
    Step("CLINICIAN_ENC=$(", sets=("CLINICIAN_ENC", ENC_DID)),
    Step("salus members enrol $CLINICIAN", out=('"code": "VALID"',)),
    Step("salus members register -k patient.key", out=('"code": "VALID"',)),
]
OWN_CHAIN_RECORDS = [
    Step("PATIENT=$(", sets=("PATIENT", DID)),
    Step("salus records ingest", out=('"type": "Observation"',)),
    Step("salus records list -k patient.key", out=('"custodian": "st-mary"',)),
    Step("salus consent grant --member $CLINICIAN", out=('"grant": "c-',)),
    Step("RECORD=$(", sets=("RECORD", r"r-[0-9a-f]{32}")),
    Step("salus records read $RECORD", out=('"resourceType": "Observation"',)),
    Step("salus access log -k patient.key", out=('"outcome": "granted"', '"code": "CONSENT"')),
]


def test_your_own_chain_and_in_python_run_as_written(tmp_path: Path) -> None:
    found, members, records = blocks(README, "Your own chain")
    *init, node = commands(found)
    assert "salus node --data ./chain" in node
    clone, port = _clone(tmp_path / "clone"), free_port()
    env = _env(tmp_path / "home", port)
    shell = Shell(clone, env, tmp_path / "shell")
    server = None
    try:
        _walk(shell, init, OWN_CHAIN_INIT)
        server = Server(_server_command(node, port), clone, env, tmp_path / "node.log")
        _wait_health(f"http://127.0.0.1:{port}", server)
        _walk(shell, commands(members), OWN_CHAIN_MEMBERS)
        _walk(shell, commands(records), OWN_CHAIN_RECORDS)

        (example,) = blocks(README, "In Python", "python")
        assert example.count(f"http://127.0.0.1:{PORT}") == 1
        script = clone / "readme_example.py"
        script.write_text(example.replace(f":{PORT}", f":{port}"))
        ran = shell.run(".venv/bin/python readme_example.py")
        assert ran.code == 0, ran
    finally:
        shell.close()
        if server is not None:
            server.stop()


def _wait_health(url: str, server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the node did not answer on {url}:\n{server.output()}")


# -- "A network of organisations" ----------------------------------------------------------
def test_a_network_of_organisations_runs_as_written(tmp_path: Path) -> None:
    (block,) = blocks(README, "A network of organisations")
    up, status, down = commands(block)
    clone = _clone(tmp_path / "clone")
    env = _env(tmp_path / "home", free_port())
    env["COLUMNS"] = "80"
    shell = Shell(clone, env, tmp_path / "shell")
    try:
        started = shell.run(up)
        assert started.code == 0, started
        assert "http://127.0.0.1:" in started.stdout and "is up" in started.stdout
        shown = shell.run(status)
        assert shown.code == 0 and "all peers agree" in shown.stdout, shown
        assert max(len(line) for line in shown.stdout.splitlines()) <= 80, shown
    finally:
        stopped = shell.run(down)
        shell.close()
    assert stopped.code == 0 and "nothing of it is running" in stopped.stderr, stopped
