"""Running the browser's modules in Node for their tests: a runner in ``tests/js`` reads
JSON cases on stdin and prints JSON results."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any


def run_cases(runner: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "Node.js runs the browser modules' tests (the machine has it; see README)"
    done = subprocess.run([node, str(runner)], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result
