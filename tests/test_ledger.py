"""The ledger core: execution, validation codes, membership history, audit, tamper."""

from __future__ import annotations

import sqlite3

from conftest import Chain, ident
from salus.ledger.audit import audit
from salus.ledger.codes import Code
from salus.ledger.ledger import Ledger
from salus.ledger.log import leaf_hash, verify_consistency, verify_inclusion
from salus.ledger.members import has_role, key_valid_at, member_of_key
from salus.node.contracts import registry

ADMIN = ident("st-mary-admin")
DOC = "ab" * 32


def codes(block) -> list[str]:
    return [r.code for r in block.results]


def test_enrol_register_and_anchor(chain: Chain) -> None:
    alice, pat = ident("dr-alice"), ident("patient-1")
    b = chain.commit(
        chain.tx(ADMIN, "membership", "enrol",
                 {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}),
        chain.tx(pat, "membership", "register_patient", {"encryption_key": pat.encryption_did}),
        chain.tx(alice, "notary", "anchor", {"hash": DOC, "label": "discharge"}),
    )
    assert codes(b) == ["VALID"] * 3, [r.reason for r in b.results]
    get = chain.ledger.state_value
    assert has_role(get, member_of_key(get, alice.did), "clinician", "st-mary", b.header.height)
    assert not has_role(get, member_of_key(get, alice.did), "clinician", "medboard", b.header.height)
    assert get(f"anchor/{DOC}")["by"] == alice.did
    assert get(f"member/{pat.did}")["kind"] == "patient"
    assert b.header.log_size == 3 and chain.ledger.sth().tree_size == 3


def test_every_validation_code_changes_nothing(chain: Chain) -> None:
    alice, stranger = ident("dr-alice"), ident("stranger")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    ok = chain.tx(alice, "notary", "anchor", {"hash": DOC})
    chain.commit(ok)
    before = chain.ledger.head.state_hash
    log_before = chain.ledger.log_size
    bad_sig = bytearray(chain.tx(alice, "notary", "anchor", {"hash": "cd" * 32}))
    bad_sig[5] ^= 1
    # Failing admission: dropped, on every peer alike; never in the log.
    unadmitted = {
        Code.MALFORMED: b"\x00" * 64 + b"{not json",
        Code.WRONG_CHAIN: chain.tx(alice, "notary", "anchor", {"hash": "01" * 32}, chain="other"),
        Code.BAD_SIGNATURE: bytes(bad_sig),
        Code.UNKNOWN_CONTRACT: chain.tx(alice, "nosuch", "anchor", {}),
        Code.UNKNOWN_METHOD: chain.tx(alice, "notary", "nosuch", {}),
        Code.BAD_ARGUMENTS: chain.tx(alice, "notary", "anchor", {"hash": 5}),
        Code.UNKNOWN_SIGNER: chain.tx(stranger, "notary", "anchor", {"hash": "03" * 32}),
        Code.FORBIDDEN: chain.tx(alice, "membership", "enrol",
                                 {"org": "st-mary", "member": stranger.did, "roles": ["clinician"]}),
        Code.NOT_FOUND: chain.tx(ADMIN, "membership", "grant_roles",
                                 {"member": stranger.did, "roles": ["nurse"]}),
    }
    # Failing on what came first: kept in the block as invalid, changing nothing.
    ordered = {
        Code.REPLAYED_NONCE: chain.tx(alice, "notary", "anchor", {"hash": "02" * 32}, nonce=1),
        Code.CONFLICT: chain.tx(alice, "notary", "anchor", {"hash": DOC}),
        Code.STALE: chain.tx(alice, "notary", "anchor", {"hash": "04" * 32}, time=1),
    }
    block = chain.commit(*unadmitted.values(), *ordered.values())
    assert chain.codes(block) == [*unadmitted, *ordered]
    assert chain.kept(block) == list(ordered)
    assert all(r.reason for r in [*block.results, *block.dropped])
    assert chain.ledger.log_size == log_before + len(ordered)
    stored = {row.raw for row in chain.ledger.store.txs_of_block(block.header.height)}
    assert stored == set(ordered.values())  # nothing unadmitted reaches the ledger file
    assert chain.ledger.head.state_hash != before  # chained, so it moves ...
    assert not any(r.rw for r in block.results)  # ... but no transaction wrote anything
    assert chain.ledger.state_value(f"anchor/{'01' * 32}") is None
    dup = chain.commit(ok)
    assert codes(dup) == [Code.DUPLICATE]
    empty = chain.commit(unadmitted[Code.UNKNOWN_SIGNER])
    assert empty.header.tx_count == 0 and chain.codes(empty) == [Code.UNKNOWN_SIGNER]
    assert audit(chain.ledger.store, registry()).ok


def test_key_rotation_and_revocation_history(chain: Chain) -> None:
    alice, new, newer = ident("dr-alice"), ident("dr-alice-2"), ident("dr-alice-3")
    b1 = chain.commit(chain.tx(ADMIN, "membership", "enrol",
                               {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    b2 = chain.commit(chain.tx(alice, "membership", "rotate_key", {"new_key": new.did}))
    assert codes(b2) == ["VALID"]
    b3 = chain.commit(chain.tx(alice, "notary", "anchor", {"hash": DOC}),
                      chain.tx(new, "notary", "anchor", {"hash": DOC}))
    assert chain.codes(b3) == [Code.KEY_NOT_ACTIVE, "VALID"] and codes(b3) == ["VALID"]
    b4 = chain.commit(chain.tx(ADMIN, "membership", "revoke_key",
                               {"key": new.did, "reason": "key_lost"}))
    assert codes(b4) == ["VALID"]
    assert chain.codes(chain.commit(chain.tx(new, "notary", "anchor", {"hash": "ee" * 32}))) == [
        Code.KEY_NOT_ACTIVE]
    b6 = chain.commit(chain.tx(ADMIN, "membership", "rotate_key",
                               {"new_key": newer.did, "member": alice.did}))
    assert codes(b6) == ["VALID"]
    member = chain.ledger.state_value(f"member/{alice.did}")
    assert member["id"] == alice.did and len(member["keys"]) == 3
    h1, h2, h3, h4 = (b.header.height for b in (b1, b2, b3, b4))
    assert key_valid_at(member, alice.did, h1) and not key_valid_at(member, alice.did, h2)
    assert key_valid_at(member, new.did, h3) and not key_valid_at(member, new.did, h4)
    assert key_valid_at(member, newer.did, b6.header.height)


def test_removed_organisation_loses_roles(chain: Chain) -> None:
    alice = ident("dr-alice")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    forbidden = chain.commit(chain.tx(ADMIN, "membership", "remove_organisation",
                                      {"id": "medboard", "reason": "closed"}))
    assert chain.codes(forbidden) == [Code.FORBIDDEN] and codes(forbidden) == []
    b = chain.commit(chain.tx(ident("regulator-admin"), "membership", "remove_organisation",
                              {"id": "st-mary", "reason": "licence_withdrawn"}))
    assert codes(b) == ["VALID"]
    get = chain.ledger.state_value
    m = member_of_key(get, alice.did)
    assert has_role(get, m, "clinician", "st-mary", b.header.height - 1)
    assert not has_role(get, m, "clinician", "st-mary", b.header.height)


def test_proofs_from_storage_verify(chain: Chain) -> None:
    alice = ident("dr-alice")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    raws = []
    for i in range(40):
        raw = chain.tx(alice, "notary", "anchor", {"hash": f"{i:064x}"})
        raws.append(raw)
        if i % 7 == 0:
            first = chain.ledger.sth()
            chain.commit(*raws)
            raws = []
            second = chain.ledger.sth()
            second.verify(chain.orderer.did)
            if first.tree_size:
                verify_consistency(first.tree_size, second.tree_size, first.root_hash,
                                   second.root_hash,
                                   chain.ledger.consistency_proof(first.tree_size, second.tree_size))
    sth = chain.ledger.sth()
    for seq in range(sth.tree_size):
        row = chain.ledger.store.tx_by_seq(seq)
        verify_inclusion(seq, sth.tree_size, leaf_hash(row.raw),
                         chain.ledger.inclusion_proof(seq, sth.tree_size), sth.root_hash)


def test_reopen_and_determinism(chain: Chain, tmp_path) -> None:
    alice = ident("dr-alice")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    for i in range(5):
        chain.commit(chain.tx(alice, "notary", "anchor", {"hash": f"{i:064x}"}))
    # A second peer fed the same blocks reaches the same state hash.
    twin = Ledger.create(tmp_path / "twin.db", chain.genesis, registry(), chain.orderer)
    for h in range(1, chain.ledger.height + 1):
        _, header = chain.ledger.block(h)
        rows = chain.ledger.store.txs_of_block(h)
        decoded = [twin.executor.decode(r.raw) for r in rows]
        twin.commit(header.time, decoded, [True] * len(decoded))
        assert twin.head.state_hash == header.state_hash
        assert twin.head.log_root == header.log_root
    twin.close()
    path = chain.ledger.store.path
    head = chain.ledger.head
    chain.ledger.close()
    reopened = Ledger.open(path, registry(), chain.orderer)
    assert reopened.head == head
    chain.ledger = reopened


def _tamper(path, sql: str, *params) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def _busy_chain(chain: Chain) -> tuple[int, int]:
    alice = ident("dr-alice")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    for i in range(6):
        chain.commit(chain.tx(alice, "notary", "anchor", {"hash": f"{i:064x}"}))
    target = chain.ledger.store.tx_by_seq(3)
    return target.height, target.seq


def test_tampered_transaction_is_named(chain: Chain) -> None:
    height, seq = _busy_chain(chain)
    row = chain.ledger.store.tx_by_seq(seq)
    forged = row.raw.replace(b'"hash":"00', b'"hash":"ff')
    _tamper(chain.ledger.store.path, "UPDATE txs SET raw=? WHERE seq=?", forged, seq)
    report = audit(chain.ledger.store, registry())
    assert not report.ok and report.height == height, report


def test_tampered_block_is_named(chain: Chain) -> None:
    _busy_chain(chain)
    header = chain.ledger.store.block(4).header.replace(b'"time":', b'"time":1')
    _tamper(chain.ledger.store.path, "UPDATE blocks SET header=? WHERE height=4", header)
    report = audit(chain.ledger.store, registry())
    assert not report.ok and report.height == 4, report


def test_tampered_state_row_is_named(chain: Chain) -> None:
    _busy_chain(chain)
    key = f"anchor/{2:064x}"
    written = chain.ledger.store.state_row(key)[1]
    _tamper(chain.ledger.store.path, "UPDATE state SET value=? WHERE key=?",
            b'{"by":"someone else"}', key)
    report = audit(chain.ledger.store, registry())
    assert not report.ok and report.height == written and key in report.problem, report


def test_tampered_code_and_log_node_are_named(chain: Chain) -> None:
    height, seq = _busy_chain(chain)
    _tamper(chain.ledger.store.path, "UPDATE txs SET code='FORBIDDEN' WHERE seq=?", seq)
    report = audit(chain.ledger.store, registry())
    assert not report.ok and report.height == height, report
    _tamper(chain.ledger.store.path, "UPDATE txs SET code='VALID' WHERE seq=?", seq)
    assert audit(chain.ledger.store, registry()).ok
    _tamper(chain.ledger.store.path, "UPDATE log_nodes SET hash=zeroblob(32) WHERE level=1 AND idx=1")
    report = audit(chain.ledger.store, registry())
    assert not report.ok and report.height == chain.ledger.store.tx_by_seq(3).height, report


def test_historical_tree_heads_exist_exactly_at_block_boundaries(chain: Chain) -> None:
    alice = ident("dr-alice")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    sizes = []
    for n in (3, 1, 4):
        chain.commit(*[chain.tx(alice, "notary", "anchor", {"hash": f"{len(sizes)}{i:063x}"})
                       for i in range(n)])
        sizes.append(chain.ledger.log_size)
        chain.commit(chain.tx(alice, "notary", "anchor", {"hash": f"f{len(sizes)}{0:062x}"}))
        sizes.append(chain.ledger.log_size)
    assert chain.ledger.sth_at(0) is not None
    for size in range(1, chain.ledger.log_size + 1):
        sth = chain.ledger.sth_at(size)
        if size in sizes or size == 1:
            assert sth is not None and sth.tree_size == size
            sth.verify(chain.orderer.did)
        else:
            assert sth is None


def test_a_read_that_commits_overtook_is_not_cached(chain: Chain, monkeypatch) -> None:
    """Admission at ingress reads committed state on another thread than the commits.
    A value it read from the store before blocks changed that key must not enter the
    cache after them (here the cache was also emptied by the second block, as a full one
    is), or ingress would go on judging nonces, or roles, by old state."""
    alice = ident("dr-alice")
    chain.commit(chain.tx(ADMIN, "membership", "enrol",
                          {"org": "st-mary", "member": alice.did, "roles": ["clinician"]}))
    ledger = chain.ledger
    monkeypatch.setattr("salus.ledger.ledger._STATE_CACHE_LIMIT", 4)
    key = f"nonce/{alice.did}"
    store_read = ledger.store.state_row

    def read_then_blocks_land(k: str):
        row = store_read(k)  # what ingress saw ...
        if k == key:  # ... then, before it files the answer, alice's nonce is used
            block = chain.commit(chain.tx(alice, "notary", "anchor", {"hash": DOC}))
            later = chain.commit(chain.tx(ADMIN, "notary", "anchor", {"hash": "cd" * 32}))
            assert codes(block) == codes(later) == ["VALID"]
        return row

    monkeypatch.setattr(ledger.store, "state_row", read_then_blocks_land)
    assert ledger.state_bytes(key) is None  # the answer as of when it was read
    monkeypatch.setattr(ledger.store, "state_row", store_read)
    assert ledger.state_bytes(key) == b"1"
    absent = f"nonce/{ident('nobody').did}"
    assert ledger.state_bytes(absent) is None and absent in ledger._state_cache  # plain miss


def test_only_schemas_that_read_no_state_have_their_verdicts_remembered(chain: Chain) -> None:
    """A block skips the argument check that ingress already passed, but only where the
    verdict is the arguments' alone: a schema with a reference (an organisation that
    must exist) is checked against the block's own state every time."""
    reg = chain.ledger.executor.registry
    assert not reg.lookup("notary", "anchor").schema.reads_state
    assert reg.lookup("membership", "enrol").schema.reads_state  # org must exist
    alice = ident("dr-alice")
    executor = chain.ledger.executor
    enrol = chain.tx(ADMIN, "membership", "enrol",
                     {"org": "st-mary", "member": alice.did, "roles": ["clinician"]})
    bad = chain.tx(alice, "notary", "anchor", {"hash": "not hex"})
    b = chain.commit(enrol, bad)
    assert chain.codes(b) == ["VALID", "BAD_ARGUMENTS"]
    assert leaf_hash(enrol) not in executor._args_good and leaf_hash(bad) not in executor._args_good
    good = chain.tx(alice, "notary", "anchor", {"hash": DOC})
    assert chain.codes(chain.commit(good)) == ["VALID"]
    assert leaf_hash(good) in executor._args_good
