"""A peer's orderer on a real JetStream stream (one NATS server on loopback, the logins
``salus network up`` makes): what it cuts when the stream also carries forgeries."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from network_net import nats_as
from salus.bench.harness import patient_registrations
from salus.identity import Identity
from salus.network.local import LocalNetwork
from salus.node.datadir import DataDir
from salus.ordering import batch_message
from salus.ordering.jetstream import JetStreamOrderer
from salus.ordering.orderer import Batch
from salus.ordering.signed_messages import MessageSigner

pytestmark = pytest.mark.timeout(180)


def test_a_forged_time_to_cut_marker_cuts_no_block(tmp_path) -> None:
    """The peer's own timer is set far off, so only markers on the stream can cut. Four
    forged markers for block 1 (unsigned, a stranger's, another chain's, a genuine one
    tampered) and a forged batch come first; the block is cut by the genuine marker, and
    holds the genuine batch alone."""
    net = LocalNetwork.create(tmp_path / "net", 1)
    net.start_nats(0)
    data = DataDir(net.peers[0].data)
    key = Identity.load(data.key_file)
    chain = net.config.chain_id
    settings = replace(net.peer_settings(0), max_wait_ms=600_000)
    good = patient_registrations(chain, 0, 2, 1, "marked")
    txs, cut = settings.txs_subject, settings.cut_subject

    def sign(by: Identity, subject: str, payload: bytes, chain_id: str = chain) -> dict[str, str]:
        return MessageSigner(by, chain_id).headers(subject, payload)

    stranger = Identity.generate()
    forged_batch = batch_message.encode(patient_registrations(chain, 0, 1, 1, "forged"))
    messages = [
        (txs, batch_message.encode(good), sign(key, txs, batch_message.encode(good))),
        (txs, forged_batch, sign(stranger, txs, forged_batch)),
        (cut, b"1", None),
        (cut, b"1", sign(stranger, cut, b"1")),
        (cut, b"1", sign(key, cut, b"1", "another-chain")),
        (cut, b"1", sign(key, cut, b"2")),
        (cut, b"1", sign(key, cut, b"1")),  # the genuine marker: stream sequence 7
    ]

    async def run() -> tuple[list[Batch], int]:
        orderer = JetStreamOrderer(settings, key, chain, [p["did"] for p in data.genesis().peers],
                                   name="test-peer")
        await orderer.start(1, None)
        batches: list[Batch] = []

        async def deliver() -> None:
            async for batch in orderer.deliver():
                batches.append(batch)

        reading = asyncio.create_task(deliver())
        try:
            async with nats_as(net, 0) as nc:
                js = nc.jetstream(timeout=10)
                for subject, payload, headers in messages:
                    await js.publish(subject, payload, headers=headers)
            for _ in range(100):
                if batches and orderer.ignored >= 5:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # nothing more is cut
        finally:
            await orderer.stop()
            reading.cancel()
        return batches, orderer.ignored

    try:
        batches, ignored = asyncio.run(run())
    finally:
        net.stop_nats(0)
    assert ignored == 5
    assert len(batches) == 1
    (batch,) = batches
    assert batch.number == 1 and batch.cursor == 7  # cut at the genuine marker, not before
    assert [tx if isinstance(tx, bytes) else tx.raw for tx in batch.txs] == good
