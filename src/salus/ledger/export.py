"""Block exports: one peer's ledger as a file another peer rebuilds and checks in full.

A new peer that joins after the ordering stream was trimmed cannot replay the stream
from the start; it bootstraps from another peer's export instead, trusting nothing in
it. The export is JSON lines: a head line (format, chain, genesis, height, the ordering
cursor at that height), then one line per block with its exact header bytes, the
exporting peer's signature and every transaction's exact bytes.

:func:`import_blocks` checks the genesis against the one the operator installed, each
header's signature against genesis's block signers, and then re-executes every block
through :meth:`Ledger.commit`, refusing the first whose rebuilt header differs in any
field from the exported one (previous hash, transaction root, results, state hash, log
root, time). The new ledger is built beside the real path and moved into place only
when the whole export has checked out.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from salus.canonical import jcs, loads_strict
from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.ledger.block import BlockHeader
from salus.ledger.contract import Registry
from salus.ledger.ledger import BlockRefused, Ledger, LedgerError, cursor_at
from salus.ledger.signatures import executable
from salus.ledger.store import Store

EXPORT_FORMAT = "salus-export/1"

Progress = Callable[[int, int], None]


class ExportError(LedgerError):
    """An export that cannot be trusted, with the height and the reason."""


def export_lines(store: Store, to_height: int | None = None) -> Iterator[bytes]:
    """The export of ``store`` up to ``to_height`` (default: its head), line by line,
    read inside one snapshot so that a peer may keep committing meanwhile."""
    with store.read_snapshot():
        head = store.head_height()
        if head is None:
            raise ExportError("the ledger is empty")
        height = head if to_height is None else min(to_height, head)
        genesis = loads_strict(store.get_meta("genesis") or b"null")
        yield _line({"format": EXPORT_FORMAT, "chain_id": genesis["chain_id"],
                     "genesis": genesis, "height": height, "cursor": cursor_at(store, height)})
        for h in range(1, height + 1):
            row = store.block(h)
            assert row is not None
            yield _line({"height": h, "header": _b64(row.header), "signer": row.signer,
                         "signature": _b64(row.signature),
                         "txs": [_b64(t.raw) for t in store.txs_of_block(h)]})


def _line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def import_blocks(lines: Iterable[bytes], ledger_path: Path, genesis: genesis_mod.Genesis,
                  registry: Registry, signer: Identity, progress: Progress | None = None) -> int:
    """Rebuild a ledger at ``ledger_path`` from an export; returns its height. Nothing
    is left at ``ledger_path`` unless every block checked out."""
    if ledger_path.exists():
        raise ExportError(f"{ledger_path} already exists; an export founds a new ledger only")
    it = iter(lines)
    head = _parse(next(it, b""), 0)
    if head.get("format") != EXPORT_FORMAT:
        raise ExportError(f"not a block export (expected format {EXPORT_FORMAT!r})")
    if jcs(head.get("genesis")) != jcs(genesis.doc):
        raise ExportError("the export is of another chain: its genesis differs from this "
                          "peer's genesis.json")
    height, cursor = head.get("height"), head.get("cursor")
    if type(height) is not int or height < 0 or (cursor is not None and type(cursor) is not int):
        raise ExportError("the export's head line has no valid height and cursor")
    building = ledger_path.with_name(ledger_path.name + ".importing")
    _remove_sqlite(building)  # a leftover of an import that was interrupted
    ledger = Ledger.create(building, genesis, registry, signer)
    try:
        for expected in range(1, height + 1):
            _import_one(ledger, _parse(next(it, b""), expected), expected, genesis,
                        cursor if expected == height else None)
            if progress:
                progress(expected, height)
        if next(it, None) is not None:
            raise ExportError(f"the export goes on past its stated height {height}")
    except BaseException:
        ledger.close()
        _remove_sqlite(building)
        raise
    ledger.close()  # checkpoints the WAL into the file, so the file alone is the ledger
    os.replace(building, ledger_path)
    _remove_sqlite(building)
    return height


def _remove_sqlite(path: Path) -> None:
    """Remove an SQLite database and its WAL and shared-memory files, if present."""
    for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        f.unlink(missing_ok=True)


def _parse(line: bytes, height: int) -> dict[str, Any]:
    if not line:
        raise ExportError(f"the export ends before block {height}")
    try:
        doc = json.loads(line)
    except ValueError:
        raise ExportError(f"block {height}: the line is not JSON") from None
    if not isinstance(doc, dict):
        raise ExportError(f"block {height}: the line is not an object")
    return doc


def _import_one(ledger: Ledger, doc: dict[str, Any], height: int,
                genesis: genesis_mod.Genesis, cursor: int | None) -> None:
    try:
        if doc["height"] != height:
            raise ExportError(f"block {height}: the export holds block {doc['height']} here")
        header_bytes = base64.b64decode(doc["header"], validate=True)
        signature = base64.b64decode(doc["signature"], validate=True)
        raws = [base64.b64decode(t, validate=True) for t in doc["txs"]]
        header = BlockHeader.from_json(loads_strict(header_bytes))
        signer = doc["signer"]
    except ExportError:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ExportError(f"block {height}: unreadable ({exc})") from None
    if not genesis.block_signed(header, signature, signer):
        raise ExportError(f"block {height}: the header is not signed by a block signer of genesis")
    if header.encode() != header_bytes or header.height != height:
        raise ExportError(f"block {height}: the header bytes are not canonical")
    # Bytes that do not decode stay bytes: recorded as malformed, as the exporter did.
    txs, sig_ok = executable(raws, ledger.executor.max_tx_bytes)

    def same_as_exported(rebuilt: BlockHeader) -> None:
        if rebuilt != header:
            fields = [f for f in header.to_json() if header.to_json()[f] != rebuilt.to_json()[f]]
            raise BlockRefused(f"block {height}: re-executing it gives a different "
                               f"{', '.join(fields)} than the export says")

    try:
        ledger.commit(header.time, txs, sig_ok, cursor=cursor, check=same_as_exported)
    except BlockRefused as exc:
        raise ExportError(str(exc)) from None
