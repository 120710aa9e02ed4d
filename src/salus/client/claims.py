"""The claims part of the SDK: PAS ``$submit`` and ``$inquire``, explanations of benefit,
a payer's review queue, a provider's requests, and the members' own claims
transactions (rules, coverage, a reviewer's decision)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salus.client.client import SalusClient

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _body(bundle: dict[str, Any] | bytes) -> bytes:
    return bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()


class ClaimsClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def pas_submit(self: SalusClient, bundle: dict[str, Any] | bytes) -> dict[str, Any]:
        """Submit a PAS request Bundle (as a provider's registrar or clinician): the PAS
        response Bundle, its ClaimResponse first. A refused Bundle raises SalusError."""
        return self._request("POST", "/fhir/Claim/$submit", auth=True,  # type: ignore[no-any-return]
                             content=_body(bundle), headers=dict(FHIR_JSON))

    def pas_inquire(self: SalusClient, bundle: dict[str, Any] | bytes) -> dict[str, Any]:
        """The current ClaimResponse of each of your requests a PAS inquiry matches."""
        return self._request("POST", "/fhir/Claim/$inquire", auth=True,  # type: ignore[no-any-return]
                             content=_body(bundle), headers=dict(FHIR_JSON))

    def coverage_eligibility(self: SalusClient, bundle: dict[str, Any] | bytes
                             ) -> dict[str, Any]:
        """Is the member's coverage in force (as a provider's registrar or clinician)? A
        Bundle with the CoverageEligibilityRequest first, its Patient and Coverage: the
        CoverageEligibilityResponse. A refused Bundle raises SalusError."""
        return self._request("POST", "/fhir/CoverageEligibilityRequest/$submit",  # type: ignore[no-any-return]
                             auth=True, content=_body(bundle), headers=dict(FHIR_JSON))

    def claims_request_ledger(self: SalusClient, request: str) -> dict[str, Any]:
        """What ``salus claims verify`` reads of the ledger for one request (its patient,
        provider, payer's reviewers, auditors): ``{"request", "height", "state": {key:
        value}}``."""
        return self._request("GET", f"/v1/claims/requests/{request}/ledger",  # type: ignore[no-any-return]
                             auth=True)

    def explanations_of_benefit(self: SalusClient, patient: str | None = None) -> dict[str, Any]:
        """A searchset Bundle of the patient's (default: yours) explanations of benefit."""
        return self._request("GET", "/fhir/ExplanationOfBenefit", auth=True,  # type: ignore[no-any-return]
                             params={"patient": patient or self.member_id()})

    def claims_queue(self: SalusClient, payer: str | None = None) -> dict[str, Any]:
        """A payer's requests owing a decision, with their documents (its reviewers)."""
        params = {} if payer is None else {"payer": payer}
        return self._request("GET", "/v1/claims/queue", auth=True, params=params)  # type: ignore[no-any-return]

    def claims_requests(self: SalusClient, provider: str | None = None) -> dict[str, Any]:
        """A provider's requests and claims as the ledger holds them."""
        params = {} if provider is None else {"provider": provider}
        return self._request("GET", "/v1/claims/requests", auth=True, params=params)  # type: ignore[no-any-return]

    def claims_request(self: SalusClient, request: str, provider: str | None = None
                       ) -> dict[str, Any] | None:
        """One of the provider's requests as the ledger holds it, or None."""
        return next((r for r in self.claims_requests(provider)["requests"]
                     if r["id"] == request), None)

    # -- members' own transactions -------------------------------------------------------
    def publish_rules(self: SalusClient, table: dict[str, Any]) -> dict[str, Any]:
        return self.call("claims", "publish_rules", {"table": table}).output  # type: ignore[no-any-return]

    def rules(self: SalusClient, payer: str, version: str | None = None) -> dict[str, Any]:
        """A payer's current rule set, or any version of it, with what a decision under
        each rule may be and every version the payer made current (public: no token)."""
        params = {"payer": payer} | ({} if version is None else {"version": version})
        return self._request("GET", "/v1/claims/rules", params=params)  # type: ignore[no-any-return]

    def record_coverage(self: SalusClient, args: dict[str, Any]) -> dict[str, Any]:
        return self.call("claims", "record_coverage", args).output  # type: ignore[no-any-return]

    def flag_phantom(self: SalusClient, request: str, items: list[int]) -> dict[str, Any]:
        """The patient flags items (ledger sequences) of a claim she never received."""
        return self.call("claims", "flag_phantom", {  # type: ignore[no-any-return]
            "request": request, "items": items}).output

    def resolve_phantom(self: SalusClient, request: str, sequence: int,
                        finding: str) -> dict[str, Any]:
        """A payer's reviewer records what it found on a flagged item: ``confirmed`` (not
        rendered as billed) or ``unfounded``."""
        return self.call("claims", "resolve_phantom", {  # type: ignore[no-any-return]
            "request": request, "sequence": sequence, "finding": finding}).output

    def decide_claim(self: SalusClient, request: str, items: list[dict[str, Any]], *,
                     human_review: bool = True) -> dict[str, Any]:
        """A reviewer's decision on items of a request (a human review by default)."""
        return self.call("claims", "decide", {"request": request, "items": items,  # type: ignore[no-any-return]
                                              "human_review": human_review}).output
