#!/usr/bin/env python3
"""Run the ledger benchmark and print its JSON (same as `salus bench ledger --json`)."""

import argparse
import json

from salus.bench.ledger import run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--txs", type=int, default=50_000)
parser.add_argument("--signers", type=int, default=500)
parser.add_argument("--batch", type=int, default=1000)
parser.add_argument("--latency-seconds", type=float, default=10.0)
args = parser.parse_args()
print(json.dumps(run(txs=args.txs, signers=args.signers, batch=args.batch,
                     latency_seconds=args.latency_seconds)))
