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
  the output is fully determined by the value.
* :func:`compact_json` is for what no one hashes or signs: a transaction's stored detail
  (read/write sets, output, events) and receipts in API answers. It runs once or twice
  per transaction on the node's busiest threads, so it uses pydantic-core's serializer
  (already installed with FastAPI), about five times faster than :mod:`json` here.

:func:`loads_strict` is the only way untrusted JSON enters the ledger: it refuses floats,
NaN/Infinity, integers outside the I-JSON safe range and duplicate object keys, so two
readers can never disagree about what a signed document says.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
import rfc8785

MAX_SAFE_INTEGER = 2**53 - 1

JSONValue = Any


class JSONError(ValueError):
    """Raised for JSON that Salus refuses to read."""


def jcs(value: JSONValue) -> bytes:
    """RFC 8785 canonical bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise JSONError(f"cannot canonicalise: {exc}") from exc


def state_bytes(value: JSONValue) -> bytes:
    """Deterministic bytes of a contract state value (see module docstring)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def compact_json(value: JSONValue) -> bytes:
    """UTF-8 JSON without spaces, for stored details and API answers (never hashed)."""
    return pydantic_core.to_json(value)


def _refuse_float(text: str) -> float:
    raise JSONError(f"floats are not allowed in signed data: {text}")


def _refuse_constant(text: str) -> float:
    raise JSONError(f"{text} is not JSON")


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


def loads_strict(data: bytes | str) -> JSONValue:
    """Parse JSON, refusing anything that could be read two ways."""
    try:
        return json.loads(
            data,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            object_pairs_hook=_unique_keys,
        )
    except JSONError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONError(f"not valid JSON: {exc}") from exc
