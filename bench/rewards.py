#!/usr/bin/env python3
"""Run the rewards benchmark and print its JSON (same as `salus bench rewards --json`)."""

import argparse
import json

from salus.rewards.bench import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--visits", type=int, default=2)
    parser.add_argument("--feeds", type=int, default=4)
    parser.add_argument("--statements", type=int, default=5_000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--latency-rate", type=int, default=200)
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(run(patients=args.patients, visits=args.visits, feeds=args.feeds,
                         statements=args.statements, in_flight=args.in_flight,
                         latency_rate=args.latency_rate, latency_seconds=args.latency_seconds)))
