"""Running a document's shell walkthroughs as a reader would: its fenced blocks under a
heading, command by command, in one bash session (so a variable set by one command is
there for the next), and the servers it asks for as background processes that always
stop.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^#{1,6} ")
_FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(markdown: str, heading: str | None, lang: str = "sh") -> list[str]:
    """The ``lang`` fenced blocks between the heading ``heading`` (its text, exactly) and
    the next heading of any level; with None, those before the first heading."""
    found: list[str] = []
    inside_section = heading is None
    fence: str | None = None
    body: list[str] = []
    for line in markdown.splitlines():
        if fence is None and _HEADING.match(line):
            inside_section = heading is not None and line.lstrip("#").strip() == heading
            continue
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence, body = opened.group(1), []
        elif fence is not None and line.strip() == "```":
            if inside_section and fence == lang:
                found.append("\n".join(body) + "\n")
            fence = None
        elif fence is not None:
            body.append(line)
    if not found:
        raise AssertionError(f"no {lang} block under the heading {heading!r}")
    return found


def commands(block: str) -> list[str]:
    """A block's commands: its lines, a trailing backslash joining the next, without blank
    and comment-only lines."""
    result: list[str] = []
    pending = ""
    for line in block.splitlines():
        pending += line
        if line.endswith("\\"):
            pending += "\n"
            continue
        if pending.strip() and not pending.lstrip().startswith("#"):
            result.append(pending)
        pending = ""
    assert not pending, f"a block ends in a continued line: {pending!r}"
    return result


@dataclass(frozen=True)
class Ran:
    command: str
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"$ {self.command}\n(exit {self.code})\n--- stdout\n{self.stdout[-3000:]}"
                f"\n--- stderr\n{self.stderr[-3000:]}")


class Shell:
    """One bash process reading commands from a pipe; each command's output goes to its
    own files, its exit status to a file written last. Commands run in the current shell
    (``{ ...; }``), so assignments and ``cd`` carry over as they do at a terminal."""

    def __init__(self, cwd: Path, env: dict[str, str], scratch: Path) -> None:
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)

    def run(self, command: str, timeout: float = 180.0) -> Ran:
        self.count += 1
        out, err, code = (self.scratch / f"{self.count}.{x}" for x in ("out", "err", "code"))
        q = shlex.quote
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{{ {command}\n}} >{q(str(out))} 2>{q(str(err))} </dev/null; "
                              f"echo $? >{q(str(code))}.part; mv {q(str(code))}.part "
                              f"{q(str(code))}\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not code.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"the shell exited ({self.proc.returncode}) running "
                                     f"{command!r}:\n{_read(err)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{command!r} still running after {timeout:.0f}s:\n"
                                     f"{_read(out)}\n{_read(err)}")
            time.sleep(0.05)
        return Ran(command, int(code.read_text()), _read(out), _read(err))

    def value(self, name: str) -> str:
        """A shell variable's value now."""
        ran = self.run(f'printf %s "${name}"')
        assert ran.code == 0, ran
        return ran.stdout

    def close(self) -> None:
        stop_group(self.proc)


class Server:
    """A command that serves until stopped (``make run``, ``salus node``), started in its
    own session with its output in ``log``; ``stop`` ends its whole process group."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.command, self.log = command, log
        with log.open("wb") as sink:
            self.proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env,
                                         stdin=subprocess.DEVNULL, stdout=sink,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return _read(self.log)

    def wait_for(self, text: str, timeout: float = 240.0) -> str:
        """Its output once it holds ``text``."""
        deadline = time.monotonic() + timeout
        while text not in (seen := self.output()):
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.command!r} exited ({self.proc.returncode}):\n{seen}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.command!r} did not print {text!r} in "
                                     f"{timeout:.0f}s:\n{seen}")
            time.sleep(0.2)
        return seen

    def stop(self) -> None:
        stop_group(self.proc)


def stop_group(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group ``proc`` leads, SIGKILL if it lingers; returns once
    no process of the group is left."""
    for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(proc):
            time.sleep(0.1)
        if not group_alive(proc):
            break
    assert not group_alive(proc), f"process group {proc.pid} is still running"


def group_alive(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> bool:
    proc.poll()  # reap the leader once it has exited
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
