"""Benchmarks a user can run (`salus bench ...`); each prints one JSON object."""
