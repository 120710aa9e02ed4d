"""`salus bench credentials`: issue credentials in anchored batches, verify them offline.

1. Starts a node (a medical board) in a child process and enrols a registrar with the
   issuer role.
2. Issue: ``credentials`` licences in batches of ``batch_size`` through the issuer
   service: each signed (eddsa-jcs-2022), given random revocation and suspension
   entries, the batch root anchored on the ledger and committed, and each credential
   given its anchor proof (Merkle path, anchor transaction, log inclusion under the
   signed tree head). ``issue_per_s`` counts credentials per second, end to end.
3. Revokes ``revoked`` of them, then fetches the verification context once.
4. Verify: every credential through every step (format and schema, the issuer's
   signature, the issuer's key at issue, the issuer's authority, Merkle path, anchor,
   log inclusion, status, validity), with the node stopped: offline. ``workers``
   processes share the credentials (default: one per core); ``verify_per_s`` is the
   count over the wall time. Exactly the revoked ones must fail, at "status".
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console

from salus.bench.harness import ChildNode, machine, seeded_identity
from salus.client import SalusClient
from salus.credentials.context import VerificationContext
from salus.credentials.issuer import CredentialRequest, Issuer
from salus.credentials.verifier import Verifier
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.node.server import tune_gc

CHAIN = "salus-bench-credentials"
BOARD = "bench-board"


def _seeded(label: str) -> Identity:
    return seeded_identity(f"bench-credentials-{label}")


def licence(i: int) -> CredentialRequest:
    return CredentialRequest("LicenseCredential", {
        "id": _seeded(f"physician-{i}").did,
        "achievement": {"type": ["Achievement"], "achievementType": "License",
                        "name": "Licence to practise medicine"},
        "jurisdiction": "US-CA", "licenseNumber": f"MD-{100000 + i}",
        "licenseStatus": "active"})


_worker: Verifier | None = None
_shared: list[dict[str, Any]] = []  # the credentials, inherited by forked workers


def _init_worker(context: dict[str, Any], orderer: str) -> None:
    global _worker
    _worker = Verifier(VerificationContext.load(context, orderer))
    tune_gc()  # as the node does: the credentials held are not garbage to walk


def _verify_range(bounds: tuple[int, int]) -> list[str | None]:
    assert _worker is not None
    return [_worker.verify(c).failed_step for c in _shared[bounds[0]:bounds[1]]]


def _verify_all(creds: list[dict[str, Any]], context: dict[str, Any], orderer: str,
                workers: int) -> tuple[float, list[str | None]]:
    """Seconds to verify every credential, and each one's failed step (None: verified).
    Workers are forked after the credentials are in memory, so each is handed a range
    of indices, not the credentials: the timing is verification, not pickling."""
    global _shared
    _shared = creds
    if workers == 1:
        _init_worker(context, orderer)
        started = time.perf_counter()
        results = _verify_range((0, len(creds)))
        return time.perf_counter() - started, results
    step = max(1, len(creds) // (workers * 4))
    ranges = [(i, min(i + step, len(creds))) for i in range(0, len(creds), step)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_init_worker, initargs=(context, orderer)) as pool:
        list(pool.map(_verify_range, [(0, 1)] * workers))  # every worker up and warm
        started = time.perf_counter()
        results = [r for part in pool.map(_verify_range, ranges) for r in part]
        return time.perf_counter() - started, results


def run(*, credentials: int = 20_000, batch_size: int = 1000, revoked: int = 10,
        workers: int | None = None, progress: Console | None = None) -> dict[str, Any]:
    workers = workers or os.cpu_count() or 1

    def say(text: str) -> None:
        if progress is not None:
            progress.print(f"[dim]{text}[/]")

    with tempfile.TemporaryDirectory(prefix="salus-bench-cred-") as tmp:
        data = Path(tmp) / "node"
        init_datadir(data, CHAIN, [OrgSpec(BOARD, "board", "Bench Medical Board")])
        datadir = DataDir(data)
        admin = Identity.load(admin_key_path(datadir, BOARD))
        registrar = _seeded("registrar")
        orderer = datadir.genesis().orderer
        with ChildNode(data) as node:
            with SalusClient(node.url, admin) as c:
                c.call("membership", "enrol", {"org": BOARD, "member": registrar.did,
                                               "roles": ["issuer"]})
            issued: list[dict[str, Any]] = []
            with SalusClient(node.url, registrar) as c, \
                    Issuer(c, Path(tmp) / "issuer.db") as issuer:
                issuer.issue([licence(-1)])  # opens the status lists: not timed
                say(f"issuing {credentials} credentials in batches of {batch_size}")
                started = time.perf_counter()
                for first in range(0, credentials, batch_size):
                    count = min(batch_size, credentials - first)
                    issued += issuer.issue([licence(first + i) for i in range(count)])
                issue_s = time.perf_counter() - started
                for cred in issued[:revoked]:
                    issuer.revoke(cred["id"], "other")
            with SalusClient(node.url) as c:
                context = c.credentials_context()
        say(f"node stopped; verifying {len(issued)} credentials offline with {workers} "
            f"process(es)")
        seconds, failed = _verify_all(issued, context, orderer, workers)
        single_n = min(len(issued), 5000)
        single_s, _ = _verify_all(issued[:single_n], context, orderer, 1)

    wrong = [i for i, step in enumerate(failed) if (step == "status") != (i < revoked)]
    if wrong:
        raise RuntimeError(f"{len(wrong)} credentials verified wrongly (first: {wrong[0]}, "
                           f"failed at {failed[wrong[0]]!r})")
    return {"verify_per_s": round(len(issued) / seconds), "issue_per_s": round(
        credentials / issue_s), "batch_size": batch_size, "credentials": credentials,
        "workers": workers, "verify_per_s_one_process": round(single_n / single_s),
        "revoked_detected": revoked, "machine": machine()}
