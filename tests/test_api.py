"""The node's REST API and the SDK against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from salus.cli.main import app as cli
from salus.client import SalusClient, SalusError, TransactionRejected
from salus.identity import Identity
from salus.identity.assertion import ASSERTION_TYPE, client_assertion, sign_jwt
from salus.ledger import signatures, transaction
from salus.ledger.codes import Code
from salus.ledger.log import leaf_hash, verify_consistency, verify_inclusion
from salus.ledger.log.offline import verify_bundle
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import ServerThread, node_server


class Net:
    def __init__(self, data: Path, server: ServerThread) -> None:
        self.data = data
        self.url = server.url
        self.datadir = DataDir(data)
        self.genesis = self.datadir.genesis()
        self.admin = Identity.load(admin_key_path(self.datadir, "st-mary"))
        self.regulator = Identity.load(admin_key_path(self.datadir, "health-dept"))

    def client(self, who: Identity | None = None) -> SalusClient:
        return SalusClient(self.url, who)

    def state_rows(self) -> list[tuple]:
        conn = sqlite3.connect(self.datadir.ledger_file)
        rows = conn.execute("SELECT key, value FROM state ORDER BY key").fetchall()
        conn.close()
        return rows


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    data = tmp_path_factory.mktemp("node")
    init_datadir(data, "salus-api-test", [OrgSpec("st-mary", "hospital", "St Mary's"),
                                          OrgSpec("health-dept", "regulator", "Regulator")])
    served, node = node_server(data, block_max_wait_ms=5, custodians=())
    with served as server:
        yield Net(data, server)
    node.ledger.close()


@pytest.fixture(scope="module")
def alice(net: Net) -> Identity:
    alice = Identity.generate()
    with net.client(net.admin) as c:
        c.call("membership", "enrol", {"org": "st-mary", "member": alice.did, "roles": ["clinician"],
                                       "encryption_key": alice.encryption_did})
    return alice


def test_commit_receipt_and_offline_proof(net: Net, alice: Identity) -> None:
    with net.client(alice) as c:
        raw = c.sign("notary", "anchor", {"hash": "aa" * 32, "label": "x-ray-report"})
        receipt = c.submit(raw)
        assert receipt.valid and receipt.tx_id == leaf_hash(raw).hex()
        assert receipt.output == {"hash": "aa" * 32, "height": receipt.height}
        doc = c.tx(receipt.tx_id)
        assert doc["envelope"]["method"] == "anchor"
        assert doc["detail"]["rw"]["writes"][f"anchor/{'aa' * 32}"]
        result = verify_bundle(doc, net.genesis.orderer, "salus-api-test")
        assert result.kind == "inclusion"
        sth = c.verify_included(raw, net.genesis.orderer)
        assert sth.tree_size >= receipt.leaf_index + 1
        # The bundle through the CLI, offline, and its failure when tampered with.
        path = net.data / "bundle.json"
        path.write_text(json.dumps(doc))
        ok = CliRunner().invoke(cli, ["verify", "proof", str(path), "--orderer", net.genesis.orderer])
        assert ok.exit_code == 0, ok.output
        doc["inclusion"]["audit_path"][0] = "00" * 32
        path.write_text(json.dumps(doc))
        bad = CliRunner().invoke(cli, ["verify", "proof", str(path), "--orderer", net.genesis.orderer])
        assert bad.exit_code == 2 and "does NOT verify" in bad.output
        wrong_key = CliRunner().invoke(cli, ["verify", "proof", str(path), "--orderer", alice.did])
        assert wrong_key.exit_code == 2


def test_the_public_verifies_a_transaction_it_cannot_read(net: Net, alice: Identity) -> None:
    """Without a token, a transaction is its proof: leaf hash, tree head, inclusion path;
    `salus proof tx` saves that bundle and `salus verify proof` checks it offline. With
    the signer's key the bundle carries the transaction itself."""
    with net.client(alice) as c:
        receipt = c.call("notary", "anchor", {"hash": "ab" * 32})
    public = httpx.get(f"{net.url}/v1/tx/{receipt.tx_id}").json()
    assert {"tx", "envelope", "detail"}.isdisjoint(public) and public["leaf_hash"] == receipt.tx_id
    assert verify_bundle(public, net.genesis.orderer, "salus-api-test").kind == "inclusion"
    runner = CliRunner()
    for key in ([], ["--key", str(net.data / "alice.key")]):
        alice.save(net.data / "alice.key", overwrite=True)
        saved = runner.invoke(cli, ["proof", "tx", receipt.tx_id, "--node", net.url, *key])
        assert saved.exit_code == 0, saved.output
        bundle = json.loads(saved.output)
        assert ("tx" in bundle) == bool(key) and ("leaf_hash" in bundle) != bool(key)
        path = net.data / "public-bundle.json"
        path.write_text(saved.output)
        ok = runner.invoke(cli, ["verify", "proof", str(path), "--orderer", net.genesis.orderer])
        assert ok.exit_code == 0, ok.output
    block = httpx.get(f"{net.url}/v1/blocks/{receipt.height}").json()
    assert block["txs"] and all(set(t) == {"tx_id", "leaf_index", "code"} for t in block["txs"])


def test_log_endpoints_are_certificate_transparency_shaped(net: Net, alice: Identity) -> None:
    with net.client(alice) as c:
        old = c.sth()
        c.submit_many([c.sign("notary", "anchor", {"hash": f"{i:064x}"}) for i in range(1, 30)])
        new = c.verify_extends(old, net.genesis.orderer)
        assert new.tree_size == old.tree_size + 29
    sth = httpx.get(f"{net.url}/v1/log/sth").json()
    assert set(sth) >= {"tree_size", "root_hash", "timestamp", "signature"}
    # Entries are transactions' bytes: not the public's (a regulator's here); proofs are.
    assert httpx.get(f"{net.url}/v1/log/entries",
                     params={"start": 0, "end": 1}).json()["error"]["code"] == "UNAUTHENTICATED"
    with net.client(net.regulator) as regulator:
        leaves = regulator.entries(0, 10**9)
    assert len(leaves) == sth["tree_size"]
    root = bytes.fromhex(sth["root_hash"])
    for i in (0, len(leaves) // 2, len(leaves) - 1):
        proof = httpx.get(f"{net.url}/v1/log/proof", params={
            "hash": leaf_hash(leaves[i]).hex(), "tree_size": sth["tree_size"]}).json()
        assert proof["leaf_index"] == i
        verify_inclusion(i, sth["tree_size"], leaf_hash(leaves[i]),
                         [bytes.fromhex(p) for p in proof["audit_path"]], root)
    cons = httpx.get(f"{net.url}/v1/log/consistency",
                     params={"first": old.tree_size, "second": sth["tree_size"]}).json()
    verify_consistency(old.tree_size, sth["tree_size"], old.root_hash, root,
                       [bytes.fromhex(p) for p in cons["proof"]])
    with net.client(net.regulator) as regulator:
        token = regulator.token()
    for path, params in [("/v1/log/entries", {"start": 5, "end": 1}),
                         ("/v1/log/proof", {"hash": "zz", "tree_size": 1}),
                         ("/v1/log/consistency", {"first": 0, "second": 10**9})]:
        r = httpx.get(f"{net.url}{path}", params=params,
                      headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 400 and r.json()["error"]["code"] in {"BAD_RANGE", "BAD_REQUEST"}


def test_every_refusal_code_from_api_and_sdk_changes_nothing(net: Net, alice: Identity) -> None:
    stranger = Identity.generate()
    chain = net.genesis.chain_id
    now = int(time.time() * 1000)

    def sign(who, contract="notary", method="anchor", args=None, *, nonce=None, at=None, ch=chain):
        return transaction.encode(who, chain=ch, contract=contract, method=method,
                                  args={"hash": "bb" * 32} if args is None else args,
                                  nonce=time.time_ns() // 1000 if nonce is None else nonce,
                                  time=now if at is None else at)

    forged = bytearray(sign(alice))
    forged[5] ^= 1  # inside the signature
    committed = sign(alice, args={"hash": "cc" * 32})
    with net.client(alice) as c:
        c.submit(committed)
    refused_at_ingress = {
        Code.MALFORMED: b"\x00" * 64 + b"{not json",
        Code.TOO_LARGE: sign(alice, args={"hash": "dd" * 32, "label": "x" * 70_000}),
        Code.WRONG_CHAIN: sign(alice, ch="another-chain"),
        Code.BAD_SIGNATURE: bytes(forged),
        Code.UNKNOWN_CONTRACT: sign(alice, "nosuch"),
        Code.UNKNOWN_METHOD: sign(alice, method="nosuch"),
        Code.BAD_ARGUMENTS: sign(alice, args={"hash": "BB"}),
        Code.UNKNOWN_SIGNER: sign(stranger),
        Code.FORBIDDEN: sign(alice, "membership", "enrol",
                             {"org": "st-mary", "member": stranger.did, "roles": ["nurse"]}),
        Code.REPLAYED_NONCE: sign(alice, args={"hash": "ee" * 32}, nonce=1),
        Code.STALE: sign(alice, args={"hash": "ef" * 32}, at=now - 3_600_000),
        Code.NOT_FOUND: sign(net.admin, "membership", "grant_roles",
                             {"member": stranger.did, "roles": ["nurse"]}),
        Code.DUPLICATE: committed,
    }
    # What only the order can decide is kept in its block, as invalid.
    invalid_in_block = {
        Code.CONFLICT: sign(alice, args={"hash": "cc" * 32}),
    }
    before_state = net.state_rows()
    with net.client(alice) as c:
        size_before = c.status()["log_size"]
        receipts = c.submit_many(list(refused_at_ingress.values()))
        assert [r.code for r in receipts] == list(refused_at_ingress), [r.reason for r in receipts]
        assert all(r.status == "refused" and r.reason for r in receipts)
        assert c.status()["log_size"] == size_before  # refused: never ordered
        for code, raw in refused_at_ingress.items():
            with pytest.raises(TransactionRejected) as exc:
                c.submit(raw)
            assert exc.value.code == code
            r = httpx.post(f"{net.url}/v1/tx", json={"tx": base64.b64encode(raw).decode()})
            assert r.status_code == 422 and r.json()["error"]["code"] == code
            if code != Code.DUPLICATE:  # (that one is on the ledger: it is the first copy)
                assert httpx.get(f"{net.url}/v1/tx/{leaf_hash(raw).hex()}").status_code == 404
        assert c.status()["log_size"] == size_before
        receipts = c.submit_many(list(invalid_in_block.values()))
        assert [r.code for r in receipts] == list(invalid_in_block), [r.reason for r in receipts]
        assert all(r.status == "committed" and r.reason for r in receipts)
        for r in receipts:  # kept in the block with its code
            assert c.tx(r.tx_id)["receipt"]["code"] == r.code
        with pytest.raises(TransactionRejected) as exc:
            c.call("notary", "anchor", {"hash": "cc" * 32})
        assert exc.value.code == Code.CONFLICT
    after = [row for row in net.state_rows() if not row[0].startswith("nonce/")]
    assert after == [row for row in before_state if not row[0].startswith("nonce/")]
    nonces_after = {k: v for k, v in net.state_rows() if k.startswith("nonce/")}
    assert nonces_after == {k: v for k, v in before_state if k.startswith("nonce/")}


def test_admitted_at_ingress_but_not_by_the_block_is_refused_and_not_kept(net: Net) -> None:
    """Ingress judges against the head; a block judges again, in order. A key revoked
    earlier in the same block makes a later transaction of that key fail admission: the
    block drops it (it is in no log) and its submitter gets a refusal."""
    bob = Identity.generate()
    with net.client(net.admin) as admin:
        admin.call("membership", "enrol", {"org": "st-mary", "member": bob.did,
                                           "roles": ["nurse"]})
        revoke = admin.sign("membership", "revoke_key", {"key": bob.did,
                                                         "reason": "key_compromise"})
    with net.client(bob) as c:
        anchor = c.sign("notary", "anchor", {"hash": "ab" * 32})
        size = c.status()["log_size"]
        first, second = c.submit_many([revoke, anchor])
    assert first.status == "committed" and first.valid
    assert (second.status, second.code) == ("refused", Code.KEY_NOT_ACTIVE), second
    assert httpx.get(f"{net.url}/v1/tx/{second.tx_id}").status_code == 404
    with net.client() as c:
        assert c.status()["log_size"] == size + 1


def test_refusals_in_a_large_batch_get_the_same_verdicts_as_alone(
        net: Net, alice: Identity) -> None:
    """A batch of 16 or more is verified by the workers, a smaller one in the node; either
    way each transaction is admitted on its own: same verdicts, and nothing refused
    reaches the log while the valid ones beside it are kept."""
    stranger = Identity.generate()
    chain, now = net.genesis.chain_id, int(time.time() * 1000)

    def sign(who, contract="notary", method="anchor", args=None, nonce=None, at=None):
        return transaction.encode(who, chain=chain, contract=contract, method=method,
                                  args=args, nonce=nonce or time.time_ns() // 1000,
                                  time=at or now)

    def refusals() -> list[bytes]:
        return [sign(stranger, args={"hash": "aa" * 32}),
                sign(alice, args={"hash": "Ivy Smith, DOB 1980-01-01: HIV positive"}),
                sign(alice, "membership", "enrol", {"org": "st-mary", "member": stranger.did,
                                                    "roles": ["nurse"]}),
                sign(alice, method="nosuch", args={}),
                sign(alice, args={"hash": "ab" * 32}, at=now - 3_600_000),
                sign(alice, args={"hash": "ac" * 32}, nonce=1)]

    want = ["UNKNOWN_SIGNER", "BAD_ARGUMENTS", "FORBIDDEN", "UNKNOWN_METHOD", "STALE",
            "REPLAYED_NONCE"]
    with net.client(alice) as c:
        c.call("notary", "anchor", {"hash": "ad" * 32})  # so that nonce 1 is a used one
        size = c.status()["log_size"]
        small = c.submit_many(refusals())
        assert len(small) < signatures._IN_LINE_BELOW
        valid = [sign(alice, args={"hash": hashlib.sha256(b"%d" % i).hexdigest()})
                 for i in range(12)]
        batch = refusals() + valid
        assert len(batch) >= signatures._IN_LINE_BELOW
        large = c.submit_many(batch)
        assert [r.code for r in small] == want
        assert [r.code for r in large[:6]] == want and all(r.status == "refused"
                                                             for r in large[:6])
        assert all(r.valid for r in large[6:]), large[6:]
        assert c.status()["log_size"] == size + len(valid)


def test_bad_requests_get_stable_codes(net: Net) -> None:
    cases = [
        ("post", "/v1/tx", {"json": {"tx": "not base64!"}}, 400, "BAD_REQUEST"),
        ("post", "/v1/tx", {"json": {"nope": 1}}, 422, "BAD_REQUEST"),
        ("post", "/v1/txs", {"content": b"{", "headers": {"content-type": "application/json"}},
         400, "INVALID_JSON"),
        ("post", "/v1/tx", {"content": b'{"tx": "AA==", "tx": "AA=="}'}, 400, "INVALID_JSON"),
        ("get", "/v1/tx/" + "00" * 32, {}, 404, "NOT_FOUND"),
        ("get", "/v1/tx/xyz", {}, 400, "BAD_REQUEST"),
        ("get", "/v1/blocks/999999", {}, 404, "NOT_FOUND"),
        ("get", "/v1/nowhere", {}, 404, "NOT_FOUND"),
        ("get", "/v1/state/member/x", {}, 401, "UNAUTHENTICATED"),
        ("get", "/v1/members", {"headers": {"authorization": "Bearer nonsense"}}, 401,
         "INVALID_TOKEN"),
    ]
    for method, path, kw, status, code in cases:
        r = httpx.request(method, f"{net.url}{path}", **kw)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (path, r.text)
        assert r.json()["error"]["reason"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400))
def test_random_bytes_are_refused_and_node_keeps_serving(net: Net, blob: bytes) -> None:
    size = httpx.get(f"{net.url}/v1/status").json()["log_size"]
    r = httpx.post(f"{net.url}/v1/txs", json={"txs": [base64.b64encode(blob).decode()]})
    assert r.status_code == 200
    (receipt,) = r.json()["receipts"]
    assert receipt["status"] == "refused" and receipt["code"] in {"MALFORMED", "BAD_SIGNATURE"}
    assert httpx.get(f"{net.url}/v1/status").json()["log_size"] == size


def test_tokens(net: Net, alice: Identity) -> None:
    with net.client(alice) as c:
        me = c.members("st-mary")
        assert alice.did in [m["id"] for m in me["members"]]
        assert {o["id"] for o in me["organisations"]} == {"st-mary", "health-dept"}
        assert c.member(alice.did)["org"] == "st-mary"
        with pytest.raises(SalusError) as raw:  # raw state is for auditors and peer operators
            c.state(f"member/{alice.did}")
        assert (raw.value.status, raw.value.code) == (403, "FORBIDDEN_READ")
        token = c.token()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["roles"] == ["clinician"] and payload["exp"] - payload["iat"] <= 300
    token_url = f"{net.url}/v1/auth/token"

    def ask(assertion: str) -> httpx.Response:
        return httpx.post(token_url, data={"grant_type": "client_credentials",
                                           "client_assertion_type": ASSERTION_TYPE,
                                           "client_assertion": assertion})

    now = int(time.time())
    once = client_assertion(alice, token_url, now)
    assert ask(once).status_code == 200
    replay = ask(once)
    assert replay.status_code == 400 and "replay" in replay.json()["error"]["reason"]
    stranger = ask(client_assertion(Identity.generate(), token_url, now))
    assert stranger.status_code == 400 and stranger.json()["error"]["code"] == "INVALID_CLIENT"
    wrong_aud = ask(client_assertion(alice, "http://elsewhere/v1/auth/token", now))
    assert wrong_aud.status_code == 400
    long_lived = ask(client_assertion(alice, token_url, now, lifetime=3600))
    assert long_lived.status_code == 400
    # A token the node did not sign is refused, even with valid-looking claims.
    fake = sign_jwt(alice, {**payload, "iss": net.genesis.orderer})
    r = httpx.get(f"{net.url}/v1/members", headers={"authorization": f"Bearer {fake}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_TOKEN"
    assert httpx.get(f"{net.url}/.well-known/smart-configuration").json()["token_endpoint"] == token_url


def test_sdk_errors_and_health(net: Net) -> None:
    with SalusClient("http://127.0.0.1:9") as down:
        with pytest.raises(SalusError) as exc:
            down.status()
        assert exc.value.code == "UNREACHABLE"
    with net.client() as anon, pytest.raises(SalusError) as exc:
        anon.call("notary", "anchor", {"hash": "00" * 32})
    assert exc.value.code == "NO_KEY"
    assert httpx.get(f"{net.url}/health").json()["status"] == "ok"
    metrics = httpx.get(f"{net.url}/metrics").text
    assert "salus_tx_committed_total" in metrics and "salus_height" in metrics
    openapi = httpx.get(f"{net.url}/openapi.json").json()
    assert openapi["paths"]["/v1/log/sth"]


def test_contract_schemas_are_published_as_admission_checks_them(net: Net) -> None:
    """The API publishes each method's rule and argument schema, the same schema ingress
    checks: an argument the schema refuses is refused, with the argument named."""
    listed = httpx.get(f"{net.url}/v1/contracts").json()["methods"]
    anchor = next(m for m in listed if (m["contract"], m["method"]) == ("notary", "anchor"))
    assert anchor["arguments"]["hash"]["pattern"] == "^(?:[0-9a-f]{64})$"
    assert httpx.get(f"{net.url}/v1/contracts/notary/anchor").json() == anchor
    missing = httpx.get(f"{net.url}/v1/contracts/notary/nosuch")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "UNKNOWN_METHOD"
    components = httpx.get(f"{net.url}/openapi.json").json()["components"]["schemas"]
    assert components["membership.enrol"]["properties"]["roles"]["maxItems"] >= 1
    assert {f"{m['contract']}.{m['method']}" for m in listed} <= set(components)
