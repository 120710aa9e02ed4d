"""Salus: a permissioned ledger for health data."""

__version__ = "0.1.0"
