"""Credential building blocks: batch trees, the bitstring status list, schemas."""

from __future__ import annotations

import base64
import copy
import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salus.credentials import batch, status_list
from salus.credentials.types import AAMC_CORE_EPAS, ISSUER_ORG_TYPES, SchemaError, check_schema
from salus.ledger.log import ProofError, leaf_hash


@given(st.integers(1, 70), st.data())
def test_every_leaf_of_a_batch_leads_to_its_root(n, data) -> None:
    leaves = [leaf_hash(b"credential %d" % i) for i in range(n)]
    tree = batch.build(leaves)
    i = data.draw(st.integers(0, n - 1))
    assert batch.root_of(leaves[i], i, n, tree.paths[i]) == tree.root
    other = leaf_hash(b"not in the batch")
    assert batch.root_of(other, i, n, tree.paths[i]) != tree.root


def test_a_batch_root_matches_the_rfc9162_tree_hash() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    from salus.ledger.log import node_hash
    assert batch.build([a, b, c]).root == node_hash(node_hash(a, b), c)
    with pytest.raises(ProofError):
        batch.root_of(a, 5, 3, [])
    with pytest.raises(ValueError):
        batch.build([])


def test_status_list_bits_are_counted_from_the_left_and_round_trip() -> None:
    encoded = status_list.encode({0, 9, 131_071})
    bits = status_list.decode(encoded)
    assert len(bits) * 8 == status_list.MIN_ENTRIES
    assert bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01
    assert [status_list.bit(bits, i) for i in (0, 1, 9, 131_071)] == [True, False, True, True]
    assert encoded == status_list.encode({131_071, 9, 0})  # deterministic (gzip mtime 0)
    assert encoded.startswith("u") and "=" not in encoded


@pytest.mark.parametrize("encoded, reason", [
    ("zabc", "multibase"),
    ("u!!!!", "base64url"),
    ("u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="), "GZIP"),
    ("u" + base64.urlsafe_b64encode(gzip.compress(b"\x00" * 10, mtime=0)).decode().rstrip("="), "fewer"),
])
def test_bad_status_lists_are_refused(encoded, reason) -> None:
    with pytest.raises(status_list.StatusListError, match=reason):
        status_list.decode(encoded)


def test_random_indices_are_unused_and_spread() -> None:
    taken: set[int] = set()
    for _ in range(200):
        taken.add(status_list.random_index(status_list.MIN_ENTRIES, taken))
    assert len(taken) == 200 and max(taken) - min(taken) > status_list.MIN_ENTRIES // 2
    with pytest.raises(status_list.StatusListError, match="full"):
        status_list.random_index(3, {0, 1, 2})


def _license() -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "LicenseCredential"],
        "issuer": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkkogenG8VK7Mgy2uzkojoVvCTC8tMHVmoFXswhRuvdDAG",
            "achievement": {"type": ["Achievement"], "achievementType": "License",
                            "name": "Physician and Surgeon"},
            "jurisdiction": "US-MA", "licenseNumber": "MD-204411", "licenseStatus": "active"},
        "credentialStatus": [{"id": "urn:salus:status:l1#77", "type": "BitstringStatusListEntry",
                              "statusPurpose": "revocation", "statusListIndex": "77",
                              "statusListCredential": "urn:salus:status:l1"}]}


@pytest.mark.parametrize("change, where", [
    (lambda c: c.pop("issuer"), "issuer"),
    (lambda c: c.update(type=["VerifiableCredential", "CastleCredential"]), "type"),
    (lambda c: c["credentialSubject"].update(licenseStatus="lapsed"), "licenseStatus"),
    (lambda c: c["credentialSubject"].update(ssn="123-45-6789"), "credentialSubject"),
    (lambda c: c.update(validFrom="yesterday"), "validFrom"),
    (lambda c: c.update({"@context": ["https://example.org"]}), "@context"),
    (lambda c: c["credentialStatus"][0].update(statusListIndex="07"), "statusListIndex"),
])
def test_schemas_refuse_malformed_credentials_saying_where(change, where) -> None:
    good = _license()
    assert check_schema(good) == "LicenseCredential"
    bad = copy.deepcopy(good)
    change(bad)
    with pytest.raises(SchemaError, match=where):
        check_schema(bad)


def test_issuer_policy_and_epas() -> None:
    assert ISSUER_ORG_TYPES["LicenseCredential"] == ("board",)
    assert "school" not in ISSUER_ORG_TYPES["LicenseCredential"]
    assert sorted(AAMC_CORE_EPAS) == list(range(1, 14))
