"""Integer path and query parameters, range-checked where FastAPI reads them.

A number past what the ledger can hold (2^64, a thousand digits), a negative one or a
word answers 400 ``BAD_REQUEST`` naming the parameter (errors.py), before the handler
runs: never an overflow in SQLite, never a 500. The upper bound is the largest integer
JSON carries exactly (I-JSON), far above any height, size or index a log reaches.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from typing import Annotated

from fastapi import Path, Query

from salus.canonical import MAX_SAFE_INTEGER

Height = Annotated[int, Path(ge=0, le=MAX_SAFE_INTEGER, description="a block height")]
TreeSize = Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER,
                                description="a size of the log (number of leaves)")]
LeafIndex = Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER,
                                 description="a leaf's index in the log (0-based)")]

#: A transaction id or leaf hash: SHA-256, 64 lowercase hex digits (uppercase is read too).
TxId = Annotated[str, Path(pattern="^[0-9a-fA-F]{64}$", description="a transaction id")]
LeafHash = Annotated[str, Query(pattern="^[0-9a-fA-F]{64}$", description="a leaf hash")]
