"""Deterministic execution of one block: the only place transactions change state.

Given the committed state, the block's height and time and its transactions in order,
:meth:`Executor.execute` returns the results of the transactions the block keeps, those
it drops, and the block's net writes. It does no I/O and reads no clock: the node's
commit path and ``salus audit`` both run it, and any two peers running it over the same
blocks reach the same state hash.

Each transaction is first *admitted*, in these steps (``docs/security.md`` cites them; the
node's ingress runs the same through :meth:`Executor.admit`):

* S1 it decodes, within the size limit (``MALFORMED``, ``TOO_LARGE``);
* S2 it is signed for this chain (``WRONG_CHAIN``);
* S3 its signature verifies under the key it names (``BAD_SIGNATURE``);
* S4 the method exists (``UNKNOWN_CONTRACT``, ``UNKNOWN_METHOD``);
* S5 its signer holds an active key of a member; only a newcomer's own registration is
  signed by a non-member (``UNKNOWN_SIGNER``, ``KEY_NOT_ACTIVE``);
* S6 the arguments fit the method's schema and what they name exists (``BAD_ARGUMENTS``,
  ``NOT_FOUND``: :mod:`salus.ledger.schema`);
* S7 the method's authority rule allows this signer on this data (``FORBIDDEN``:
  :mod:`salus.ledger.authority`).

What fails admission is dropped, identically on every peer: it never reaches the log, so
nothing a non-member or a malformed request sends is ever stored. What is admitted is
then judged on what depends on order: O1 a second copy (``DUPLICATE``), O2 a time too far
from the block's (``STALE``), O3 a nonce already used (``REPLAYED_NONCE``), O4 the
contract's own checks. Failures there are kept in the block as invalid, with their code,
and change nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from salus.ledger import transaction
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Method, NotAdmitted, Registry
from salus.ledger.genesis import Genesis
from salus.ledger.log import leaf_hash
from salus.ledger.members import key_entry, key_index, member_key
from salus.ledger.state import BlockState, CommittedView, Reader, TxState

_ARGS_GOOD_LIMIT = 200_000
_RECORD_CACHE_LIMIT = 100_000
_MEMBERSHIP_PREFIXES = ("member/", "key/")


def nonce_key(did: str) -> str:
    return f"nonce/{did}"


@dataclass(slots=True)
class TxResult:
    id: bytes
    raw: bytes
    code: str
    reason: str
    rw: dict[str, Any] | None = None
    output: Any = None
    events: list[dict[str, Any]] = field(default_factory=list)
    signer: str | None = None
    contract: str | None = None
    method: str | None = None


@dataclass(slots=True)
class BlockOutcome:
    results: list[TxResult]  # what the block keeps, in order
    writes: dict[str, bytes | None]
    #: What failed admission: never stored. Only their submitters hear of them.
    dropped: list[TxResult] = field(default_factory=list)


class Executor:
    def __init__(self, genesis: Genesis, registry: Registry) -> None:
        self.chain_id = genesis.chain_id
        self.max_tx_bytes = genesis.params["max_tx_bytes"]
        self.window = genesis.params["tx_time_window_ms"]
        self.registry = registry
        # Membership records by their exact bytes, parsed once: every transaction looks
        # up its signer's record, and parsing it again was a fifth of execution.
        self._records: dict[bytes, Any] = {}
        # Ids of transactions whose arguments fit a schema that reads no state: a pure
        # verdict, so a block need not check again what ingress just checked here.
        self._args_good: dict[bytes, None] = {}

    def decode(self, raw: bytes) -> transaction.Transaction:
        return transaction.decode(raw, self.max_tx_bytes)

    def check_stateless(self, tx: transaction.Transaction) -> Method:
        """Admission checks that need no state; returns the method called."""
        if tx.chain != self.chain_id:
            raise NotAdmitted(Code.WRONG_CHAIN,
                              f"signed for chain {tx.chain!r}; this is {self.chain_id!r}")
        return self.registry.lookup(tx.contract, tx.method)

    def admit(self, read: Reader, tx: transaction.Transaction, height: int, now: int) -> None:
        """Ingress: would ``tx`` be admitted into block ``height`` over committed state
        ``read``, at time ``now``? Raises what :meth:`execute` would drop it for, or a
        refusal it would surely meet in a block (a used nonce, a stale time). Writes
        nothing."""
        found = self.check_stateless(tx)
        state = CommittedView(read)
        ctx = self._admitted(state, found, tx, self._signer(state, tx.signer), height, now, 0)
        self._check_order(ctx, tx, now)

    def execute(
        self,
        read: Reader,
        height: int,
        time: int,
        txs: list[transaction.Transaction | bytes],
        signature_ok: list[bool],
        already_ordered: set[bytes],
    ) -> BlockOutcome:
        """Run a block. ``signature_ok[i]`` says whether tx i's signature verified;
        ``already_ordered`` holds ids of earlier transactions that appear again."""
        block = BlockState(read)
        results: list[TxResult] = []
        dropped: list[TxResult] = []
        seen: set[bytes] = set()
        # Signer lookups, valid until a transaction in this block changes membership.
        signers: dict[str, dict[str, Any] | None] = {}
        for tx, sig_ok in zip(txs, signature_ok, strict=True):
            if isinstance(tx, bytes):
                try:
                    tx = self.decode(tx)
                except Rejected as exc:
                    dropped.append(TxResult(leaf_hash(tx), tx, exc.code, exc.reason))
                    continue
            result = TxResult(tx.id, tx.raw, Code.VALID, "", signer=tx.signer,
                              contract=tx.contract, method=tx.method)
            try:
                if not sig_ok:  # S3
                    raise NotAdmitted(Code.BAD_SIGNATURE, transaction.BAD_SIGNATURE_REASON)
                found = self.check_stateless(tx)  # S2, S4
                state = TxState(block)
                if tx.signer in signers:
                    member = signers[tx.signer]
                    state.reads.append(key_index(tx.signer))
                else:
                    member = signers[tx.signer] = self._signer(state, tx.signer)
                # Kept transactions are numbered without gaps: contracts key entries by
                # their index, and a re-execution of the stored block sees the same.
                ctx = self._admitted(state, found, tx, member, height, time, len(results))
                if tx.id in seen or tx.id in already_ordered:  # O1
                    raise Rejected(Code.DUPLICATE, "this exact transaction was already ordered")
                seen.add(tx.id)
                self._check_order(ctx, tx, time)
                self._run(ctx, found, tx, result, signers)
            except NotAdmitted as exc:
                result.code, result.reason = exc.code, exc.reason
                dropped.append(result)
                continue
            except Rejected as exc:
                result.code, result.reason = exc.code, exc.reason
                result.rw, result.output, result.events = None, None, []
            results.append(result)
        return BlockOutcome(results, block.writes, dropped)

    def _membership_record(self, state: TxState | CommittedView, key: str) -> Any:
        """``state.get`` for the signer lookup. Equal bytes parse to equal records, and
        the record is only read (a contract that changes a member loads it afresh), so
        one parsed copy serves every transaction that reads the same bytes."""
        raw = state.get_bytes(key)
        if raw is None:
            return None
        try:
            return self._records[raw]
        except KeyError:
            if len(self._records) >= _RECORD_CACHE_LIMIT:
                self._records.clear()
            record = self._records[raw] = json.loads(raw)
            return record

    def _signer(self, state: TxState | CommittedView, did: str) -> dict[str, Any] | None:
        """``members.member_of_key`` over parsed-once records."""
        member_id = self._membership_record(state, key_index(did))
        return None if member_id is None else self._membership_record(state, member_key(member_id))

    def _admitted(self, state: TxState | CommittedView, found: Method, tx: transaction.Transaction,
                  member: dict[str, Any] | None, height: int, time: int, index: int) -> Context:
        """S5-S7: the signer's standing, the arguments and the authority rule."""
        if member is None:
            if not found.who.newcomer:
                raise NotAdmitted(Code.UNKNOWN_SIGNER,
                                  f"{tx.signer} is not a member of this chain")
        else:
            entry = key_entry(member, tx.signer)
            if entry is None or entry["status"] != "active":
                status = entry["status"] if entry else "unknown"
                raise NotAdmitted(Code.KEY_NOT_ACTIVE, f"signing key is {status}; sign with "
                                                       "the member's current key")
        ctx = Context(state=state, signer=tx.signer, member=member, height=height, time=time,
                      tx_id=tx.id.hex(), chain_id=self.chain_id, index=index,
                      time_window_ms=self.window)
        known = tx.id in self._args_good
        self.registry.admit(ctx, found, tx.args, known)
        if not known and not found.schema.reads_state:
            if len(self._args_good) >= _ARGS_GOOD_LIMIT:
                self._args_good.clear()
            self._args_good[tx.id] = None
        return ctx

    def _check_order(self, ctx: Context, tx: transaction.Transaction, time: int) -> None:
        """O2, O3: what an admitted transaction can still fail on, depending on what came
        first."""
        if abs(time - tx.time) > self.window:
            raise Rejected(Code.STALE, f"transaction time {tx.time} is more than "
                                       f"{self.window} ms from block time {time}")
        last = ctx.state.get_bytes(nonce_key(tx.signer))
        if last is not None and tx.nonce <= int(last):
            raise Rejected(Code.REPLAYED_NONCE,
                           f"nonce {tx.nonce} is not above the last committed nonce {int(last)}")

    def _run(self, ctx: Context, found: Method, tx: transaction.Transaction,
             result: TxResult, signers: dict[str, dict[str, Any] | None]) -> None:
        state = ctx.state
        try:
            output = self.registry.call(ctx, found, tx.args)
        except NotAdmitted as exc:  # admission is over: a body's refusal is kept
            raise Rejected(exc.code, exc.reason) from None
        except Rejected:
            raise
        except Exception as exc:  # a contract bug must not stop the chain
            raise Rejected(Code.CONTRACT_ERROR, f"{type(exc).__name__}: {exc}") from None
        if any(k.startswith(_MEMBERSHIP_PREFIXES) for k in state.writes):
            signers.clear()
        state.writes[nonce_key(tx.signer)] = b"%d" % tx.nonce  # == state_bytes(tx.nonce)
        state.commit()
        result.rw = state.rw_set()
        result.output = output
        result.events = ctx.events
