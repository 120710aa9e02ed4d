"""Network endpoints of a peer: its view of the network, and attestations by height."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from salus.api.params import Height
from salus.api.read_rules import public
from salus.network.peer import Peer

READ_NETWORK = public("GET", "/v1/network/status",
                      "this peer, the peers it hears from (heads, attestations), the stream")
READ_ATTESTATIONS = public("GET", "/v1/network/attestations/{height}",
                           "every attestation of a block seen here: peers' signatures on its "
                           "hash (proofs)")


def build_router(peer: Peer) -> APIRouter:
    router = APIRouter(prefix="/v1/network", tags=["network"])

    @READ_NETWORK.route(router, summary="This peer, the peers it hears from, and the stream")
    async def status() -> dict[str, Any]:
        doc = peer.status()
        health = getattr(peer.node.orderer, "health", None)
        doc["stream"] = await health() if health is not None else None
        return doc

    @READ_ATTESTATIONS.route(router, summary="Every attestation of block HEIGHT seen here")
    async def attestations(height: Height) -> dict[str, Any]:
        return {"height": height, "attestations": [a.to_json() for a in peer.book.at(height)]}

    return router
