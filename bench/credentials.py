#!/usr/bin/env python3
"""Run the credentials benchmark and print its JSON (same as `salus bench credentials --json`)."""

import argparse
import json

from salus.credentials.bench import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--credentials", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(run(credentials=args.credentials, batch_size=args.batch_size,
                         workers=args.workers)))
