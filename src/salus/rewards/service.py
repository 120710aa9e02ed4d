"""The sponsor's rewards service: awards points for verified events (issue 18, RW5-RW7).

Opened by the node (``app.state.rewards``; ``salus node --no-rewards`` turns it off) for
each hosted sponsor (a hospital or insurer whose admin or rewards key is in the data
directory) that has a published programme. Each acts through its ``rewards_service`` key
(``keys/<org>-rewards.key``, enrolled by the organisation's admin key the first time: an
award is never signed with the admin's key).

On every new block it looks at the record registrations it carries; for one of a patient
enrolled in a programme of the sponsor that rewards it, it reads the record's current
version in the sponsor's vault (:mod:`salus.rewards.vault_reader`), decides
(:func:`salus.rewards.awarding.decide`) and signs ``rewards.award``. Every outcome past
the enrolment check is remembered per record version (:mod:`salus.rewards.decisions`):
a refusal is logged once with its code and never retried; a restart catches up by
scanning the enrolled patients' records, skipping what the ledger shows rewarded and
what was decided before. Logs say codes, record ids and heights: never a patient, never
what a record says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.node.node import Node, NodeUnavailable
from salus.node.receipt import Receipt
from salus.node.service_key import LedgerWriter, service_key
from salus.node.service_key import hosted_orgs as hosted
from salus.records.contracts.layout import patient_records_prefix
from salus.records.custodian import Custodian
from salus.rewards.awarding import AWARD, Verdict, decide, sponsor_programmes
from salus.rewards.contracts.layout import (
    EVENT_RECORD_TYPES,
    SERVICE_ROLE,
    SPONSOR_TYPES,
    enrolment_prefix,
)
from salus.rewards.decisions import Decisions
from salus.rewards.vault_reader import VaultReader

log = logging.getLogger("salus.rewards")

#: Refusals the follower neither logs nor remembers: cheap ledger checks that most
#: registrations fail (another sponsor's patient, an observation), and whose answer can
#: change only with the ledger (which the contract checks again anyway).
QUIET = frozenset({"UNKNOWN_RECORD", "NOT_AN_EVENT_TYPE", "NOT_REWARDED", "NOT_ENROLLED",
                   "ALREADY_AWARDED"})
EVENT_TYPES = frozenset(EVENT_RECORD_TYPES.values())
#: How long an award may take to commit before the service stops waiting (it is not
#: remembered then: the next catch-up finds it rewarded on the ledger, or tries again).
COMMIT_TIMEOUT_S = 30.0


def rewards_key_path(datadir: DataDir, org: str) -> Path:
    return datadir.keys_dir / f"{org}-rewards.key"


def decisions_path(datadir: DataDir, org: str) -> Path:
    return datadir.path / "rewards" / f"{org}.db"


def hosted_orgs(node: Node, datadir: DataDir) -> list[str]:
    """Hospitals and insurers whose admin or rewards key is here and that publish a
    programme."""
    items = node.ledger.store.state_items
    return [org for org in hosted(node, datadir, SPONSOR_TYPES, rewards_key_path)
            if sponsor_programmes(items, org)]


class AwardRefused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class Sponsor:
    """One sponsor the node awards for: its service key, writer, vault reader, memory."""

    org: str
    key: Identity
    writer: LedgerWriter
    read_event: VaultReader
    decisions: Decisions


class RewardsService:
    def __init__(self, node: Node, sponsors: dict[str, Sponsor],
                 clock: Callable[[], int] = wall_clock_ms,
                 adopt: Callable[[str], Awaitable[Sponsor | None]] | None = None) -> None:
        """``adopt(org)``: the sponsor ``org`` set up (its key enrolled) when it publishes
        its first programme, or None if this node does not act for it."""
        self.node = node
        self.adopt = adopt
        self.ledger = node.ledger
        self.sponsors = sponsors
        self.clock = clock
        self._busy: set[tuple[str, str]] = set()  # (sponsor, record) being decided now
        self._follower: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # set whenever the follower has nothing queued

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        # Subscribe before catching up: a block committed meanwhile is seen twice at
        # worst (and decided once), never missed.
        queue = self.node.subscribe_blocks(maxsize=0)
        self._follower = asyncio.create_task(self._follow(queue), name="rewards-follower")

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        for sponsor in self.sponsors.values():
            sponsor.decisions.close()

    async def _follow(self, queue: asyncio.Queue[Any]) -> None:
        try:
            for sponsor in self.sponsors.values():
                await self._decide_all(sponsor, self.backlog(sponsor), quiet=True)
            while True:
                if queue.empty():
                    self.idle.set()
                block = await queue.get()
                self.idle.clear()
                if block is None:
                    break
                registered = [e["record"] for r in block.results for e in r.events or []
                              if e["kind"] == "record_registered"]
                republished = {e["sponsor"] for r in block.results for e in r.events or []
                               if e["kind"] == "rewards_programme_published"}
                for org in sorted(republished - set(self.sponsors)):
                    await self._adopt(org)
                for sponsor in self.sponsors.values():
                    records = registered
                    if sponsor.org in republished:  # new terms may reward what was not
                        records = [*registered, *self.backlog(sponsor)]
                    try:
                        await self._decide_all(sponsor, records, quiet=True)
                    except Exception:  # one bad block must not stop the service
                        log.exception("rewards %s: block %d not processed", sponsor.org,
                                      block.header.height)
        finally:
            self.node.unsubscribe_blocks(queue)

    async def _adopt(self, org: str) -> None:
        if self.adopt is None:
            return
        try:
            sponsor = await self.adopt(org)
        except Exception as exc:  # e.g. no admin key to enrol the service key with
            log.error("rewards %s: the service could not start: %s", org, exc)
            return
        if sponsor is not None:
            self.sponsors[org] = sponsor
            log.info("rewards %s: the service started (first programme published)", org)

    # -- deciding ------------------------------------------------------------------------
    def backlog(self, sponsor: Sponsor) -> list[str]:
        """Records of patients enrolled in the sponsor's programmes, registered since they
        enrolled, that the ledger does not show rewarded and that were not decided."""
        items, get = self.ledger.store.state_items, self.ledger.state_value
        out: dict[str, None] = {}
        for programme in sponsor_programmes(items, sponsor.org):
            for patient, enrolment in items(enrolment_prefix(programme["id"])):
                if enrolment["status"] != "enrolled":
                    continue
                for record_id, _ in items(patient_records_prefix(patient)):
                    record = get(f"record/{record_id}")
                    if (record is not None and record["type"] in EVENT_TYPES
                            and record["height"] >= enrolment["height"]
                            and sponsor.decisions.decided(record_id, record["version"]) is None):
                        out[record_id] = None
        return list(out)

    def verdict(self, sponsor: Sponsor, record: str, programme: str | None = None) -> Verdict:
        return decide(self.ledger.state_value, self.ledger.store.state_items, sponsor.org,
                      record, self.ledger.head.time, sponsor.read_event, programme)

    async def _decide_all(self, sponsor: Sponsor, records: list[str], *, quiet: bool) -> None:
        """Decide each record; sign every award first, then wait for them all."""
        pending: list[tuple[Verdict, Any]] = []
        for record in records:
            if (sponsor.org, record) in self._busy:
                continue
            verdict = self.verdict(sponsor, record)
            if not verdict.award:
                self._refused(sponsor, verdict, record, quiet=quiet)
                continue
            version = verdict.record["version"]
            if sponsor.decisions.decided(record, version) is not None:
                continue
            self._busy.add((sponsor.org, record))
            pending.append((verdict, await self._send(sponsor, verdict)))
        for verdict, sent in pending:
            try:
                await self._settle(sponsor, verdict, sent)
            finally:
                self._busy.discard((sponsor.org, verdict.args["record"]))  # type: ignore[index]

    def _refused(self, sponsor: Sponsor, verdict: Verdict, record: str, *, quiet: bool) -> None:
        if quiet and verdict.code in QUIET:
            return
        version = verdict.record.get("version", 0)
        if verdict.final:
            if sponsor.decisions.decided(record, version) is not None:
                return
            sponsor.decisions.remember(record, version, verdict.code, self.ledger.height)
        log.info("rewards %s: no award for record %s v%s: %s", sponsor.org, record, version,
                 verdict.code)

    async def _send(self, sponsor: Sponsor, verdict: Verdict) -> Any:
        try:
            return await sponsor.writer.send("rewards", "award", verdict.args or {},
                                             self.clock(), want_commit=True)
        except NodeUnavailable as exc:
            return Receipt("", "refused", code=exc.code, reason=exc.reason)

    async def _settle(self, sponsor: Sponsor, verdict: Verdict, sent: Any) -> Receipt:
        assert verdict.args is not None
        record, version = verdict.args["record"], verdict.record["version"]
        try:
            receipt = sent if isinstance(sent, Receipt) else \
                await asyncio.wait_for(sent, COMMIT_TIMEOUT_S)
        except (TimeoutError, NodeUnavailable):
            receipt = Receipt("", "pending", reason="not committed in time")
        if receipt.valid:
            sponsor.decisions.remember(record, version, AWARD, receipt.height or 0,
                                       receipt.tx_id)
            log.info("rewards %s: awarded %s for record %s v%s (tx %s)", sponsor.org,
                     verdict.args["event"], record, version, receipt.tx_id)
        elif receipt.status == "committed":  # the contract refused it: remember, never loop
            sponsor.decisions.remember(record, version, str(receipt.code), self.ledger.height)
            log.warning("rewards %s: award for record %s v%s refused: %s", sponsor.org,
                        record, version, receipt.code)
        else:  # not ordered, or not committed yet: the next catch-up looks again
            log.warning("rewards %s: award for record %s v%s not committed: %s", sponsor.org,
                        record, version, receipt.code or receipt.status)
        return receipt

    # -- an officer's explicit award -----------------------------------------------------
    async def award_one(self, org: str, record: str, programme: str | None = None
                        ) -> dict[str, Any]:
        """Award one record now, with the same checks (``POST /v1/rewards/awards``).
        Raises :class:`AwardRefused`."""
        sponsor = self.sponsors.get(org)
        if sponsor is None:
            raise AwardRefused("NOT_HOSTED", f"this node runs no rewards service for {org}")
        if (org, record) in self._busy:
            raise AwardRefused("ALREADY_AWARDED", f"record {record} is being awarded now")
        verdict = self.verdict(sponsor, record, programme)
        if not verdict.award:
            self._refused(sponsor, verdict, record, quiet=True)
            raise AwardRefused(verdict.code, verdict.reason)
        self._busy.add((org, record))
        try:
            receipt = await self._settle(sponsor, verdict, await self._send(sponsor, verdict))
        finally:
            self._busy.discard((org, record))
        if not receipt.valid:
            raise AwardRefused(receipt.code or "NOT_COMMITTED", receipt.reason)
        assert verdict.args is not None
        return {**verdict.args, "version": verdict.record["version"], "tx_id": receipt.tx_id,
                "height": receipt.height, **(receipt.output or {})}



async def open_rewards(node: Node, datadir: DataDir,
                       custodian_of: Callable[[str], Custodian | None],
                       orgs: list[str] | None = None) -> RewardsService:
    """The rewards service of the sponsors this node hosts (``orgs``, default every hosted
    sponsor with a published programme), started. ``custodian_of(org)``: the records
    custodian (vault) the node hosts for ``org``, looked up when a record is read."""
    async def sponsor(org: str) -> Sponsor:
        admin_file = admin_key_path(datadir, org)
        admin = Identity.load(admin_file) if admin_file.exists() else None
        key = await service_key(node, rewards_key_path(datadir, org), org, SERVICE_ROLE,
                                admin, wall_clock_ms())
        return Sponsor(org, key, LedgerWriter(node, key), VaultReader(org, custodian_of),
                       Decisions(decisions_path(datadir, org)))

    async def adopt(org: str) -> Sponsor | None:
        hosted_here = hosted(node, datadir, SPONSOR_TYPES, rewards_key_path)
        return await sponsor(org) if org in hosted_here and orgs is None else None

    sponsors: dict[str, Sponsor] = {}
    try:
        for org in hosted_orgs(node, datadir) if orgs is None else orgs:
            sponsors[org] = await sponsor(org)
    except Exception:
        for found in sponsors.values():
            found.decisions.close()
        raise
    service = RewardsService(node, sponsors, adopt=adopt)
    await service.start()
    return service

