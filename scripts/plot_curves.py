#!/usr/bin/env python3
"""Plot a run's EM-distance estimate (and FID, if given) against generator steps.

    python scripts/plot_curves.py RUN_DIR_OR_METRICS_JSONL --out em.png [--fid steps_fid.txt]

``--fid`` is a text file of "step fid" lines (e.g. from scripts/evaluate.py over a run's
checkpoints); without it, fid_* rows logged during training (log.eval_every) are used.
Needs matplotlib (pip install -e '.[plots]').
"""

import argparse
import json
import os
import sys


def read_rows(path: str) -> list[dict]:
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics", help="run directory or its metrics.jsonl")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--fid", help='text file of "step fid" lines')
    parser.add_argument("--title", default="WGAN on MNIST: EM estimate and FID")
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_rows(args.metrics)
    em = [(r["step"], r["em_distance"]) for r in rows if "em_distance" in r]
    if args.fid:
        with open(args.fid, encoding="utf-8") as handle:
            fid = [tuple(float(v) for v in line.split()[:2]) for line in handle if line.strip()]
    else:
        fid = [(r["step"], v) for r in rows for k, v in r.items() if k.startswith("fid_")]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot([s for s, _ in em], [v for _, v in em], lw=0.8, color="tab:blue")
    ax.set_xlabel("generator steps")
    ax.set_ylabel("EM estimate  mean C(real) - mean C(fake)", color="tab:blue")
    if fid:
        ax2 = ax.twinx()
        ax2.plot([s for s, _ in fid], [v for _, v in fid], "o-", color="tab:red", ms=3)
        ax2.set_ylabel("FID", color="tab:red")
    ax.set_title(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
