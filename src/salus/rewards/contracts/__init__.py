"""The rewards application's on-ledger part: programmes, enrolments, awards, redemptions."""

from salus.rewards.contracts.rewards import RewardsContract

__all__ = ["RewardsContract"]
