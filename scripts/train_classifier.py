#!/usr/bin/env python3
"""Train the MNIST classifier used by the mode-coverage metrics and save its state_dict.

    python scripts/train_classifier.py [--epochs 4] [--out wgan/assets/mnist_classifier.pt]

Prints the MNIST test accuracy; refuses to write the weights below --min-accuracy.
"""

import argparse
import os
import sys
import time

import torch

from wgan.checkpoint import atomic_save
from wgan.data import DatasetNotFound, load_mnist
from wgan.metrics.classifier import ASSET_PATH, accuracy, train_classifier


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="data", help="folder holding MNIST/raw (default: data)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--min-accuracy", type=float, default=0.99, help="do not save below this test accuracy")
    parser.add_argument("--out", default=ASSET_PATH, help="where to write the state_dict")
    args = parser.parse_args(argv)
    try:
        train, test = load_mnist(args.data_root, "train"), load_mnist(args.data_root, "test")
    except DatasetNotFound as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    model = train_classifier(train, args.epochs, args.batch_size, args.lr, args.seed, args.device)
    acc = accuracy(model, test)
    print(f"MNIST test accuracy {acc * 100:.2f}% ({len(test)} images) after {args.epochs} epochs, "
          f"{time.perf_counter() - start:.0f} s on {args.device} (torch {torch.__version__})")
    if acc < args.min_accuracy:
        print(f"error: test accuracy {acc:.4f} is below --min-accuracy {args.min_accuracy}; not saved",
              file=sys.stderr)
        return 1
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_save(state, args.out)
    print(f"saved {args.out} ({os.path.getsize(args.out) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
