#!/usr/bin/env python3
"""Experiment 4, mode coverage on 2-D mixtures: python scripts/experiments/mixtures.py [--out PNG]"""

import argparse
import sys

from wgan.experiments import mixtures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="gan, wgan and wgan-gp on a ring of 8 and a grid of 25 Gaussians; "
                                                 "writes a PNG and a JSON beside it")
    parser.add_argument("--out", default="docs/figures/mixtures.png", help="PNG path (JSON: same name)")
    parser.add_argument("--ring-steps", type=int, default=2000, help="generator steps on the ring")
    parser.add_argument("--grid-steps", type=int, default=4000, help="generator steps on the grid")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="smoke test: 10 steps each, small networks")
    args = parser.parse_args(argv)
    if args.tiny:
        result = mixtures.run(args.out, steps={"ring": 10, "grid": 10}, width=16, batch_size=64, seed=args.seed)
    else:
        result = mixtures.run(args.out, steps={"ring": args.ring_steps, "grid": args.grid_steps}, seed=args.seed)
    print(f"wrote {args.out} and its JSON in {result['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
