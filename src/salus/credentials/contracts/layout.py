"""State keys and limits of the credentials contract."""

from __future__ import annotations

import re

#: A status list id: what an issuer names it (it appears in statusListCredential urls).
LIST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
ISSUER_ROLE = "issuer"
STATUS_PURPOSES = ("revocation", "suspension")
MIN_LIST_SIZE = 131_072  # W3C Bitstring Status List v1.0, section 3.1
MAX_LIST_SIZE = 1 << 24
MAX_BATCH = 100_000
MAX_STATUS_CHANGES = 1000  # per transaction


def anchor_key(root: str) -> str:
    return f"cred-anchor/{root}"


def list_key(list_id: str) -> str:
    return f"cred-list/{list_id}"


def status_prefix(list_id: str) -> str:
    return f"cred-status/{list_id}/"


def status_key(list_id: str, index: int) -> str:
    # zero-padded so a scan of the prefix comes back in index order
    return f"{status_prefix(list_id)}{index:010d}"
