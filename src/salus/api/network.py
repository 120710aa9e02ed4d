"""Network endpoints of a peer: its view of the network, and attestations by height."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from salus.api.params import Height
from salus.network.peer import Peer


def build_router(peer: Peer) -> APIRouter:
    router = APIRouter(prefix="/v1/network", tags=["network"])

    @router.get("/status", summary="This peer, the peers it hears from, and the stream")
    async def status() -> dict[str, Any]:
        doc = peer.status()
        health = getattr(peer.node.orderer, "health", None)
        doc["stream"] = await health() if health is not None else None
        return doc

    @router.get("/attestations/{height}", summary="Every attestation of block HEIGHT seen here")
    async def attestations(height: Height) -> dict[str, Any]:
        return {"height": height, "attestations": [a.to_json() for a in peer.book.at(height)]}

    return router
