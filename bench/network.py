#!/usr/bin/env python3
"""Run the network benchmark and print its JSON (same as `salus bench network --json`)."""

import argparse
import json

from salus.bench.network import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=3)
    parser.add_argument("--txs", type=int, default=30_000)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(run(orgs=args.orgs, txs=args.txs, rate=args.rate,
                         latency_seconds=args.latency_seconds)))
