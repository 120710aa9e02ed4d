"""JSON as Salus signs, hashes and reads it.

Three encodings, on purpose:

* :func:`jcs` is RFC 8785 (JSON Canonicalization Scheme), via the ``rfc8785`` package.
  It is used for every document that another party re-serialises before checking a hash
  or signature: transaction envelopes, block headers, signed tree heads, genesis,
  credentials.
* :func:`state_bytes` is the deterministic encoding of contract state values. State is
  only ever hashed by Salus peers running this code, and it is on the hot path of every
  transaction, where RFC 8785 costs ~15 us a value against ~3 us here. For the value
  domain contracts may use (str, int, bool, None, list, dict with str keys, never floats)
  the output is fully determined by the value. orjson writes it (~1 us a value against
  ~10 us with :mod:`json`, measured in docs/benchmarks.md); where its bytes could differ
  from :mod:`json`'s ``sort_keys``/``ensure_ascii`` form (a character past 0x7e, an
  integer past 64 bits, a type that is not plain JSON), :mod:`json` writes it, so the
  bytes, and every state hash, are those of the original encoding.
* :func:`compact_json` is for what no one hashes or signs: a transaction's stored detail
  (read/write sets, output, events) and receipts in API answers. It runs once or twice
  per transaction on the node's busiest threads, so it uses pydantic-core's serializer
  (already installed with FastAPI), about five times faster than :mod:`json` here.

:func:`loads_strict` is the only way untrusted JSON enters the node, a signed document or
a request body alike: it refuses duplicate object keys (so two readers can never disagree
about what a document says), NaN/Infinity, integers outside the I-JSON safe range, nesting
deeper than :data:`MAX_DEPTH` (checked on the bytes before parsing) and, unless the
caller takes decimals (FHIR does), floats.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from decimal import Decimal
from itertools import accumulate
from typing import Any

import orjson
import pydantic_core
import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1
#: How deeply JSON from outside may nest. What Salus takes (an envelope, a credential or
#: presentation, a FHIR Bundle) needs well under 20 levels; the bound is checked on the
#: raw bytes, so 100,000 ``[`` cost one scan, never a recursion.
MAX_DEPTH = 64

JSONValue = Any


class JSONError(ValueError):
    """Raised for JSON that Salus refuses to read."""


def jcs(value: JSONValue) -> bytes:
    """RFC 8785 canonical bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise JSONError(f"cannot canonicalise: {exc}") from exc


#: Anything but plain str, int, bool, None, list, tuple and dict goes to :mod:`json`.
_ORJSON_STATE = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS
                 | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME)


def state_bytes(value: JSONValue) -> bytes:
    """Deterministic bytes of a contract state value (see module docstring)."""
    try:
        out = orjson.dumps(value, option=_ORJSON_STATE)
    except orjson.JSONEncodeError:
        out = None
    # json's ensure_ascii escapes every character outside 0x20-0x7e; orjson writes 0x7f
    # and non-ASCII raw, so those values take json's path.
    if out is not None and out.isascii() and b"\x7f" not in out:
        return out
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def compact_json(value: JSONValue) -> bytes:
    """UTF-8 JSON without spaces, for stored details and API answers (never hashed)."""
    return pydantic_core.to_json(value)


#: A JSON string (escapes included), removed before brackets are counted.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: A \\uD800-\\uDBFF escape not followed by a \\uDC00-\\uDFFF one, or the latter alone.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: Opening brackets to +1, closing ones to -1 (as signed bytes).
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def nesting_depth(data: bytes) -> int:
    """How deeply the arrays and objects of ``data`` nest (brackets inside strings do not
    count). Linear, in C but for one pass over the brackets; bytes that are not JSON may
    give any answer, and their parse fails anyway."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(0, max(accumulate(array("b", brackets.translate(_STEPS))), default=0))


def _refuse_float(text: str) -> float:
    raise JSONError(f"floats are not allowed in signed data: {text}")


def _refuse_constant(text: str) -> float:
    raise JSONError(f"{text} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isfinite(number):
        return number
    raise JSONError(f"number {text} is out of range")


def _exact_float(text: str) -> float:
    number = _finite_float(text)
    # Decimal equality is numeric: 1.0, 1 and 1e0 agree; 0.10000000000000000555 and 1e-400
    # do not with the double they would be read as.
    if Decimal(text) != Decimal(repr(number)):
        raise JSONError(f"number {text[:40]} has more digits than a 64-bit float holds "
                        f"(it would be read as {number!r})")
    return number


def _bounded_int(text: str) -> int:
    number = int(text)
    if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        return number
    raise JSONError(f"integer {text} is outside the I-JSON safe range")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def loads_strict(data: bytes | str, *, decimals: bool = False, exact_decimals: bool = False,
                 max_depth: int = MAX_DEPTH) -> JSONValue:
    """Parse JSON, refusing anything that could be read two ways, or that would cost more
    to read than its size says. ``decimals``: take finite numbers with a fraction or an
    exponent (as floats), for documents such as FHIR resources that are never signed.
    ``exact_decimals``: the same, but only numbers a float holds exactly as written, for
    documents identified by a hash of their values (two numbers read as one float would
    give two documents one hash)."""
    # UTF-8 and nothing else (RFC 8259 section 8.1): json.loads would also take UTF-16
    # and UTF-32 bytes, which the bracket count below reads wrongly, and a transaction's
    # bytes must have one spelling. Lone surrogates (raw or escaped) are text no UTF-8
    # encoder can write back.
    try:
        if isinstance(data, str):
            text, raw = data, data.encode("utf-8")
        else:
            text, raw = data.decode("utf-8"), data
    except UnicodeError as exc:
        raise JSONError(f"JSON must be UTF-8 text: {exc.reason}") from None
    if "\\u" in text and _LONE_SURROGATE.search(text):  # the scan only where escapes are
        raise JSONError("JSON text holds a lone surrogate escape (\\uD800-\\uDFFF unpaired)")
    # At most max_depth brackets cannot nest deeper than max_depth: skip the scan (the
    # common case, and every transaction on the hot path). One pass, in C.
    if len(raw.translate(None, _NOT_BRACKETS)) > max_depth and nesting_depth(raw) > max_depth:
        raise JSONError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(
            text,
            parse_float=(_exact_float if exact_decimals else _finite_float if decimals
                         else _refuse_float),
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            object_pairs_hook=_unique_keys,
        )
    except JSONError:
        raise
    except RecursionError:  # only with a max_depth above the interpreter's own limit
        raise JSONError("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONError(f"not valid JSON: {exc}") from exc
