"""The browser's RFC 9162 verifier (salus/web/static/js/merkle.js) against the Python
one, case for case: valid proofs from real trees, every kind of tampering, and indices
past 2^32 (where JavaScript's 32-bit bit operators would go wrong), run in Node."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from node_cases import run_cases
from salus.ledger.log import (
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from salus.ledger.log.verify import root_from_inclusion

RUNNER = Path(__file__).parent / "js" / "merkle_cases.mjs"


def _tree(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], list[bytes]]:
    """Leaves' data, every perfect subtree's hash, and the root after each append."""
    data = [b"entry-%d" % i for i in range(n)]
    nodes: dict[tuple[int, int], bytes] = {}
    compact = CompactRange()
    roots = [compact.root()]
    for d in data:
        for level, index, value in compact.append(leaf_hash(d)):
            nodes[(level, index)] = value
        roots.append(compact.root())
    return data, nodes, roots


def _flip(h: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(h))
    return h[:i] + bytes([h[i] ^ 1 << rng.randrange(8)]) + h[i + 1:]


def _cases(rng: random.Random) -> list[dict[str, Any]]:
    data, nodes, roots = _tree(97)
    read = lambda ids: [nodes[i] for i in ids]  # noqa: E731
    cases: list[dict[str, Any]] = [{"kind": "leaf", "data": d.hex()} for d in data[:5]]
    for size in (1, 2, 3, 7, 8, 9, 64, 97):
        for index in sorted({0, size - 1, rng.randrange(size)}):
            path = inclusion_proof(index, size, read)
            ok = {"kind": "inclusion", "index": str(index), "size": str(size),
                  "leaf": leaf_hash(data[index]).hex(), "path": [p.hex() for p in path],
                  "root": roots[size].hex()}
            cases.append(ok)
            if path:
                j = rng.randrange(len(path))
                cases.append({**ok, "path": [*ok["path"][:j], _flip(path[j], rng).hex(),
                                             *ok["path"][j + 1:]]})
                cases.append({**ok, "path": ok["path"][:-1]})
            cases.append({**ok, "path": [*ok["path"], roots[1].hex()]})
            cases.append({**ok, "root": _flip(roots[size], rng).hex()})
            cases.append({**ok, "index": str(index + 1)})
            cases.append({**ok, "size": str(size + 1)})
            cases.append({**ok, "leaf": leaf_hash(b"forged").hex()})
    for first, second in [(0, 5), (1, 1), (1, 2), (3, 7), (4, 8), (5, 97), (8, 64), (63, 64),
                          (96, 97), (9, 9)]:
        proof = consistency_proof(first, second, read) if 0 < first < second else []
        ok = {"kind": "consistency", "first": str(first), "second": str(second),
              "first_root": roots[first].hex(), "second_root": roots[second].hex(),
              "proof": [p.hex() for p in proof]}
        cases.append(ok)
        if proof:
            j = rng.randrange(len(proof))
            cases.append({**ok, "proof": [*ok["proof"][:j], _flip(proof[j], rng).hex(),
                                          *ok["proof"][j + 1:]]})
            cases.append({**ok, "proof": ok["proof"][:-1]})
            cases.append({**ok, "first_root": _flip(roots[first], rng).hex()})
            cases.append({**ok, "second": str(second + 1)})
        cases.append({**ok, "proof": [*ok["proof"], roots[1].hex()]})
    cases.append({"kind": "consistency", "first": "7", "second": "3", "first_root": roots[7].hex(),
                  "second_root": roots[3].hex(), "proof": []})
    # Past 2^32: a path the Python verifier turns into a root, which JS must reach too.
    for index, size in [(2**35 + 5, 2**36), (2**40 - 1, 2**40), (2**33, 2**33 + 1)]:
        depth = (size - 1).bit_length()
        path = [rng.randbytes(32) for _ in range(depth)]
        leaf = leaf_hash(b"far")
        try:
            root = root_from_inclusion(index, size, leaf, path)
        except ProofError:
            root = rng.randbytes(32)
        big = {"kind": "inclusion", "index": str(index), "size": str(size), "leaf": leaf.hex(),
               "path": [p.hex() for p in path], "root": root.hex()}
        cases += [big, {**big, "index": str(index ^ 1)}, {**big, "path": big["path"][1:]}]
    return cases


def _python_verdict(c: dict[str, Any]) -> dict[str, Any]:
    if c["kind"] == "leaf":
        return {"ok": True, "hash": leaf_hash(bytes.fromhex(c["data"])).hex()}
    try:
        if c["kind"] == "inclusion":
            verify_inclusion(int(c["index"]), int(c["size"]), bytes.fromhex(c["leaf"]),
                             [bytes.fromhex(p) for p in c["path"]], bytes.fromhex(c["root"]))
        else:
            verify_consistency(int(c["first"]), int(c["second"]), bytes.fromhex(c["first_root"]),
                               bytes.fromhex(c["second_root"]),
                               [bytes.fromhex(p) for p in c["proof"]])
    except ProofError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True}


def test_the_browser_verifier_agrees_with_the_python_one_case_for_case() -> None:
    cases = _cases(random.Random(9162))
    verdicts = run_cases(RUNNER, cases)
    expected = [_python_verdict(c) for c in cases]
    assert sum(v["ok"] for v in expected if "hash" not in v) >= 30  # real proofs, not only failures
    assert sum(not v["ok"] for v in expected) >= 60
    for case, want, got in zip(cases, expected, verdicts, strict=True):
        assert got == want, case
