#!/usr/bin/env python3
"""Experiment 2, optimal discriminator vs critic: python scripts/experiments/critic_vs_discriminator.py [--out PNG]"""

import argparse
import sys

from wgan.experiments import critic_vs_discriminator


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="GAN discriminator vs WGAN critics on two 1-D Gaussians "
                                                 "(WGAN Figure 2); writes a PNG and a JSON beside it")
    parser.add_argument("--out", default="docs/figures/critic_vs_discriminator.png", help="PNG path (JSON: same name)")
    parser.add_argument("--steps", type=int, default=3000, help="training steps of each network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="smoke test: 20 steps")
    args = parser.parse_args(argv)
    result = critic_vs_discriminator.run(args.out, steps=20 if args.tiny else args.steps, seed=args.seed)
    print(f"wrote {args.out} and its JSON in {result['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
