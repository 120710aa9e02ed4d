"""The contracts every Salus peer runs. All peers of a chain must run the same set."""

from __future__ import annotations

from salus.claims.contracts import ClaimsContract
from salus.credentials.contracts import CredentialsContract, EducationContract
from salus.ledger.contract import Registry
from salus.ledger.contracts import MembershipContract, NotaryContract
from salus.records.contracts import AccessContract, ConsentContract, RecordsContract
from salus.rewards.contracts import RewardsContract
from salus.supply.contracts import SupplyContract


def registry() -> Registry:
    return Registry([MembershipContract(), NotaryContract(), RecordsContract(), ConsentContract(),
                     AccessContract(), CredentialsContract(),
                     EducationContract(), SupplyContract(), ClaimsContract(),
                     RewardsContract()])
