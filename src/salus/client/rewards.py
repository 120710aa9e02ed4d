"""The rewards writes of the SDK (issue 18): programmes, enrolment, awards, redemption,
reversal and expiry. Each is a transaction signed with your key, except
:meth:`award_record`, which asks the node's rewards service to award one event (the
service key signs it). The reads (statements, totals, catalogue) are elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salus.client.client import SalusClient


class RewardsClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def publish_programme(self: SalusClient, terms: dict[str, Any]) -> dict[str, Any]:
        """Publish (or revise) a programme of your organisation (an admin or rewards
        officer): ``terms`` are ``rewards.publish_programme``'s arguments."""
        return self.call("rewards", "publish_programme", terms).output  # type: ignore[no-any-return]

    def enrol(self: SalusClient, programme: str) -> dict[str, Any]:
        """Enrol yourself (a patient) in a programme."""
        return self.call("rewards", "enrol", {"programme": programme}).output  # type: ignore[no-any-return]

    def leave_programme(self: SalusClient, programme: str) -> dict[str, Any]:
        """Leave a programme: no more awards; your points stay yours."""
        return self.call("rewards", "leave", {"programme": programme}).output  # type: ignore[no-any-return]

    def award_record(self: SalusClient, record: str, programme: str | None = None
                     ) -> dict[str, Any]:
        """Ask your organisation's rewards service to award one event by record id (an
        admin or rewards officer of the sponsor): the same checks as its own awards."""
        body: dict[str, Any] = {"record": record}
        if programme is not None:
            body["programme"] = programme
        return self._request("POST", "/v1/rewards/awards", auth=True, json=body)  # type: ignore[no-any-return]

    def redeem(self: SalusClient, programme: str, item: str) -> dict[str, Any]:
        """Spend your points on a catalogue item."""
        return self.call("rewards", "redeem", {"programme": programme,  # type: ignore[no-any-return]
                                               "item": item}).output

    def reverse_award(self: SalusClient, award: str, reason: str) -> dict[str, Any]:
        """Reverse an award made in error (the sponsor's officer), with a reason code."""
        return self.call("rewards", "reverse", {"award": award,  # type: ignore[no-any-return]
                                                "reason": reason}).output

    def expire_points(self: SalusClient, programme: str, patient: str) -> dict[str, Any]:
        """Make a patient's points past their expiry expire (the patient herself, or an
        officer or the service of the programme's sponsor)."""
        return self.call("rewards", "expire", {"programme": programme,  # type: ignore[no-any-return]
                                               "patient": patient}).output
