#!/usr/bin/env python3
"""How closely two runs of one config agree, log row by log row (eager vs CUDA graphs, concurrent
vs alone, one process vs several):

    python scripts/loss_diff.py REFERENCE_RUN OTHER_RUN [--label TEXT]

prints the number of logged training rows, the first step whose losses differ at all and the
largest relative difference of the EM estimate and the two losses (relative to the reference),
and each run's first and last learning rate.
"""

import argparse
import sys

from wgan.rundir import RunDir

LOSS_KEYS = ("em_distance", "loss_critic", "loss_generator")


def training_rows(run_dir: str) -> list[dict]:
    """The run's logged training rows (those with an EM estimate), in order."""
    return [row for row in RunDir(run_dir).read_metrics() if "em_distance" in row]


def relative_differences(reference: list[dict], other: list[dict], keys=LOSS_KEYS) -> list[float]:
    """Per row pair, the largest |other - reference| / |reference| over ``keys``."""
    return [max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-12) for k in keys) for a, b in zip(reference, other)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference")
    parser.add_argument("other")
    parser.add_argument("--label", default=None, help="what the line compares (default: the two folders)")
    args = parser.parse_args(argv)
    rows = training_rows(args.reference), training_rows(args.other)
    if not rows[0] or len(rows[0]) != len(rows[1]):
        print(f"error: {args.reference} has {len(rows[0])} logged training rows and {args.other} {len(rows[1])}; "
              "compare two finished runs of the same config", file=sys.stderr)
        return 2
    diffs = relative_differences(*rows)
    first = next((row["step"] for row, d in zip(rows[0], diffs) if d > 0), None)
    rates = [(r[0].get("lr"), r[-1].get("lr")) for r in rows]
    print(f"{args.label or f'{args.reference} vs {args.other}'}: {len(diffs)} log rows, first differing step {first}, "
          f"max relative difference of {', '.join(LOSS_KEYS)} {max(diffs):.3g}; "
          f"lr first/last {rates[0]} vs {rates[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
