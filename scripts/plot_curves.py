#!/usr/bin/env python3
"""Plot a run's EM-distance estimate (and FID, if given) against generator steps.

    python scripts/plot_curves.py RUN_DIR_OR_METRICS_JSONL --out em.png [--fid FID_FILE]

``--fid`` is a text file of "step fid" lines, or the JSON that ``scripts/evaluate.py
CHECKPOINTS... --metrics fid --out F.json`` writes; without it, fid_* rows logged during
training (log.eval_every) are used. The Spearman rank correlation between the EM estimate (the
last logged value at or before each FID step) and the FID is printed and put in the title.
Needs matplotlib (pip install -e '.[plots]').
"""

import argparse
import json
import os
import re
import sys

from wgan.files import atomic_write
from wgan.rundir import RunDir, read_metrics_file
from wgan.study_report import average_ranks, spearman_by_ranks


def read_rows(path: str) -> list[dict]:
    """Rows of a run directory's metrics, or of a metrics file given by its path."""
    return read_metrics_file(RunDir(path).metrics if os.path.isdir(path) else path)


def read_fid(path: str) -> list[tuple[float, float]]:
    """(step, fid) pairs from a "step fid" text file or an evaluate.py JSON (one record or a list)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if text.lstrip().startswith(("[", "{")):
        records = json.loads(text)
        records = records if isinstance(records, list) else [records]
        pairs = []
        for r in records:
            step = r.get("step")
            if step is None:                    # older evaluate.py output: the step is in the file name
                step = int(re.search(r"step_(\d+)", r["model"]).group(1))
            pairs.append((float(step), r["metrics"]["fid"]))
        return sorted(pairs)
    return [tuple(float(v) for v in line.split()[:2]) for line in text.splitlines() if line.strip()]


# Spearman's rho as the Pearson correlation of average ranks (ties share their average rank):
# the study report's implementation, so that the two scripts cannot disagree.
ranks = average_ranks
spearman = spearman_by_ranks


def em_at(em: list[tuple[int, float]], step: float) -> float:
    """The last EM value logged at or before ``step``."""
    before = [v for s, v in em if s <= step]
    return before[-1] if before else em[0][1]


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
        fid = read_fid(args.fid)
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
    title = args.title
    if len(fid) >= 3:
        rho = spearman([em_at(em, s) for s, _ in fid], [v for _, v in fid])
    if len(fid) >= 3 and rho is not None:      # None: one side constant, no correlation defined
        print(f"Spearman rank correlation, EM estimate vs FID over {len(fid)} points: {rho:.3f}")
        title += f"\nSpearman(EM, FID) = {rho:.2f} over {len(fid)} checkpoints"
    ax.set_title(title)
    fig.tight_layout()
    image_format = os.path.splitext(args.out)[1][1:] or "png"
    atomic_write(args.out, lambda handle: fig.savefig(handle, format=image_format, dpi=120), durable=False)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
