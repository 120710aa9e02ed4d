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
#: Why a credential's status changes: a code, never a story (a story about a professional
#: can be health information: "suspended while in treatment for ...").
STATUS_REASONS = frozenset({
    "issued_in_error", "superseded", "surrendered", "lapsed", "disciplinary_action",
    "under_investigation", "reinstated", "other",
})


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


# -- the education contract ----------------------------------------------------------------
ASSESSING_ORG_TYPES = frozenset({"school", "residency", "hospital"})
CME_CATEGORIES = ("AMA_PRA_1", "AMA_PRA_2", "MOC", "OTHER")
MAX_LEARNERS = 500  # per teach transaction
ASSESSMENT_PREFIX = "edu-assess/"
EDGE_PREFIX = "edu-edge/"
CME_PREFIX = "edu-cme/"


def assessment_key(learner: str, competency: str) -> str:
    return f"{ASSESSMENT_PREFIX}{learner}/{competency}"


def edge_key(educator: str, learner: str) -> str:
    """educator -> learner: a scan of ``edu-edge/<educator>/`` lists their learners."""
    return f"{EDGE_PREFIX}{educator}/{learner}"


def cme_key(professional: str, provider: str, activity: str) -> str:
    return f"{CME_PREFIX}{professional}/{provider}/{activity}"


def requirement_key(board: str, requirement: str) -> str:
    return f"edu-cme-requirement/{board}/{requirement}"


def module_key(module: str) -> str:
    return f"edu-module/{module}"


def module_learner_key(module: str, learner: str) -> str:
    return f"edu-module-learner/{module}/{learner}"
