"""The credentials contract: who may anchor which types, and status list histories."""

from __future__ import annotations

import hashlib

from conftest import Chain, ident
from salus.credentials.contracts.layout import anchor_key, list_key, status_key

ROOT = hashlib.sha256(b"batch 1").hexdigest()


def _enrol(chain: Chain, org: str, name: str, roles: list[str]) -> None:
    admin = ident(f"{org}-admin")
    block = chain.commit(chain.tx(admin, "membership", "enrol",
                                  {"org": org, "member": ident(name).did, "roles": roles}))
    assert block.results[0].code == "VALID", block.results[0].reason


def _codes(block) -> list[tuple[str, str]]:
    return [(r.code, r.reason) for r in block.results]


def test_only_an_issuer_of_an_allowed_organisation_type_may_anchor(chain: Chain) -> None:
    _enrol(chain, "medboard", "registrar", ["issuer"])
    _enrol(chain, "st-mary", "credentialing", ["issuer"])
    _enrol(chain, "medboard", "clerk", ["registrar"])
    board, hospital, clerk = ident("registrar"), ident("credentialing"), ident("clerk")
    args = {"root": ROOT, "size": 3, "types": ["LicenseCredential", "BoardCertificationCredential"]}
    block = chain.commit(
        chain.tx(hospital, "credentials", "anchor", args),
        chain.tx(clerk, "credentials", "anchor", args),
        chain.tx(board, "credentials", "anchor", {**args, "types": ["DegreeCredential"]}),
        chain.tx(board, "credentials", "anchor", {**args, "types": ["CastleCredential"]}),
        chain.tx(board, "credentials", "anchor", {**args, "root": "AB" * 32}),
        chain.tx(board, "credentials", "anchor", {**args, "root": ROOT + "\n"}),
        chain.tx(board, "credentials", "anchor", {**args, "size": 0}),
        chain.tx(board, "credentials", "anchor", args),
        chain.tx(board, "credentials", "anchor", args),
    )
    codes = chain.verdicts(block)
    assert codes[0][0] == "FORBIDDEN" and "hospital may not issue LicenseCredential" in codes[0][1]
    assert codes[1][0] == "FORBIDDEN" and "issuer role" in codes[1][1]
    assert codes[2][0] == "FORBIDDEN" and "board may not issue DegreeCredential" in codes[2][1]
    assert codes[3][0] == "BAD_ARGUMENTS" and "argument types.0" in codes[3][1]
    assert [c for c, _ in codes[4:7]] == ["BAD_ARGUMENTS"] * 3
    assert codes[7][0] == "VALID"
    assert codes[8][0] == "CONFLICT"
    # what fails admission (no issuer role, a type its organisation may not issue, a type
    # or root that is not one) is not kept
    assert [c for c, _ in _codes(block)] == ["VALID", "CONFLICT"]
    anchored = chain.ledger.state_value(anchor_key(ROOT))
    assert anchored["issuer"] == board.did and anchored["org"] == "medboard"
    assert anchored["org_type"] == "board" and anchored["height"] == block.header.height
    assert anchored["tx"] == block.results[0].id.hex()
    # a hospital anchoring what a hospital may issue is fine
    ok = chain.commit(chain.tx(hospital, "credentials", "anchor",
                               {"root": "cd" * 32, "size": 1, "types": ["HospitalPrivilegesCredential"]}))
    assert _codes(ok) == [("VALID", "")]


def test_status_lists_keep_history_revocation_is_final_suspension_is_not(chain: Chain) -> None:
    _enrol(chain, "medboard", "registrar", ["issuer"])
    _enrol(chain, "st-mary", "credentialing", ["issuer"])
    board, hospital = ident("registrar"), ident("credentialing")
    created = chain.commit(
        chain.tx(board, "credentials", "create_status_list",
                 {"status_list": "lic-rev", "purpose": "revocation"}),
        chain.tx(board, "credentials", "create_status_list",
                 {"status_list": "lic-sus", "purpose": "suspension"}),
        chain.tx(board, "credentials", "create_status_list",
                 {"status_list": "tiny", "purpose": "revocation", "size": 1024}),
        chain.tx(board, "credentials", "create_status_list",
                 {"status_list": "lic-rev", "purpose": "revocation"}),
    )
    assert chain.codes(created) == ["VALID", "VALID", "BAD_ARGUMENTS", "CONFLICT"]

    revoke = {"status_list": "lic-rev", "changes": [{"index": 77, "value": True,
                                                     "reason": "surrendered"}]}
    first = chain.commit(chain.tx(board, "credentials", "set_status", revoke))
    assert _codes(first) == [("VALID", "")]
    later = chain.commit(
        chain.tx(hospital, "credentials", "set_status", revoke),
        chain.tx(board, "credentials", "set_status", revoke),
        chain.tx(board, "credentials", "set_status", {"status_list": "lic-rev", "changes": [
            {"index": 77, "value": False, "reason": "issued_in_error"}]}),
        chain.tx(board, "credentials", "set_status", {"status_list": "lic-rev", "changes": [
            {"index": 131_072, "value": True, "reason": "other"}]}),
        chain.tx(board, "credentials", "set_status", {"status_list": "lic-rev", "changes": [
            {"index": 5, "value": True, "reason": "other", "extra": 1}]}),
        chain.tx(board, "credentials", "set_status", {"status_list": "lic-sus", "changes": [
            {"index": 9, "value": True, "reason": "under_investigation"}]}),
    )
    assert chain.codes(later) == ["FORBIDDEN", "CONFLICT", "CONFLICT", "BAD_ARGUMENTS",
                                  "BAD_ARGUMENTS", "VALID"]
    # another organisation's list, and an extra key, fail admission; the rest depend on order
    assert [c for c, _ in _codes(later)] == ["CONFLICT", "CONFLICT", "BAD_ARGUMENTS", "VALID"]
    free_text = chain.commit(chain.tx(board, "credentials", "set_status", {
        "status_list": "lic-sus", "changes": [{"index": 3, "value": True,
                                               "reason": "in rehab for alcohol dependency"}]}))
    assert chain.codes(free_text) == ["BAD_ARGUMENTS"] and free_text.header.tx_count == 0
    lifted = chain.commit(chain.tx(board, "credentials", "set_status", {
        "status_list": "lic-sus", "changes": [{"index": 9, "value": False, "reason": "reinstated"}]}))
    assert _codes(lifted) == [("VALID", "")]

    revoked = chain.ledger.state_value(status_key("lic-rev", 77))
    assert revoked["value"] is True
    assert revoked["history"] == [[first.header.height, first.header.time, True,
                                   "surrendered"]]
    suspended = chain.ledger.state_value(status_key("lic-sus", 9))
    assert [h[2] for h in suspended["history"]] == [True, False] and suspended["value"] is False
    assert chain.ledger.state_value(list_key("lic-rev"))["set"] == 1
    assert chain.ledger.state_value(list_key("lic-sus"))["set"] == 0
    assert chain.ledger.state_value(status_key("lic-rev", 5)) is None  # refused: no change
