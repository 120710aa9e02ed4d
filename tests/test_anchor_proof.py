"""A batch anchored on a real ledger: each credential proves its anchoring offline."""

from __future__ import annotations

import copy

import pytest

from conftest import Chain, ident
from salus.credentials import batch
from salus.credentials.anchor_proof import AnchorEvidence, AnchorInvalid, attach, check, split
from salus.credentials.data_integrity import add_proof
from salus.ledger.log import SignedTreeHead


def _license(i: int, issuer: str) -> dict:
    return {"@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "type": ["VerifiableCredential", "LicenseCredential"], "issuer": issuer,
            "validFrom": "2026-11-21T00:00:00Z",
            "credentialSubject": {"id": ident(f"physician-{i}").did, "licenseNumber": f"MD-{i}"}}


@pytest.fixture
def issued(chain: Chain) -> tuple[Chain, list[dict]]:
    admin, registrar = ident("medboard-admin"), ident("registrar")
    chain.commit(chain.tx(admin, "membership", "enrol",
                          {"org": "medboard", "member": registrar.did, "roles": ["issuer"]}))
    signed = [add_proof(_license(i, registrar.did), registrar, created="2026-11-21T00:00:00Z")
              for i in range(5)]
    tree = batch.build([batch.credential_leaf(c) for c in signed])
    raw = chain.tx(registrar, "credentials", "anchor",
                   {"root": tree.root.hex(), "size": tree.size, "types": ["LicenseCredential"]})
    block = chain.commit(raw)
    assert block.results[0].code == "VALID", block.results[0].reason
    chain.commit(chain.tx(registrar, "notary", "anchor", {"hash": "ab" * 32}))  # the log grows on
    row = chain.ledger.store.tx_by_id(block.results[0].id)
    head = chain.ledger.sth()
    evidence = AnchorEvidence(raw, row.seq, chain.ledger.inclusion_proof(row.seq, head.tree_size),
                              head)
    return chain, [attach(c, tree, i, evidence) for i, c in enumerate(signed)]


def test_every_credential_of_the_batch_proves_its_anchor(issued) -> None:
    chain, creds = issued
    for cred in creds:
        issuer_signed, anchor = split(cred)
        found = check(issuer_signed, anchor, chain.orderer.did, chain.genesis.chain_id)
        assert found.signer == ident("registrar").did
        assert found.root.hex() == anchor["batchRoot"]


def _fails(cred: dict, step: str, chain: Chain, match: str | None = None) -> None:
    issuer_signed, anchor = split(cred)
    with pytest.raises(AnchorInvalid, match=match) as err:
        check(issuer_signed, anchor, chain.orderer.did, chain.genesis.chain_id)
    assert err.value.step == step, err.value


def test_each_forgery_fails_at_its_step(issued) -> None:
    chain, creds = issued
    cred = copy.deepcopy(creds[0])
    cred["credentialSubject"]["licenseNumber"] = "MD-999"
    _fails(cred, "merkle", chain, "does not lead")

    other = copy.deepcopy(creds[0])  # a path for a different root
    other["proof"][1]["batchRoot"] = "00" * 32
    _fails(other, "merkle", chain)

    swapped = copy.deepcopy(creds[0])  # another credential's path
    swapped["proof"][1]["path"] = creds[1]["proof"][1]["path"]
    _fails(swapped, "merkle", chain)

    moved = copy.deepcopy(creds[0])  # the anchor tx is not where it claims in the log
    moved["proof"][1]["logIndex"] -= 1
    _fails(moved, "log", chain, "not in the log")

    forged_head = copy.deepcopy(creds[0])
    head = SignedTreeHead.from_json(creds[0]["proof"][1]["treeHead"])
    forged_head["proof"][1]["treeHead"] = SignedTreeHead.sign(
        ident("mallory"), head.chain_id, head.tree_size, head.root_hash, head.timestamp).to_json()
    _fails(forged_head, "log", chain, "signature")

    wrong_tx = copy.deepcopy(creds[0])
    wrong_tx["proof"][1]["anchorTx"] = "AAAA"
    _fails(wrong_tx, "anchor", chain)

    for bad in (lambda a: a.pop("path"), lambda a: a.update(leafIndex="0"),
                lambda a: a.update(inclusion=["zz"])):
        broken = copy.deepcopy(creds[0])
        bad(broken["proof"][1])
        _fails(broken, "format", chain)
    with pytest.raises(AnchorInvalid, match="two proofs"):
        split({**creds[0], "proof": creds[0]["proof"][0]})
