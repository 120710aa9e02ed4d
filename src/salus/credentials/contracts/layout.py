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


ANCHOR_PREFIX = "cred-anchor/"
LIST_PREFIX = "cred-list/"
STATUS_PREFIX = "cred-status/"


def anchor_key(root: str) -> str:
    return f"{ANCHOR_PREFIX}{root}"


def list_key(list_id: str) -> str:
    return f"{LIST_PREFIX}{list_id}"


def status_prefix(list_id: str) -> str:
    return f"{STATUS_PREFIX}{list_id}/"


def status_key(list_id: str, index: int) -> str:
    # zero-padded so a scan of the prefix comes back in index order
    return f"{status_prefix(list_id)}{index:010d}"
