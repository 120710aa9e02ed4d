"""The Python SDK: sign locally, talk to any Salus node over its REST API."""

from salus.client.client import SalusClient, SalusError, TransactionRejected

__all__ = ["SalusClient", "SalusError", "TransactionRejected"]
