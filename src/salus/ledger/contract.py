"""Contracts and the runtime that calls them.

A contract is a plain class whose public transaction methods are marked with
:func:`method`. Each method takes a :class:`Context` and keyword arguments with simple
annotations (``str``, ``int``, ``bool``, ``list[str]``, ``dict``, or ``X | None`` with a
default); the runtime checks the arguments against the signature before the call, so a
method body only deals with meaning. Methods are deterministic: no wall clock (use
``ctx.time``, the block time), no randomness, no floats, no I/O. A method refuses with
:class:`~salus.ledger.codes.Rejected`, and then nothing it wrote is kept.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from salus.ledger.codes import Code, Rejected
from salus.ledger.state import TxState

#: A SHA-256 as contracts take it: 64 lowercase hex digits, nothing after.
SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")

_MARK = "__salus_method__"


def method(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a contract method as callable by transactions."""
    setattr(fn, _MARK, True)
    return fn


@dataclass(slots=True)
class Context:
    """What a contract method may know and touch."""

    state: TxState
    signer: str  # did:key of the signing key
    #: The signer's membership record (None for a newcomer). Shared by every transaction
    #: that reads the same record, across blocks, and so read-only: a method that changes
    #: a member loads its record from state.
    member: dict[str, Any] | None
    height: int
    time: int  # block time, ms since epoch
    tx_id: str
    chain_id: str
    index: int = 0  # position of the transaction in its block
    events: list[dict[str, Any]] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return self.state.get(key)

    def put(self, key: str, value: Any) -> None:
        self.state.put(key, value)

    def delete(self, key: str) -> None:
        self.state.delete(key)

    def emit(self, kind: str, **data: Any) -> None:
        """Record an event for subscribers (notifications); it is part of the receipt."""
        self.events.append({"kind": kind, **data})

    @property
    def member_id(self) -> str:
        if self.member is None:
            raise Rejected(Code.UNKNOWN_SIGNER, f"{self.signer} is not a member")
        return self.member["id"]


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    check: Callable[[Any], bool]
    kind: str
    required: bool


def _checker(annotation: Any) -> tuple[Callable[[Any], bool], str, bool]:
    """(predicate, description, optional?) for one parameter annotation."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        check, kind, _ = _checker(inner[0])
        return (lambda v: v is None or check(v)), f"{kind} or null", True
    if annotation is str:
        return (lambda v: type(v) is str), "string", False
    if annotation is int:
        return (lambda v: type(v) is int), "integer", False
    if annotation is bool:
        return (lambda v: type(v) is bool), "boolean", False
    if origin is list and typing.get_args(annotation) == (str,):
        return (lambda v: type(v) is list and all(type(x) is str for x in v)), "list of strings", False
    if annotation is dict or origin is dict:
        return (lambda v: type(v) is dict), "object", False
    if annotation is list or origin is list:
        return (lambda v: type(v) is list), "list", False
    raise TypeError(f"unsupported contract parameter annotation: {annotation!r}")


class Contract:
    """Base class: subclasses set ``name`` and mark methods with :func:`method`."""

    name: ClassVar[str]


class Registry:
    """Contracts by name, with each method's checked parameter list."""

    def __init__(self, contracts: list[Contract]) -> None:
        self._methods: dict[str, dict[str, tuple[Callable[..., Any], list[_Param]]]] = {}
        for contract in contracts:
            table: dict[str, tuple[Callable[..., Any], list[_Param]]] = {}
            for name, fn in inspect.getmembers(contract, callable):
                if getattr(fn, _MARK, False):
                    table[name] = (fn, self._params(fn))
            self._methods[contract.name] = table

    @staticmethod
    def _params(fn: Callable[..., Any]) -> list[_Param]:
        hints = typing.get_type_hints(fn)
        params = []
        for p in list(inspect.signature(fn).parameters.values())[1:]:  # skip ctx
            check, kind, optional = _checker(hints[p.name])
            params.append(_Param(p.name, check, kind, p.default is inspect.Parameter.empty))
            if optional and p.default is inspect.Parameter.empty:
                raise TypeError(f"{fn.__qualname__}: optional parameter {p.name} needs a default")
        return params

    @property
    def contracts(self) -> list[str]:
        return sorted(self._methods)

    def has(self, contract: str) -> bool:
        return contract in self._methods

    def methods(self, contract: str) -> list[str]:
        return sorted(self._methods.get(contract, {}))

    def call(self, ctx: Context, contract: str, method_name: str, args: dict[str, Any]) -> Any:
        table = self._methods.get(contract)
        if table is None:
            raise Rejected(Code.UNKNOWN_CONTRACT, f"no contract named {contract!r}")
        entry = table.get(method_name)
        if entry is None:
            raise Rejected(
                Code.UNKNOWN_METHOD,
                f"contract {contract!r} has no method {method_name!r} "
                f"(it has: {', '.join(sorted(table))})",
            )
        fn, params = entry
        known = {p.name for p in params}
        unknown = sorted(set(args) - known)
        if unknown:
            raise Rejected(Code.BAD_ARGUMENTS, f"unexpected argument(s): {', '.join(unknown)}")
        for p in params:
            if p.name not in args:
                if p.required:
                    raise Rejected(Code.BAD_ARGUMENTS, f"missing argument {p.name!r}")
            elif not p.check(args[p.name]):
                raise Rejected(Code.BAD_ARGUMENTS, f"argument {p.name!r} must be a {p.kind}")
        return fn(ctx, **args)
