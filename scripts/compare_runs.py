#!/usr/bin/env python3
"""Runs side by side: EM-estimate curves in one plot, and each run's fixed-noise grid at one step.

    python scripts/compare_runs.py RUN_DIR[=LABEL] RUN_DIR[=LABEL] ... --step 6000 --out compare.png

The grids are the PNGs the trainer wrote (samples/step_XXXXXXXX.png); runs with the same
train.seed share the same fixed noise, so the grids show the same latent vectors.
Needs matplotlib (pip install -e '.[plots]').
"""

import argparse
import os
import sys

from wgan.files import atomic_write
from wgan.rundir import RunDir


def read_curve(run_dir: str, key: str) -> tuple[list, list]:
    """(steps, values) of ``key`` in a run's metrics."""
    rows = [r for r in RunDir(run_dir).read_metrics() if key in r]
    return [r["step"] for r in rows], [r[key] for r in rows]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directory, optionally =LABEL")
    parser.add_argument("--step", type=int, required=True, help="generator step of the grids shown")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--key", default="em_distance", help="metrics.jsonl key to plot")
    parser.add_argument("--title", default="EM estimate")
    args = parser.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from PIL import Image
    except ImportError:
        print("error: matplotlib is needed: pip install -e '.[plots]'", file=sys.stderr)
        return 2
    runs = [(spec.split("=", 1) + [os.path.basename(spec.rstrip("/"))])[:2] for spec in args.runs]
    for run_dir, _ in runs:
        run = RunDir(run_dir)
        for needed in (run.metrics, run.sample_grid(args.step)):
            if not os.path.isfile(needed):
                print(f"error: {needed} does not exist; pass run directories that reached step {args.step}",
                      file=sys.stderr)
                return 2
    fig = plt.figure(figsize=(4 * len(runs), 7.5))
    curves = fig.add_subplot(2, 1, 1)
    for run_dir, label in runs:
        steps, values = read_curve(run_dir, args.key)
        curves.plot(steps, values, label=label, linewidth=1)
    curves.set_xlabel("generator step")
    curves.set_ylabel(args.key)
    curves.set_title(args.title)
    curves.legend()
    for i, (run_dir, label) in enumerate(runs):
        ax = fig.add_subplot(2, len(runs), len(runs) + i + 1)
        ax.imshow(Image.open(RunDir(run_dir).sample_grid(args.step)), cmap="gray")
        ax.set_title(f"{label}, step {args.step}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    image_format = os.path.splitext(args.out)[1][1:] or "png"
    atomic_write(args.out, lambda handle: fig.savefig(handle, format=image_format, dpi=110), durable=False)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
