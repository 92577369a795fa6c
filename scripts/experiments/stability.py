#!/usr/bin/env python3
"""Experiment 3, stability without BatchNorm (GAN vs WGAN on MNIST through the Trainer):

    python scripts/experiments/stability.py --steps 10000 --out docs/figures/stability.png --device cuda
"""

import argparse
import sys

from wgan.experiments import stability


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="The same DCGAN without normalisation trained as a GAN and as a "
                                                 "WGAN on MNIST; writes a PNG and a JSON beside it. Re-running with "
                                                 "the same --runs folder resumes both runs.")
    parser.add_argument("--steps", type=int, default=10000, help="generator steps of each run")
    parser.add_argument("--out", default="docs/figures/stability.png", help="PNG path (JSON: same name)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--image-size", type=int, default=32, help="MNIST resized to this side (power of two)")
    parser.add_argument("--width", type=int, default=64, help="DCGAN width of generator and critic")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--gan-n-critic", type=int, default=1, help="discriminator steps per GAN generator step")
    parser.add_argument("--runs", default="runs/stability", help="run directories go in RUNS/gan and RUNS/wgan")
    parser.add_argument("--data-root", default="data", help="folder holding MNIST/raw")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from wgan.checkpoint import CheckpointError
    from wgan.config import ConfigError
    from wgan.data import DatasetNotFound
    from wgan.rundir import RunDirError
    try:
        result = stability.run(args.out, steps=args.steps, device=args.device, image_size=args.image_size,
                               runs_root=args.runs, width=args.width, batch_size=args.batch_size,
                               gan_n_critic=args.gan_n_critic, seed=args.seed, data_root=args.data_root)
    except (CheckpointError, ConfigError, DatasetNotFound, RunDirError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} and its JSON; WGAN EM estimate {result['wgan_em_first']:.4g} -> "
          f"{result['wgan_em_last']:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
