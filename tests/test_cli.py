"""The `salus` command line, end to end against a real node."""

from __future__ import annotations

import json
import re
import sqlite3
import stat

from typer.testing import CliRunner

from salus.cli.main import app
from salus.identity import Identity
from servers import node_server

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_keys_init_node_tx_status_audit_proofs(tmp_path) -> None:
    data = tmp_path / "chain"
    key = json.loads(run("keys", "new", "--out", str(tmp_path / "me.key")))
    assert key["did"].startswith("did:key:z6Mk")
    assert stat.S_IMODE((tmp_path / "me.key").stat().st_mode) == 0o600
    assert json.loads(run("keys", "show", str(tmp_path / "me.key")))["did"] == key["did"]
    assert "exists" in run("keys", "new", "--out", str(tmp_path / "me.key"), code=1)

    init = json.loads(run("init", "--data", str(data), "--chain-id", "cli-test",
                          "--org", "st-mary:hospital:St Mary's", "--org", "gov:regulator"))
    assert init["chain_id"] == "cli-test"
    assert "already holds" in run("init", "--data", str(data), "--chain-id", "x",
                                  "--org", "a:hospital", code=1)
    assert "not one of" in run("init", "--data", str(tmp_path / "x"), "--chain-id", "x",
                               "--org", "a:castle", code=1)
    admin_key = init["admin_keys"]["st-mary"]

    served, node = node_server(data, block_max_wait_ms=5, custodians=(), supply_orgs=())
    with served as server:
        url = server.url
        status = json.loads(run("status", "--node", url))
        assert status["chain_id"] == "cli-test" and status["height"] == 0
        enrol = json.loads(run("tx", "membership", "enrol", "-k", admin_key, "--node", url, "-a",
                               json.dumps({"org": "st-mary", "member": key["did"],
                                           "roles": ["clinician"]})))
        assert enrol["code"] == "VALID"
        anchored = json.loads(run("tx", "notary", "anchor", "-k", str(tmp_path / "me.key"),
                                  "--node", url, "-a", json.dumps({"hash": "ab" * 32})))
        assert anchored["code"] == "VALID"
        again = run("tx", "notary", "anchor", "-k", str(tmp_path / "me.key"), "--node", url,
                    "-a", json.dumps({"hash": "ab" * 32}), code=2)
        assert "CONFLICT" in again
        assert "floats" in run("tx", "notary", "anchor", "-k", admin_key, "--node", url,
                               "-a", '{"hash": 1.5}', code=1)
        bundle = tmp_path / "bundle.json"
        bundle.write_text(run("proof", "tx", anchored["tx_id"], "--node", url))
        checked = json.loads(run("verify", "proof", str(bundle), "--orderer", init["orderer"],
                                 "--chain-id", "cli-test"))
        assert checked["verified"] and checked["kind"] == "inclusion"
        cons = tmp_path / "cons.json"
        cons.write_text(run("proof", "consistency", "--first", "1", "--node", url))
        assert json.loads(run("verify", "proof", str(cons), "--orderer", init["orderer"]))["verified"]
        assert "UNREACHABLE" in run("status", "--node", "http://127.0.0.1:9", code=1)
    node.ledger.close()

    audited = runner.invoke(app, ["audit", "--data", str(data)])
    assert audited.exit_code == 0, audited.output
    report = json.loads(audited.stdout)
    assert report["ok"] and report["transactions"] == 3
    assert report["head"] == report["blocks"] - 1 and "discrepancy" not in report
    # off a terminal, progress is a log line per tenth, not a bar
    assert f"audit: {report['blocks']}/{report['blocks']} blocks verified" in audited.stderr
    conn = sqlite3.connect(data / "ledger.db")
    conn.execute("UPDATE txs SET reason='edited' WHERE seq=2")
    conn.commit()
    conn.close()
    tampered = runner.invoke(app, ["audit", "--data", str(data)])
    assert tampered.exit_code == 2 and "discrepancy at height 3" in tampered.stderr
    found = json.loads(tampered.stdout)
    assert not found["ok"] and found["discrepancy"]["height"] == 3 and found["blocks_verified"] == 3


def test_tx_help_and_contracts_list_every_method_from_its_declaration() -> None:
    from salus.node.contracts import registry

    methods = registry().all_methods()
    # `--help` output is wrapped to the terminal: compare without whitespace
    help_text = "".join(run("tx", "--help").split())
    for m in methods:
        assert "".join(m.signature().split()) in help_text, m.full_name
    listed = json.loads(run("contracts"))["methods"]
    assert [(d["contract"], d["method"]) for d in listed] == [(m.contract, m.name) for m in methods]
    (enrol,) = json.loads(run("contracts", "membership.enrol"))["methods"]
    assert enrol["required"] == ["org", "member", "roles"]
    assert enrol["arguments"]["roles"]["maxItems"] >= 1 and "admin of" in enrol["who"]
    assert "no contract or method" in run("contracts", "nosuch.thing", code=1)


def stdout(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


DID = r"did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}"


def test_field_prints_one_value_for_a_shell_and_members_enrol_register_show(tmp_path) -> None:
    data = tmp_path / "chain"
    admin_key = stdout("init", "--data", str(data), "--chain-id", "field-test", "--org",
                       "st-mary:hospital", "--org", "gov:regulator",
                       "--field", "admin_keys.st-mary")
    assert admin_key == f"{data / 'keys' / 'st-mary-admin.key'}\n"  # a bare value, a newline
    admin_key = admin_key.strip()
    nurse_file, patient_file = tmp_path / "nurse.key", tmp_path / "patient.key"
    nurse = stdout("keys", "new", "--out", str(nurse_file), "--field", "did").strip()
    assert re.fullmatch(DID, nurse)
    enc = stdout("keys", "show", str(nurse_file), "--field", "encryption_did").strip()
    assert enc == Identity.load(nurse_file).encryption_did
    stdout("keys", "new", "--out", str(patient_file))
    missing = run("keys", "show", str(nurse_file), "--field", "secret", code=1)
    assert "no 'secret'" in missing and "did, encryption_did" in missing
    assert "nothing below a str" in run("keys", "show", str(nurse_file), "--field", "did.x",
                                        code=1)

    served, node = node_server(data, block_max_wait_ms=5, custodians=(), supply_orgs=())
    with served as server:
        at = ("--node", server.url)
        assert stdout("status", *at, "--field", "chain_id") == "field-test\n"
        assert stdout("members", "register", "-k", str(patient_file), *at,
                      "--field", "code") == "VALID\n"
        # a patient is no admin of St Mary's: the ledger refuses, exit 2 with its code
        refused = run("members", "enrol", nurse, "--org", "st-mary", "--role", "nurse",
                      "-k", str(patient_file), *at, code=2)
        assert "admin of" in refused
        enrolled = json.loads(stdout("members", "enrol", nurse, "--encryption-key", enc,
                                     "--org", "st-mary", "--role", "nurse", "-k", admin_key,
                                     *at))
        assert enrolled["code"] == "VALID"
        shown = json.loads(stdout("members", "show", "-k", str(nurse_file), *at))
        assert (shown["org"], shown["encryption_key"]) == ("st-mary", enc)
        # a name over a list: each item's, one a line; a number: that item
        assert stdout("members", "show", "-k", str(nurse_file), *at,
                      "--field", "roles.role") == "nurse\n"
        assert stdout("members", "show", "-k", str(nurse_file), *at,
                      "--field", "keys.0.status") == "active\n"
        assert "has 1 item" in run("members", "show", "-k", str(nurse_file), *at,
                                   "--field", "keys.3", code=1)
        # the patient's record is hers, with the encryption key she registered
        mine = json.loads(stdout("members", "show", "-k", str(patient_file), *at))
        assert mine["encryption_key"] == Identity.load(patient_file).encryption_did
        assert "already belongs to a member" in run("members", "register", "-k",
                                                    str(patient_file), *at, code=2)
        tx_id = stdout("tx", "notary", "anchor", "-k", str(nurse_file), *at,
                       "-a", json.dumps({"hash": "ef" * 32}), "--field", "tx_id").strip()
        assert re.fullmatch(r"[0-9a-f]{64}", tx_id)
        # refused, the whole receipt is printed (not a value a script would take for an id)
        again = stdout("tx", "notary", "anchor", "-k", str(nurse_file), *at, "-a",
                       json.dumps({"hash": "ef" * 32}), "--field", "tx_id", code=2)
        assert json.loads(again)["code"] == "CONFLICT"
    node.ledger.close()
