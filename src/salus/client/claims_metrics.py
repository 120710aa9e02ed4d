"""The claims metrics CMS-0057-F has payers publish (GET /v1/claims/metrics): public, no
key needed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salus.client.client import SalusClient


class ClaimsMetricsClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def claims_metrics(self: SalusClient, payer: str, year: int) -> dict[str, Any]:
        """``payer``'s prior-authorisation metrics for the requests submitted in calendar
        year ``year`` (UTC block time): counts, shares in basis points, decision times in
        seconds, for standard, expedited and all requests."""
        return self._request("GET", "/v1/claims/metrics",
                             params={"payer": payer, "year": f"{year:04d}"})

    def claims_metrics_payers(self: SalusClient) -> list[dict[str, Any]]:
        """The insurers whose metrics are published: ``{id, name}`` each."""
        return list(self._request("GET", "/v1/claims/metrics/payers")["payers"])
