"""The supply part of the SDK: capture EPCIS 2.0 documents, query events, trace a pack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from salus.client.client import SalusClient


class SupplyClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def capture(self: SalusClient, document: dict[str, Any] | bytes) -> dict[str, Any]:
        """Capture an EPCIS 2.0 document for your organisation, all its events or none:
        the finished capture job (``success``, ``errors``, ``eventHashes``, ``tx``).
        A document refused before anything was kept raises SalusError whose
        ``problems`` list every reason."""
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return self._request("POST", "/epcis/capture", auth=True, content=body,  # type: ignore[no-any-return]
                             headers={"Content-Type": "application/ld+json"})

    def capture_job(self: SalusClient, capture_id: str, org: str | None = None
                    ) -> dict[str, Any]:
        params = {} if org is None else {"org": org}
        return self._request("GET", f"/epcis/capture/{quote(capture_id, safe='')}",  # type: ignore[no-any-return]
                             auth=True, params=params)

    def epcis_events(self: SalusClient, *, org: str | None = None,
                     event_types: list[str] | None = None, biz_steps: list[str] | None = None,
                     since: str | None = None, until: str | None = None, per_page: int = 100,
                     page_token: str | None = None) -> dict[str, Any]:
        """Your organisation's events (or ``org``'s, for a regulator) as an
        EPCISQueryDocument."""
        params: list[tuple[str, str | int]] = [("perPage", per_page)]
        params += [("eventType", t) for t in event_types or []]
        params += [("EQ_bizStep", s) for s in biz_steps or []]
        for name, value in (("org", org), ("GE_eventTime", since), ("LT_eventTime", until),
                            ("nextPageToken", page_token)):
            if value is not None:
                params.append((name, value))
        return self._request("GET", "/epcis/events", auth=True, params=params)  # type: ignore[no-any-return]

    def item_events(self: SalusClient, epc: str) -> dict[str, Any]:
        """The events naming one item that you may read, as an EPCISQueryDocument."""
        return self._request("GET", f"/epcis/epcs/{quote(epc, safe='')}/events", auth=True)  # type: ignore[no-any-return]

    def trace(self: SalusClient, item: str) -> dict[str, Any]:
        """A pack's or case's chain of custody (any identifier form)."""
        return self._request("GET", "/v1/supply/trace", auth=True, params={"item": item})  # type: ignore[no-any-return]
