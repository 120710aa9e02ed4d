"""The contracts every Salus peer runs. All peers of a chain must run the same set: the
ledger's own, then each application's (salus.applications), in that order."""

from __future__ import annotations

from salus.applications import APPLICATIONS
from salus.ledger.contract import Registry
from salus.ledger.contracts import MembershipContract, NotaryContract


def registry() -> Registry:
    return Registry([MembershipContract(), NotaryContract(),
                     *(c for application in APPLICATIONS for c in application.contracts())])
