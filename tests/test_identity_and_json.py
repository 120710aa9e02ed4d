"""Keys, did:key, canonical JSON and genesis validation."""

from __future__ import annotations

import json
import os
import stat

import based58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salus.canonical import JSONError, jcs, loads_strict, state_bytes
from salus.identity import (
    Identity,
    KeyFileError,
    did_from_ed25519,
    did_from_x25519,
    ed25519_from_did,
    x25519_from_did,
)
from salus.identity.did import DIDError
from salus.ledger import genesis as genesis_mod
from salus.ledger import transaction
from salus.ledger.codes import Code, Rejected


def test_did_key_round_trip_and_known_vector() -> None:
    # A published pair (did:key document with publicKeyBase58 for both key types).
    ed_key = based58.b58decode(b"8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K")
    x_key = based58.b58decode(b"79CXkde3j8TNuMXxPdV7nLUrT2g7JAEjH5TreyVY7GEZ")
    assert did_from_ed25519(ed_key) == "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th"
    assert did_from_x25519(x_key) == "did:key:z6LShpNhGwSupbB7zjuivH156vhLJBDDzmQtA4BY9S94pe1K"
    assert ed25519_from_did("did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th") == ed_key
    ident = Identity.generate()
    assert ident.did.startswith("did:key:z6Mk")
    assert ident.encryption_did.startswith("did:key:z6LS")
    assert x25519_from_did(ident.encryption_did) == bytes(ident.encryption_key.public_key)
    for bad in ["did:web:x", "did:key:z123", ident.encryption_did, 5]:
        with pytest.raises(DIDError):
            ed25519_from_did(bad)


def test_key_file_is_private_and_refused_when_not(tmp_path) -> None:
    ident = Identity.generate()
    path = ident.save(tmp_path / "k.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Identity.load(path).did == ident.did
    with pytest.raises(KeyFileError, match="exists"):
        ident.save(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        Identity.load(path)
    os.chmod(path, 0o600)
    doc = json.loads(path.read_text())
    doc["did"] = Identity.generate().did
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="does not match"):
        Identity.load(path)
    with pytest.raises(KeyFileError, match="no key file"):
        Identity.load(tmp_path / "missing.key")


def test_strict_json_refuses_ambiguity() -> None:
    assert loads_strict(b'{"a":[1,"x",true,null]}') == {"a": [1, "x", True, None]}
    for bad in [b'{"a":1.5}', b'{"a":1e3}', b'{"a":NaN}', b'{"a":1,"a":2}',
                b'{"a":9007199254740992}', b"\xff", b"[1,"]:
        with pytest.raises(JSONError):
            loads_strict(bad)


def test_jcs_is_rfc8785() -> None:
    # RFC 8785 section 3.2.3: keys sorted by UTF-16 code units, no whitespace.
    assert jcs({"b": 1, "a": [True, None, "\u20ac"]}) == '{"a":[true,null,"€"],"b":1}'.encode()
    with pytest.raises(JSONError):
        jcs({"x": float("nan")})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_state_bytes_is_deterministic_and_round_trips(value) -> None:
    encoded = state_bytes(value)
    assert json.loads(encoded) == value
    assert state_bytes(json.loads(encoded)) == encoded


@given(st.binary(max_size=300))
def test_decode_never_crashes_on_garbage(blob: bytes) -> None:
    try:
        transaction.decode(blob)
    except Rejected as exc:
        assert exc.code in {Code.MALFORMED, Code.TOO_LARGE} and exc.reason


def test_genesis_validation() -> None:
    admin = Identity.generate().did
    good = genesis_mod.build("c", admin, [{"id": "h", "name": "H", "type": "hospital",
                                           "admins": [{"did": admin}]}], 1)
    assert genesis_mod.load(json.loads(json.dumps(good.doc))).hash == good.hash
    bad_docs = [
        {**good.doc, "format": "x"},
        {**good.doc, "chain_id": 5},
        {**good.doc, "params": {"max_tx_bytes": 1.5}},
        {**good.doc, "organisations": [{**good.doc["organisations"][0], "type": "spaceship"}]},
        {**good.doc, "organisations": good.doc["organisations"] * 2},
        {**good.doc, "organisations": [{**good.doc["organisations"][0], "admins": []}]},
        {**good.doc, "organisations": [{**good.doc["organisations"][0],
                                        "admins": [{"did": "did:key:nope"}]}]},
    ]
    for doc in bad_docs:
        with pytest.raises(genesis_mod.GenesisError):
            genesis_mod.load(doc)


state_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.text(max_size=20) | st.text(st.characters(max_codepoint=0x80), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(st.characters(max_codepoint=0x80), max_size=8), inner, max_size=4),
    max_leaves=20)


@given(state_values)
def test_state_bytes_are_the_original_json_encoding(value) -> None:
    # State is hashed: the fast encoder must give json's sort_keys/ensure_ascii bytes
    # exactly, control characters, DEL, non-ASCII and integers past 64 bits included.
    assert state_bytes(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=True).encode()


def test_state_bytes_of_what_is_not_plain_json_is_json_s() -> None:
    class Code(str):
        pass

    assert state_bytes({"c": Code("A1"), "d": "\x7f\u00e9"}) == b'{"c":"A1","d":"\\u007f\\u00e9"}'
    with pytest.raises(TypeError):
        state_bytes({"x": {1, 2}})


@given(st.integers(-719_162, 2_932_896))  # 0001-01-01 .. 9999-12-31, datetime's range
def test_block_calendar_is_the_proleptic_gregorian_one(days: int) -> None:
    import datetime as dt

    from salus.ledger.calendar import civil_from_days, days_from_civil
    expected = dt.date(1970, 1, 1) + dt.timedelta(days=days)
    assert civil_from_days(days) == (expected.year, expected.month, expected.day)
    assert days_from_civil(expected.year, expected.month, expected.day) == days
