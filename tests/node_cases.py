"""Running the browser's modules in Node for their tests: a runner in ``tests/js`` reads
JSON cases on stdin and prints JSON results, one a case."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any


def run_cases(runner: Path, cases: list[Any], tz: str | None = None) -> list[Any]:
    """The runner's results for ``cases``; ``tz`` sets Node's local time zone."""
    node = shutil.which("node")
    assert node, "Node.js runs the browser modules' tests (the machine has it; see README)"
    env = {**os.environ, "TZ": tz} if tz else None
    done = subprocess.run([node, str(runner)], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stderr
    result: list[Any] = json.loads(done.stdout)
    return result
