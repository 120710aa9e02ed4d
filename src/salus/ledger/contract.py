"""Contracts and the runtime that calls them.

A contract is a plain class whose transaction methods are marked with
``@method(who=<rule>)``. Each method takes a :class:`Context` and keyword arguments
annotated with the types of :mod:`salus.ledger.schema`; from those annotations the
registry builds the method's strict argument schema, and ``who`` is its authority rule
(:mod:`salus.ledger.authority`). Before a method runs, the runtime *admits* the call
(:meth:`Registry.admit`): the arguments fit the schema, the things they name exist, and
the signer may call it on that data. A method body then only deals with meaning.

Methods are deterministic: no wall clock (use ``ctx.time``, the block time), no
randomness, no floats, no I/O. A method refuses with :class:`~salus.ledger.codes.Rejected`,
and then nothing it wrote is kept.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from salus.ledger.authority import Rule
from salus.ledger.codes import Code, Rejected
from salus.ledger.schema import Invalid, MethodSchema
from salus.ledger.state import CommittedView, TxState, memoized

#: A SHA-256 as contracts take it: 64 lowercase hex digits, nothing after.
SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")

_MARK = "__salus_method__"


class NotAdmitted(Rejected):
    """A transaction that fails admission: what it asks is malformed, unknown, or not the
    signer's to ask, whatever the order. It is refused at ingress and, if a peer meets it
    in a block anyway, dropped by every peer alike: never kept in the log."""


def method(*, who: Rule) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a contract method as callable by transactions, under authority rule ``who``."""
    if not isinstance(who, Rule):
        raise TypeError("@method(who=...) needs an authority rule from salus.ledger.authority")

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _MARK, who)
        return fn
    return mark


@dataclass(slots=True)
class Context:
    """What a contract method may know and touch."""

    #: The transaction's state; at admission on ingress, a read-only view of committed state.
    state: TxState | CommittedView
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
    #: The chain's ``tx_time_window_ms`` (genesis): how far a signed time may be from the
    #: block time. Contracts that judge a signed request's time use the chain's window.
    time_window_ms: int = 10 * 60 * 1000
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Work a contract counts against its own per-transaction limit (the supply
    #: contract: items visited), so that a call of many steps is bounded as one is.
    touched: int = 0
    #: What the method's authority rule already computed in this transaction's own state
    #: (a supply capture's steps, run once while admitting it), for the body to return
    #: rather than run again.
    prepared: Any = None

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
class Method:
    """One transaction method: its code, argument schema and authority rule."""

    contract: str
    name: str
    fn: Callable[..., Any]
    schema: MethodSchema
    who: Rule

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.fn) or ""

    @property
    def full_name(self) -> str:
        return f"{self.contract}.{self.name}"

    def signature(self) -> str:
        """``name(arg, optional?)``, as help texts show a method."""
        required = set(self.schema.required)
        return f"{self.full_name}(" + ", ".join(
            a if a in required else f"{a}?" for a in self.schema.parameters) + ")"

    def describe(self) -> dict[str, Any]:
        """The method as the API and the CLI publish it: its rule, and its arguments'
        JSON Schema (the same schema admission checks)."""
        return {"contract": self.contract, "method": self.name, "doc": self.doc,
                "who": self.who.describe(), "rule": self.who.cites,
                "arguments": self.schema.parameters, "required": self.schema.required}


def _schema(contract: str, fn: Callable[..., Any]) -> MethodSchema:
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, tuple[Any, Any]] = {}
    for p in list(inspect.signature(fn).parameters.values())[1:]:  # skip ctx
        if p.kind is not inspect.Parameter.KEYWORD_ONLY and p.kind is not \
                inspect.Parameter.POSITIONAL_OR_KEYWORD:
            raise TypeError(f"{fn.__qualname__}: *args / **kwargs are not arguments")
        fields[p.name] = (hints[p.name], ... if p.default is inspect.Parameter.empty else p.default)
    return MethodSchema(f"{contract}.{fn.__name__}", fields)


def bind(contract: Contract, name: str) -> Method:
    """Contract ``contract``'s transaction method ``name``: its code, schema and rule (as
    the registry holds it; a contract that runs its own methods as steps of one call
    builds them with this)."""
    fn = getattr(contract, name)
    who = getattr(fn, _MARK, None)
    if who is None:
        raise TypeError(f"{type(contract).__name__}.{name} is not a @method")
    return Method(contract.name, name, fn, _schema(contract.name, fn), who)


class Contract:
    """Base class: subclasses set ``name`` and mark methods with :func:`method`."""

    name: ClassVar[str]


class Registry:
    """Contracts by name, each method with its schema and rule."""

    def __init__(self, contracts: list[Contract]) -> None:
        self._methods: dict[str, dict[str, Method]] = {}
        for contract in contracts:
            table: dict[str, Method] = {}
            for name, fn in inspect.getmembers(contract, callable):
                if getattr(fn, _MARK, None) is not None:
                    table[name] = bind(contract, name)
            self._methods[contract.name] = table

    @property
    def contracts(self) -> list[str]:
        return sorted(self._methods)

    def has(self, contract: str) -> bool:
        return contract in self._methods

    def methods(self, contract: str) -> list[str]:
        return sorted(self._methods.get(contract, {}))

    def all_methods(self) -> list[Method]:
        return [m for c in self.contracts for m in (self._methods[c][n] for n in self.methods(c))]

    def rules_table(self) -> str:
        """Every method with its authority rule, as the markdown table in docs/security.md
        (a test compares the two, so the document cannot drift from the code)."""
        rows = ["| method (? = optional argument) | who may call it | rule |", "|---|---|---|"]
        rows += [f"| `{m.signature()}` | {m.who.describe()} | {m.who.cites} |"
                 for m in self.all_methods()]
        return "\n".join(rows) + "\n"

    def lookup(self, contract: str, method_name: str) -> Method:
        """The method, or ``NotAdmitted`` (UNKNOWN_CONTRACT / UNKNOWN_METHOD)."""
        table = self._methods.get(contract)
        if table is None:
            raise NotAdmitted(Code.UNKNOWN_CONTRACT, f"no contract named {contract!r} (there "
                                                     f"are: {', '.join(self.contracts)})")
        found = table.get(method_name)
        if found is None:
            raise NotAdmitted(Code.UNKNOWN_METHOD,
                              f"contract {contract!r} has no method {method_name!r} "
                              f"(it has: {', '.join(sorted(table))})")
        return found

    @staticmethod
    def check_args(found: Method, args: dict[str, Any], get: Callable[[str], Any] | None) -> None:
        """The arguments fit the method's schema (and, given state, name what exists)."""
        try:
            found.schema.check(args, get)
        except Invalid as exc:
            raise NotAdmitted(Code.NOT_FOUND if exc.not_found else Code.BAD_ARGUMENTS,
                              exc.reason) from None

    def admit(self, ctx: Context, found: Method, args: dict[str, Any],
              args_known_good: bool = False) -> None:
        """Admission of one call in ``ctx``: schema, references, then the authority rule.
        ``args_known_good``: these exact arguments already fit a schema that reads no
        state. Raises :class:`NotAdmitted`; changes nothing."""
        if not args_known_good:
            reads_state = found.schema.reads_state
            self.check_args(found, args, memoized(ctx.get) if reads_state else None)
        try:
            found.who.check(ctx, args)
        except NotAdmitted:
            raise
        except Rejected as exc:
            raise NotAdmitted(exc.code, exc.reason) from None

    @staticmethod
    def call(ctx: Context, found: Method, args: dict[str, Any]) -> Any:
        """Run an admitted call."""
        return found.fn(ctx, **args)
