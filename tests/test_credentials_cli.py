"""The credentials flow from the command line: issue, wallet, present, verify, revoke."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from conftest import ident
from credentials_net import licence, running
from salus.cli.main import app
from salus.credentials.wallet import Wallet

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    return result.output


def test_issue_hold_present_verify_revoke(tmp_path: Path) -> None:
    with running(tmp_path / "node") as net:
        node = ["--node", net.url]
        trust = ["--orderer", net.orderer]
        registrar_key = tmp_path / "registrar.key"
        ident("registrar").save(registrar_key)

        # the holder's wallet
        wallet_dir = tmp_path / "wallet"
        holder = json.loads(_run("wallet", "init", "--wallet", str(wallet_dir)))["holder"]
        assert Wallet.open(wallet_dir).did == holder

        # the board issues a licence to the holder, and one to someone else
        req = licence(holder, "MD-300")
        requests = tmp_path / "requests.json"
        requests.write_text(json.dumps([
            {"type": req.type, "subject": req.subject},
            {"type": req.type, "subject": {**req.subject, "id": ident("dr-z").did}}]))
        issued = json.loads(_run("credentials", "issue", str(requests), "--key",
                                 str(registrar_key), "--out", str(tmp_path / "out"),
                                 "--store", str(tmp_path / "issuer.db"), *node))
        mine, theirs = (Path(i["file"]) for i in issued["issued"])
        listed = json.loads(_run("credentials", "list", "--key", str(registrar_key), "--store",
                                 str(tmp_path / "issuer.db"), "--subject", holder, *node))
        assert [c["id"] for c in listed] == [issued["issued"][0]["id"]]

        _run("wallet", "add", str(mine), "--wallet", str(wallet_dir))
        refused = _run("wallet", "add", str(theirs), "--wallet", str(wallet_dir), code=1)
        assert "not this wallet's holder" in refused
        listing = json.loads(_run("wallet", "list", "--wallet", str(wallet_dir)))
        assert [c["type"] for c in listing["credentials"]] == ["LicenseCredential"]

        # a verifier saves the context, then verifies offline
        ctx = tmp_path / "context.json"
        _run("verify", "context", *trust, "--out", str(ctx), *node)
        report = tmp_path / "report.json"
        shown = _run("verify", "credential", str(mine), *trust, "--context", str(ctx),
                     "--report", str(report))
        assert "VERIFIED" in shown and json.loads(report.read_text())["ok"]
        untrusted = _run("verify", "credential", str(mine), "--orderer", ident("mallory").did,
                         "--context", str(ctx), code=2)
        assert "not trusted" in untrusted

        # the holder presents to a hospital, which verifies
        vp = tmp_path / "vp.json"
        _run("wallet", "present", "--challenge", "n-1", "--domain", "st-luke.example",
             "--type", "LicenseCredential", "--out", str(vp), "--wallet", str(wallet_dir))
        ok = json.loads(_run("verify", "presentation", str(vp), "--challenge", "n-1",
                             "--domain", "st-luke.example", *trust, "--context", str(ctx),
                             "--json"))
        assert ok["ok"] and ok["dossier"]["summary"]["passed"] == 1
        replay = json.loads(_run("verify", "presentation", str(vp), "--challenge", "n-2",
                                 "--domain", "st-luke.example", *trust, "--context", str(ctx),
                                 "--json", code=2))
        assert replay["failed_step"] == "challenge"

        # revoked: the old context still says valid (it is a snapshot); a fresh one does not
        cred_id = issued["issued"][0]["id"]
        _run("credentials", "revoke", cred_id, "--reason", "surrendered", "--key",
             str(registrar_key), "--store", str(tmp_path / "issuer.db"), *node)
        _run("verify", "credential", str(mine), *trust, "--context", str(ctx))
        failed = json.loads(_run("verify", "credential", str(mine), *trust, *node, "--json",
                                 code=2))
        assert failed["failed_step"] == "status" and "surrendered" in json.dumps(failed)

        # a dossier of two files is one report; junk is a format failure, not a crash
        junk = tmp_path / "junk.json"
        junk.write_text("{not json")
        dossier = json.loads(_run("verify", "credential", str(mine), str(theirs), *trust,
                                  *node, "--json", code=2))
        assert dossier["summary"]["credentials"] == 2 and dossier["problems"]
        bad = json.loads(_run("verify", "credential", str(junk), *trust, *node, "--json",
                              code=2))
        assert bad["failed_step"] == "format"


def test_credentialing_office_requests_verifies_and_keeps_a_report(tmp_path: Path) -> None:
    from salus.credentials.credentialing import CredentialingError, check_report

    with running(tmp_path / "node") as net:
        trust = ["--orderer", net.orderer, "--node", net.url]
        wallet_dir = tmp_path / "wallet"
        holder = json.loads(_run("wallet", "init", "--wallet", str(wallet_dir)))["holder"]
        with net.issuer("registrar") as board:
            (lic,) = board.issue([licence(holder, "MD-400")])
        path = tmp_path / "lic.json"
        path.write_text(json.dumps(lic))
        _run("wallet", "add", str(path), "--wallet", str(wallet_dir))

        office = ident("credentialing")  # st-luke's credentialing office
        office_key = tmp_path / "office.key"
        office.save(office_key)
        req = tmp_path / "request.json"
        _run("credentialing", "request", "--domain", "st-luke.example", "--type",
             "LicenseCredential", "--key", str(office_key), "--out", str(req))
        vp = tmp_path / "vp.json"
        _run("wallet", "respond", str(req), "--out", str(vp), "--wallet", str(wallet_dir))
        report_file = tmp_path / "report.json"
        summary = json.loads(_run("credentialing", "verify", str(vp), "--request", str(req),
                                  "--key", str(office_key), "--out", str(report_file),
                                  "--anchor", *trust))
        assert summary["complete"] and summary["anchored"]["height"] > 0
        report = json.loads(report_file.read_text())
        check_report(report, office.did)
        report["complete"] = False
        try:
            check_report(report, office.did)
        except CredentialingError as exc:
            assert "signature" in str(exc)
        else:
            raise AssertionError("a changed report passed its check")

        # asking for a degree too: the same wallet cannot complete the dossier
        req2 = tmp_path / "request2.json"
        _run("credentialing", "request", "--domain", "st-luke.example", "--type",
             "LicenseCredential", "--type", "DegreeCredential", "--key", str(office_key),
             "--out", str(req2))
        vp2 = tmp_path / "vp2.json"
        _run("wallet", "respond", str(req2), "--out", str(vp2), "--wallet", str(wallet_dir))
        incomplete = json.loads(_run("credentialing", "verify", str(vp2), "--request",
                                     str(req2), "--key", str(office_key), "--out",
                                     str(tmp_path / "r2.json"), *trust, code=2))
        assert incomplete["missing_types"] == ["DegreeCredential"]
        # an old presentation does not answer a new request (its challenge differs)
        replay = json.loads(_run("credentialing", "verify", str(vp), "--request", str(req2),
                                 "--key", str(office_key), "--out", str(tmp_path / "r3.json"),
                                 *trust, code=2))
        assert replay["failed_step"] == "challenge"

        # the licence revoked, a fresh answer is incomplete, and its top says which
        # credential failed and at which step (never "failed_step": null)
        with net.issuer("registrar") as board:
            board.revoke(lic["id"], "surrendered")
        vp3 = tmp_path / "vp3.json"
        _run("wallet", "respond", str(req), "--out", str(vp3), "--wallet", str(wallet_dir))
        revoked = json.loads(_run("credentialing", "verify", str(vp3), "--request", str(req),
                                  "--key", str(office_key), "--out", str(tmp_path / "r4.json"),
                                  *trust, code=2))
        assert not revoked["complete"] and revoked["failed_step"] == "credentials[0].status"
        kept = json.loads((tmp_path / "r4.json").read_text())
        (checked,) = kept["presentation"]["dossier"]["credentials"]
        assert checked["failed_step"] == "status" and "surrendered" in json.dumps(checked)
