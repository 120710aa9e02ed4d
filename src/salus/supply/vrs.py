"""A verification request and its answer, in the GS1 Lightweight Messaging Standard for
Verification of Product Identifiers (LMS): what the request's parts may be, and the
response message around :mod:`salus.supply.verification`'s ``data``.

The request (LMS §3, a GS1 Digital Link path of the pack and a query string)::

    GET /vrs/gtin/{gtin}/lot/{lot}/ser/{serial}?exp=YYMMDD&context=…&reqGLN=…&corrUUID=…

and the answer::

    {"verificationTimestamp": "2026-11-28T09:00:00.000Z", "responderGLN": "…",
     "corrUUID": "…", "data": {"verified": true, "additionalInfo": "Recalled", …}}

Every part is checked before the ledger is read, and a part that is not what the LMS
says it is answers 400 with a stable code (:class:`RequestError`), never a guess: a GTIN
is 8, 12, 13 or 14 digits with its check digit (zero-padded to a GTIN-14, as Digital Link
does); a serial (AI 21) and a lot (AI 10) are 1-20 characters of GS1's character set 82;
``exp`` is ``YYMMDD`` (AI 17: day ``00`` the month's last day, the century by GenSpecs
§7.12); ``context`` one of :data:`CONTEXTS`; ``reqGLN`` a GLN-13 with its check digit;
``corrUUID`` a UUID in its RFC 9562 text form. No part of a request is logged.

Pure: no clock (the caller passes the time), no I/O but the ledger reads of ``get``.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from salus.supply.contracts.layout import block_date
from salus.supply.identifiers import (
    CheckDigitError,
    IdentifierError,
    Identity,
    Kind,
    check_digit,
    parse,
)
from salus.supply.verification import Verification, verify, verify_return

SALEABLE_RETURN = "dscsaSaleableReturn"
DISPENSE = "dispense"
#: The LMS's context for a DSCSA saleable return, and Salus's own for the counter.
CONTEXTS = frozenset({SALEABLE_RETURN, DISPENSE})

_CS82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_DIGITS = re.compile(r"[0-9]+")
_EXP = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})")
_GLN = re.compile(r"[0-9]{13}")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class RequestError(ValueError):
    """A part of a verification request that is not what the LMS says: 400 ``code``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# -- the parts of a request ------------------------------------------------------------------
def _text(value: Any, what: str, code: str) -> str:
    if not isinstance(value, str) or not _CS82.fullmatch(value):
        raise RequestError(code, f"{what} must be 1-20 characters of GS1's character set 82 "
                                 "(letters, digits and !\"%&'()*+,-./:;<=>?_)")
    return value


def gtin14(value: Any) -> str:
    """A GTIN-8, -12, -13 or -14 as a GTIN-14, its check digit verified."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value) or len(value) not in (8, 12, 13, 14):
        raise RequestError("BAD_GTIN", "a GTIN is 8, 12, 13 or 14 digits")
    return _checked_gtin14(value)


# Cached (a GTIN or an expiry recurs across a product's packs; errors are not cached):
# each costs about as much as the ledger read that decides a verification.
@functools.lru_cache(maxsize=4096)
def _checked_gtin14(value: str) -> str:
    value = value.zfill(14)
    if check_digit(value[:13]) != value[13]:
        raise RequestError("BAD_CHECK_DIGIT", f"GTIN {value}: wrong check digit")
    return value


@functools.lru_cache(maxsize=4096)
def expiry_date(value: Any, today: date) -> date:
    """AI 17 ``YYMMDD``: the century is the one that puts the year within 49 years back
    and 50 ahead of ``today``'s (GenSpecs §7.12); day ``00`` is the month's last day."""
    match = _EXP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise RequestError("BAD_EXPIRY", "exp must be YYMMDD (six digits)")
    yy, month, day = (int(g) for g in match.groups())
    century, current = divmod(today.year, 100)
    diff = yy - current
    year = (century - 1 if diff >= 51 else century + 1 if diff <= -50 else century) * 100 + yy
    if not 1 <= month <= 12:
        raise RequestError("BAD_EXPIRY", f"exp {value}: no month {month:02d}")
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    if day > last:
        raise RequestError("BAD_EXPIRY", f"exp {value}: no day {day:02d} in that month")
    return date(year, month, day or last)


def pack(gtin: Any, lot: Any, serial: Any, exp: Any, today: date) -> Identity:
    """The pack a request's path and ``exp`` name."""
    return Identity(Kind.SGTIN, gtin=gtin14(gtin), serial=_text(serial, "a serial", "BAD_SERIAL"),
                    lot=_text(lot, "a lot", "BAD_LOT"), expiry=expiry_date(exp, today))


def scanned(text: Any) -> Identity:
    """The pack a scan names: a DataMatrix's data (with GS for FNC1, or ``]d2``), an
    element string, a GS1 Digital Link or an EPC URN (:func:`~.identifiers.parse`)."""
    if not isinstance(text, str):
        raise RequestError("BAD_IDENTIFIER", "scan must be a string")
    try:
        found = parse(text)
    except CheckDigitError as exc:
        raise RequestError("BAD_CHECK_DIGIT", str(exc)) from None
    except IdentifierError as exc:
        raise RequestError("BAD_IDENTIFIER", str(exc)) from None
    if found.kind is not Kind.SGTIN:
        raise RequestError("NOT_A_PACK", "a verification names one pack: its GTIN and serial "
                                         f"(this names a {found.kind.value})")
    return found


def context_of(value: Any) -> str:
    if value not in CONTEXTS:
        raise RequestError("BAD_CONTEXT", f"context must be one of {', '.join(sorted(CONTEXTS))}")
    return str(value)


def gln(value: Any) -> str | None:
    """``reqGLN`` (optional): a GLN-13 with its check digit."""
    if value is None:
        return None
    if not isinstance(value, str) or not _GLN.fullmatch(value) \
            or check_digit(value[:12]) != value[12]:
        raise RequestError("BAD_GLN", "a GLN is 13 digits with its check digit")
    return value


def corr_uuid(value: Any) -> str | None:
    """``corrUUID`` (optional): echoed in the answer, so only ever a UUID."""
    if value is None:
        return None
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise RequestError("BAD_CORR_UUID", "corrUUID must be a UUID (8-4-4-4-12 hex digits)")
    return value  # echoed as sent


# -- the answer ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """A checked verification request. ``requester_org`` and ``returner`` only for a
    saleable return, once the requester has been authenticated."""

    identity: Identity
    context: str
    corr_uuid: str | None = None
    requester_org: str | None = None
    returner: str | None = None


# (time.gmtime and integer days: strftime cost ~10 us a call, a tenth of a verification)
def timestamp(now_ms: int) -> str:
    """``verificationTimestamp``: UTC, milliseconds, ``Z``."""
    return f"{_second(now_ms // 1000)}.{now_ms % 1000:03d}Z"


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    t = time.gmtime(seconds)
    return (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d}")


def date_of(now_ms: int) -> date:
    """The UTC date of ``now_ms``."""
    return date.fromordinal(_EPOCH_ORDINAL + now_ms // 86_400_000)


def today_of(now_ms: int) -> int:
    """The UTC date of ``now_ms`` as ``YYYYMMDD``, as :func:`~.verification.verify` takes
    it (and as the contract reads a block's time)."""
    return block_date(now_ms)


def decide(get: Callable[[str], Any], request: Request, now_ms: int) -> Verification:
    today = today_of(now_ms)
    if request.context == SALEABLE_RETURN:
        assert request.requester_org is not None and request.returner is not None
        return verify_return(get, request.identity, today, request.requester_org,
                             request.returner)
    return verify(get, request.identity, today)


def response(verification: Verification, request: Request, now_ms: int,
             responder_gln: str | None) -> dict[str, Any]:
    """The LMS response message. ``corrUUID`` only when the request gave one."""
    out: dict[str, Any] = {"verificationTimestamp": timestamp(now_ms),
                           "responderGLN": responder_gln}
    if request.corr_uuid is not None:
        out["corrUUID"] = request.corr_uuid
    out["data"] = verification.data()
    return out


def identity_json(identity: Identity) -> dict[str, Any]:
    """What a scan read, as ``POST /v1/supply/scan`` returns it."""
    return {"gtin": identity.gtin, "serial": identity.serial, "lot": identity.lot,
            "expiry": None if identity.expiry is None else identity.expiry.isoformat()}
