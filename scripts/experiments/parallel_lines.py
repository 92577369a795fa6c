#!/usr/bin/env python3
"""Experiment 1, distances on parallel lines: python scripts/experiments/parallel_lines.py [--out PNG]"""

import argparse
import sys

from wgan.experiments import parallel_lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="EM, JS, KL and TV between two parallel segments (WGAN Example 1); "
                                                 "writes a PNG and a JSON beside it")
    parser.add_argument("--out", default="docs/figures/parallel_lines.png", help="PNG path (JSON: same name)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps per estimate")
    parser.add_argument("--points", type=int, default=21, help="values of theta in [-1, 1]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="smoke test: 3 thetas, 20 steps")
    args = parser.parse_args(argv)
    points, steps = (3, 20) if args.tiny else (args.points, args.steps)
    if points < 2:
        parser.error("--points must be >= 2")
    thetas = [round(-1 + 2 * i / (points - 1), 4) for i in range(points)]
    result = parallel_lines.run(args.out, thetas=thetas, steps=steps, seed=args.seed)
    print(f"wrote {args.out} and its JSON in {result['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
