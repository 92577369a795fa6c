#!/usr/bin/env python3
"""Plot a metric of a sweep against one or two swept keys.

    python scripts/plot_sweep.py runs/sweep_lr [--metric classifier_fid] [--x train.lr] [--y train.n_critic]
                                  [--out runs/sweep_lr/classifier_fid.png]

Reads the sweep's summary.csv and every summary.shard-I-of-N.csv (a sweep split with --shard:
their rows together are the whole sweep; a run in several files counts once, its finished row
winning). Only finished runs with a value of the metric are plotted. With --x and --y: a
heatmap of the metric's mean over the other swept keys (e.g. seeds), each cell labelled with the
mean and the number of runs. With --x only: a box plot of the metric per value of --x over the
remaining runs. Without either, --x is the first swept key that has more than one value. The PNG
goes to --out (default RUN_DIR/METRIC[_by_X[_Y]].png). Needs matplotlib (pip install -e '.[plots]').
"""

import argparse
import io
import os
import sys

from wgan.files import atomic_write
from wgan.sweep import SUMMARY_COLUMNS, read_sweep_rows

read_rows = read_sweep_rows      # every run's row, shard summaries merged


def swept_keys(rows: list[dict]) -> list[str]:
    """The swept keys: the columns after SUMMARY_COLUMNS, in order."""
    keys = []
    for row in rows:
        keys += [k for k in row if k not in SUMMARY_COLUMNS and k not in keys]
    return keys


def as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def sort_values(values):
    """Numeric values sorted as numbers (5e-5 < 1e-4), others as text."""
    values = sorted(set(values), key=str)
    if all(as_number(v) is not None for v in values):
        return sorted(values, key=as_number)
    return values


def grouped(rows, metric, keys):
    """{(value of each key): [metric values]} over finished runs with the metric."""
    out: dict = {}
    for row in rows:
        value = as_number(row.get(metric))
        if row.get("status") != "finished" or value is None:
            continue
        out.setdefault(tuple(row.get(k, "") for k in keys), []).append(value)
    return out


def plot(rows, metric, x, y, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = grouped(rows, metric, [x] + ([y] if y else []))
    if not groups:
        raise ValueError(f"no finished run has a value of {metric}")
    if y:
        xs, ys = sort_values(k[0] for k in groups), sort_values(k[1] for k in groups)
        grid = [[None] * len(xs) for _ in ys]
        for (vx, vy), values in groups.items():
            grid[ys.index(vy)][xs.index(vx)] = (sum(values) / len(values), len(values))
        fig, ax = plt.subplots(figsize=(1.2 * len(xs) + 3, 0.8 * len(ys) + 2.5))
        means = [[cell[0] if cell else float("nan") for cell in line] for line in grid]
        image = ax.imshow(means, cmap="viridis", aspect="auto", origin="lower")
        for i, line in enumerate(grid):
            for j, cell in enumerate(line):
                if cell:
                    ax.text(j, i, f"{cell[0]:.3g}\n(n={cell[1]})", ha="center", va="center", color="white",
                            fontsize=8)
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(len(ys)), ys)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(image, ax=ax, label=f"mean {metric}")
        ax.set_title(f"{metric}: mean over the other swept keys")
    else:
        xs = sort_values(k[0] for k in groups)
        fig, ax = plt.subplots(figsize=(1.2 * len(xs) + 3, 4))
        ax.boxplot([groups[(v,)] for v in xs])
        ax.set_xticks(range(1, len(xs) + 1), xs)
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} over the runs of each {x}")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return atomic_write(out, lambda handle: handle.write(buffer.getvalue()), durable=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Plot a sweep's metric against one or two swept keys (PNG).")
    parser.add_argument("sweep_dir", help="the sweep's --out folder (holds summary.csv or its shards')")
    parser.add_argument("--metric", default="classifier_fid",
                        help="a summary column: classifier_fid (default), fid, class_kl, classes_covered, "
                             "em_distance, wall_s")
    parser.add_argument("--x", help="swept key on the x axis, e.g. train.lr")
    parser.add_argument("--y", help="second swept key: a heatmap (mean over the other keys)")
    parser.add_argument("--out", help="PNG path (default: in the sweep folder)")
    args = parser.parse_args(argv)
    rows = read_rows(args.sweep_dir)
    if not rows:
        print(f"error: no summary.csv or summary.shard-*.csv in {args.sweep_dir}", file=sys.stderr)
        return 2
    keys = swept_keys(rows)
    x = args.x or next((k for k in keys if len({r.get(k) for r in rows}) > 1), None)
    for key in (x, args.y):
        if key is not None and key not in keys:
            print(f"error: {key} is not a swept key of this sweep; swept: {', '.join(keys) or 'none'}",
                  file=sys.stderr)
            return 2
    if x is None:
        print("error: this sweep has no swept key to plot against", file=sys.stderr)
        return 2
    if args.metric not in rows[0]:
        print(f"error: the summary has no column {args.metric}", file=sys.stderr)
        return 2
    name = args.metric + "_by_" + x + (f"_{args.y}" if args.y else "")
    out = args.out or os.path.join(args.sweep_dir, name + ".png")
    try:
        plot(rows, args.metric, x, args.y, out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
