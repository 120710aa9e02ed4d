"""Argument schemas of contract methods: the one source for admission, docs and the CLI.

A method's parameters are annotated with the types below (``Annotated`` pydantic types).
From them the registry builds one strict model per method, and that model is:

* the check every transaction's ``args`` pass at admission, on the node's ingress and
  again on every peer before execution (:func:`MethodSchema.check`);
* the JSON Schema published at ``GET /v1/contracts`` and printed by ``salus tx --help``.

Rules every schema is held to when the registry is built (:func:`audit_schema`), so a
method cannot be added that breaks them:

1. Every string is an enumeration, a constant, or has a pattern *and* a maximum length.
   A string that is neither is free text, allowed only where the method says why
   (:func:`free_text`): free text is how health information would reach the ledger.
2. Every integer has a minimum and a maximum (no number past 2^53, none negative where
   a count is meant).
3. Every list has a maximum number of items; every object is closed (no undeclared keys).

Validation is strict: no coercion (``"1"`` is not ``1``, ``true`` is not ``1``), and
patterns run on a linear-time engine (Rust ``regex``, pydantic-core's default), so no
argument can make a peer backtrack for ever. A reference type (:func:`reference`) also
checks, given the state, that what it names exists: an id of something that does not
exist is refused at admission, before it can be written anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo
from pydantic import create_model as _create_model
from pydantic_core import PydanticCustomError

from salus.identity import ed25519_from_did, x25519_from_did
from salus.identity.did import DIDError

#: pydantic error types that mean "names something that does not exist" (-> NOT_FOUND).
NOT_FOUND_ERROR = "not_found"

STRICT = ConfigDict(strict=True, extra="forbid", regex_engine="rust-regex")

#: Getter of committed state (parsed values), as references see it.
StateGetter = Callable[[str], Any]


# -- building blocks -----------------------------------------------------------------------
def text(pattern: str, max_length: int, description: str) -> Any:
    """A string matching ``pattern`` (anchored here), at most ``max_length`` long."""
    return Annotated[str, StringConstraints(pattern=f"^(?:{pattern})$", max_length=max_length),
                     Field(description=description)]


def free_text(max_length: int, why: str) -> Any:
    """A string of any content, bounded: only where the method states ``why`` it needs one."""
    return Annotated[str, StringConstraints(max_length=max_length),
                     Field(description=f"free text ({why})", json_schema_extra={"x-free-text": why})]


def integer(minimum: int, maximum: int, description: str) -> Any:
    return Annotated[int, Field(ge=minimum, le=maximum, description=description)]


def array(item: Any, min_items: int, max_items: int, description: str) -> Any:
    return Annotated[list[item], Field(min_length=min_items, max_length=max_items,  # type: ignore[valid-type]
                                       description=description)]


def one_of(values: frozenset[str] | tuple[str, ...], description: str) -> Any:
    """One of a fixed vocabulary of codes."""
    return Annotated[Literal[tuple(sorted(values))], Field(description=description)]  # type: ignore[misc]


def _did_check(decode: Callable[[str], bytes], kind: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            decode(value)
        except DIDError:
            raise PydanticCustomError("bad_did", "not a did:key of an {kind} key",
                                      {"kind": kind}) from None
        return value
    return check


@dataclass(frozen=True, slots=True)
class _Exists:
    """AfterValidator body: the value names something present in state (given one)."""

    what: str
    key: Callable[[str], str]
    accept: Callable[[Any], bool] | None

    def __call__(self, value: str, info: ValidationInfo) -> str:
        get = info.context.get("get") if isinstance(info.context, dict) else None
        if get is not None:
            found = get(self.key(value))
            if found is None or (self.accept is not None and not self.accept(found)):
                raise PydanticCustomError(NOT_FOUND_ERROR, "no {what} {value}",
                                          {"what": self.what, "value": value})
        return value


def reference(base: Any, what: str, key: Callable[[str], str],
              accept: Callable[[Any], bool] | None = None) -> Any:
    """``base`` that must also name an existing ``what``: state key ``key(value)``, whose
    value ``accept`` (if given) approves."""
    return Annotated[base, AfterValidator(_Exists(what, key, accept)),
                     Field(json_schema_extra={"x-reference": what})]


# -- the shared vocabulary -------------------------------------------------------------------
_BASE58 = "[1-9A-HJ-NP-Za-km-z]"
DID_PATTERN = f"did:key:z{_BASE58}{{44,50}}"
Sha256Hex = text("[0-9a-f]{64}", 64, "SHA-256, 64 lowercase hex digits")
SigningDid = Annotated[text(DID_PATTERN, 64, "did:key of an Ed25519 signing key"),
                       AfterValidator(_did_check(ed25519_from_did, "Ed25519"))]
EncryptionDid = Annotated[text(DID_PATTERN, 64, "did:key of an X25519 encryption key"),
                          AfterValidator(_did_check(x25519_from_did, "X25519"))]
#: A code a member chooses (an activity, a module, a list id): no spaces, no sentences.
CODE_PATTERN = "[A-Za-z0-9._-]{1,64}"
ShortCode = text(CODE_PATTERN, 64, "a code: 1-64 of A-Z a-z 0-9 . _ -")
#: A code that may also be left empty.
OptionalCode = text(f"|{CODE_PATTERN}", 64, "a code: 0-64 of A-Z a-z 0-9 . _ -")
Date = text("[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", 10, "a date, YYYY-MM-DD")
#: Organisation ids double as parts of state keys and urls.
ORG_ID_PATTERN = "[a-z0-9][a-z0-9-]{0,62}"
ORG_ID = re.compile(f"{ORG_ID_PATTERN}\\Z")
OrgId = text(ORG_ID_PATTERN, 63, "organisation id: lowercase letters, digits and -")
#: Block heights and times (ms since epoch): what JSON carries exactly.
MAX_JSON_INT = 2**53 - 1
Height = integer(0, MAX_JSON_INT, "a block height")
TimeMs = integer(0, MAX_JSON_INT, "ms since the Unix epoch")


# -- method schemas ------------------------------------------------------------------------
@dataclass(frozen=True)
class Invalid(Exception):
    """Arguments that do not fit the schema; ``not_found`` when all that is wrong is
    that they name something absent."""

    reason: str
    not_found: bool


class MethodSchema:
    """The strict model of one method's arguments."""

    def __init__(self, name: str, fields: dict[str, tuple[Any, Any]]) -> None:
        self.name = name
        self.model = _create_model(name, __config__=STRICT, **fields)  # type: ignore[call-overload]
        self._validate = self.model.__pydantic_validator__.validate_python
        self.json_schema: dict[str, Any] = self.model.model_json_schema()
        audit_schema(name, self.json_schema)
        #: Whether checking needs state (a reference); if not, a verdict depends on the
        #: arguments alone and can be remembered.
        self.reads_state = '"x-reference"' in json.dumps(self.json_schema)

    def check(self, args: dict[str, Any], get: StateGetter | None = None) -> None:
        """Raise :class:`Invalid` unless ``args`` fit; with ``get``, references must
        also name what exists in that state."""
        try:
            self._validate(args, strict=True, context={"get": get} if get else None)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            first = errors[0]
            where = ".".join(str(p) for p in first["loc"]) or "args"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise Invalid(f"argument {where}: {first['msg']}{more}",
                          all(e["type"] == NOT_FOUND_ERROR for e in errors)) from None

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """Each argument's JSON Schema (``$ref``s resolved), in declaration order."""
        defs = self.json_schema.get("$defs", {})
        return {name: _resolve(prop, defs) for name, prop in self.json_schema["properties"].items()}

    @property
    def required(self) -> list[str]:
        return list(self.json_schema.get("required", []))

    @property
    def free_text(self) -> dict[str, str]:
        """Arguments (dotted paths) declared as free text, with the reason given."""
        out: dict[str, str] = {}
        _walk(self.json_schema, self.json_schema.get("$defs", {}), "",
              lambda path, node: out.update({path: node["x-free-text"]})
              if "x-free-text" in node else None)
        return out


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        return {k: _resolve(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def _walk(node: dict[str, Any], defs: dict[str, Any], path: str,
          visit: Callable[[str, dict[str, Any]], None]) -> None:
    if "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    visit(path, node)
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        _walk(branch, defs, path, visit)
    for name, prop in node.get("properties", {}).items():
        _walk(prop, defs, f"{path}.{name}" if path else name, visit)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], defs, f"{path}[]", visit)


class SchemaError(TypeError):
    """A method's declared arguments break a schema rule (see the module docstring)."""


def audit_schema(name: str, schema: dict[str, Any]) -> None:
    """Hold a method's schema to the rules of the module docstring."""
    problems: list[str] = []

    def visit(path: str, node: dict[str, Any]) -> None:
        kind = node.get("type")
        where = path or "args"
        if kind == "string" and "enum" not in node and "const" not in node:
            if "maxLength" not in node:
                problems.append(f"{where}: a string needs a maximum length")
            if "pattern" not in node and "x-free-text" not in node:
                problems.append(f"{where}: a string needs a pattern or enumeration; free text "
                                "must be declared with free_text(..., why)")
        elif kind == "integer" and ("minimum" not in node or "maximum" not in node):
            problems.append(f"{where}: an integer needs a minimum and a maximum")
        elif kind == "array" and "maxItems" not in node:
            problems.append(f"{where}: a list needs a maximum number of items")
        elif kind == "object" and node.get("additionalProperties") is not False:
            problems.append(f"{where}: an object must be closed (extra='forbid')")
        elif kind == "number":
            problems.append(f"{where}: no floats in signed data")
        elif kind is None and not any(k in node for k in ("anyOf", "oneOf", "enum", "const")):
            problems.append(f"{where}: an untyped value")

    _walk(schema, schema.get("$defs", {}), "", visit)
    if problems:
        raise SchemaError(f"{name}: " + "; ".join(problems))
