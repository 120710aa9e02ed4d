"""Loopback ports for servers that Salus starts itself (local networks, tests, benchmarks).

A port taken with ``bind(("127.0.0.1", 0))`` comes from the kernel's ephemeral range, the
same range outgoing connections draw from: between handing it out and the server binding
it, any ``connect()`` on the machine (a peer dialling NATS, say) may be given it, and the
server then fails with "address already in use". Ports here are drawn below that range,
where the kernel never assigns a client port, and checked free by binding them.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000
_TRIES = 200


def _ephemeral_low() -> int:
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default when the range cannot be read


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``port`` on ``host`` now."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that is free now and outside the ephemeral range."""
    high = _ephemeral_low()
    if high - _LOWEST < 1_000:  # an unusual range: fall back to what the kernel picks
        with socket.socket() as s:
            s.bind((host, 0))
            return int(s.getsockname()[1])
    for _ in range(_TRIES):
        port = random.randrange(_LOWEST, high)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port on {host} between {_LOWEST} and {high} after {_TRIES} tries")
