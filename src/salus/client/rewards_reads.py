"""The rewards reads of the SDK (issue 18): programmes, a patient's statement, a
programme's totals.

    SalusClient(url).rewards_programmes()            # public: every programme's terms
    SalusClient(url).rewards_programme("stm-keep")   # one programme's terms and catalogue
    patient.rewards_statement()                      # your own statement, balance recomputed
    officer.rewards_totals("stm-keep")               # your programme's totals (no patient)

A refusal raises :class:`~salus.client.SalusError` with the node's code
(``FORBIDDEN_READ``: another patient's statement, another sponsor's totals; ``NOT_FOUND``).
The writes (publish, enrol, award, redeem, reverse) are in :mod:`salus.client.rewards`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salus.client.client import SalusClient

#: salus.rewards.contracts.layout.ProgrammeId: checked here so no other path is asked for.
_PROGRAMME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def programme_id(text: str) -> str:
    if not _PROGRAMME.fullmatch(text):
        raise ValueError(f"{text!r} is not a programme id (lowercase letters, digits, -)")
    return text


class RewardsReadsClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def rewards_programmes(self: SalusClient, sponsor: str | None = None, *,
                           after: str = "", limit: int = 100) -> dict[str, Any]:
        """Published programmes (of ``sponsor`` only, if given), a page at a time:
        ``next`` is the following page's ``after``. Public: no key needed."""
        params: dict[str, Any] = {"limit": limit}
        if sponsor is not None:
            params["sponsor"] = sponsor
        if after:
            params["after"] = after
        return self._request("GET", "/v1/rewards/programmes", params=params)

    def rewards_programme(self: SalusClient, programme: str) -> dict[str, Any]:
        """A programme's current terms and catalogue (public)."""
        return self._request("GET", f"/v1/rewards/programmes/{programme_id(programme)}")

    def rewards_totals(self: SalusClient, programme: str) -> dict[str, Any]:
        """A programme's totals: for its sponsor's admins and rewards officers (and the
        regulators). Counts and sums only, never a patient."""
        return self._request("GET", f"/v1/rewards/programmes/{programme_id(programme)}/totals",
                             auth=True)

    def rewards_statement(self: SalusClient, patient: str | None = None) -> dict[str, Any]:
        """Your rewards statement (a patient's own; ``patient`` defaults to you): every
        award, redemption, expiry and reversal, each with its sponsor and transaction id,
        the balance recomputed from them, live points and the catalogue."""
        who = self.member_id() if patient is None else patient
        return self._request("GET", "/v1/rewards/statement", auth=True,
                             params={"patient": who})
