#!/usr/bin/env python3
"""Run the records benchmark and print its JSON (same as `salus bench records --json`)."""

import argparse
import json

from salus.records.bench import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--clinicians", type=int, default=100)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--latency-rate", type=int, default=1000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(run(patients=args.patients, clinicians=args.clinicians, reads=args.reads,
                         in_flight=args.in_flight, latency_rate=args.latency_rate,
                         latency_seconds=args.latency_seconds)))
