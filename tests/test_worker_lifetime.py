"""The node's helper processes (signature workers, multiprocessing's resource tracker)
die with it, even when it is killed with SIGKILL and can run no clean-up of its own."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from salus.client import SalusClient
from salus.identity import Identity
from salus.ledger.signatures import _IN_LINE_BELOW
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import NodeProcess


def _group(pgid: int) -> dict[int, str]:
    """Every live process of process group ``pgid``, with its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # it ended while we looked
            continue
        # Fields after the command (which may hold spaces): state, ppid, pgrp, ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def test_sigkill_of_the_node_leaves_no_process_of_it(tmp_path) -> None:
    init_datadir(tmp_path, "salus-workers", [OrgSpec("st-mary", "hospital", "St Mary")])
    admin = Identity.load(admin_key_path(DataDir(tmp_path), "st-mary"))
    node = NodeProcess(tmp_path).start()  # its own session: its pgid is its pid
    assert node.proc is not None
    pid = node.proc.pid
    try:
        with SalusClient(node.url, admin) as c:
            batch = [c.sign("notary", "anchor", {"hash": f"{i:064x}"})
                     for i in range(2 * _IN_LINE_BELOW)]  # large enough for the workers
            assert all(r.valid for r in c.submit_many(batch, wait=True))
        helpers = {p: cmd for p, cmd in _group(pid).items() if p != pid}
        assert any("multiprocessing" in cmd for cmd in helpers.values()), helpers
        os.kill(pid, signal.SIGKILL)  # the node alone, as `kill -9 <pid>` would
        node.proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _group(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group(pid) == {}, f"left running after the node died: {_group(pid)}"
    finally:
        leftover = _group(pid)
        if leftover:  # never leave them behind, whatever the test found
            os.killpg(pid, signal.SIGKILL)
        node.kill()
