"""The records application's on-ledger part: records, consent and access (audit)."""

from salus.records.contracts.access import AccessContract
from salus.records.contracts.consent import ConsentContract
from salus.records.contracts.records import RecordsContract

__all__ = ["AccessContract", "ConsentContract", "RecordsContract"]
