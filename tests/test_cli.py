"""The `salus` command line, end to end against a real node."""

from __future__ import annotations

import json
import sqlite3
import stat

from typer.testing import CliRunner

from salus.cli.main import app
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

    served, node = node_server(data, block_max_wait_ms=5, custodians=())
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
