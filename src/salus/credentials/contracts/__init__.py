"""The credentials & education application's on-ledger part: batch anchors, status
lists, and the competency ledger."""

from salus.credentials.contracts.credentials import CredentialsContract
from salus.credentials.contracts.education import EducationContract

__all__ = ["CredentialsContract", "EducationContract"]
