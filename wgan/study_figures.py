"""The study report's figures (``scripts/study_report.py`` writes them to docs/study/).

Lucic et al.'s Figure 4 style box plot of final FID per objective, the shares of settings
reaching FID < 20 and < 10 (overall and by architecture), and Spearman(EM, FID) per run. Each
figure takes what ``study_report.build_report`` computed and draws nothing it did not; each
returns the path written, or None when it has nothing to draw.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from .files import atomic_write
from .study_report import (
    ARCH_ORDER,
    DIVERGED_FID,
    GOOD_SPEARMAN,
    NOT_EM,
    OBJECTIVE_ORDER,
    THRESHOLDS,
    RunResult,
    by_key,
    ordered,
)


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> str:
    buffer = io.BytesIO()
    if fig.get_layout_engine() is None:     # a figure with a shared colorbar brings its own (constrained)
        fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=120)
    pyplot().close(fig)
    return atomic_write(path, lambda handle: handle.write(buffer.getvalue()), durable=False)


def _objective_runs(runs: Sequence[RunResult]) -> dict:
    groups = by_key([r for r in runs if r.counted], "objective")
    return {o: groups[(o,)] for o in ordered((k[0] for k in groups), OBJECTIVE_ORDER)}


def figure_fid_box(runs: Sequence[RunResult], path: str) -> str | None:
    """Final classifier FID per objective over its grid (Lucic et al. Fig. 4); diverged runs at the cap."""
    groups = {o: [r for r in rs if r.effective_fid is not None] for o, rs in _objective_runs(runs).items()}
    groups = {o: rs for o, rs in groups.items() if rs}
    if not groups:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.4 * len(groups) + 3, 4.5))
    names = list(groups)
    ax.boxplot([[r.effective_fid for r in groups[o]] for o in names], showfliers=False)
    rng = np.random.default_rng(0)      # fixed jitter: the figure is the same on every rerun
    for i, o in enumerate(names, 1):
        ok = [r.effective_fid for r in groups[o] if not r.diverged]
        bad = [r for r in groups[o] if r.diverged]
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(ok)), ok, s=12, color="tab:blue", alpha=0.7, zorder=3)
        if bad:
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(bad)), [DIVERGED_FID] * len(bad), marker="x", s=20,
                       color="tab:red", zorder=3)
    ax.axhline(DIVERGED_FID, color="tab:red", linestyle="--", linewidth=0.8)
    ax.axhline(THRESHOLDS[0], color="grey", linestyle=":", linewidth=0.8)
    values = [r.effective_fid for rs in groups.values() for r in rs]
    if min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.set_xticks(range(1, len(names) + 1),
                  [f"{o}\nn={len(groups[o])}, {sum(r.diverged for r in groups[o])} diverged" for o in names])
    ax.set_ylabel("final classifier FID (lower is better)")
    ax.set_title(f"Final FID over each objective's grid (x: diverged, drawn at {DIVERGED_FID:g}; "
                 f"dotted: FID {THRESHOLDS[0]:g})", fontsize=10)
    return _save(fig, path)


def figure_fractions(stats: dict, path: str) -> str | None:
    """Share of settings reaching FID < 20 and < 10 per objective."""
    names = [o for o, s in stats.items() if s["measured"]]
    if not names:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 3, 4))
    width = 0.38
    for j, t in enumerate(THRESHOLDS):
        xs = np.arange(len(names)) + (j - 0.5) * width
        shares = [stats[o][f"below_{t:g}"] for o in names]
        ax.bar(xs, shares, width, label=f"FID < {t:g}")
        for x, o, share in zip(xs, names, shares):
            ax.text(x, share + 0.02, f"{stats[o][f'n_below_{t:g}']}/{stats[o]['measured']}", ha="center",
                    fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("fraction of grid settings")
    ax.set_title("Settings reaching a classifier FID (diverged runs count as failures)", fontsize=10)
    ax.legend()
    return _save(fig, path)


def figure_arch_heatmap(arch_stats: dict, path: str) -> str | None:
    """Objective x architecture grid of the shares reaching FID < 20 and < 10."""
    objectives = [o for o, a in arch_stats.items() if any(s["measured"] for s in a.values())]
    arches = ordered({a for o in objectives for a in arch_stats[o]}, ARCH_ORDER)
    if not objectives:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(THRESHOLDS), figsize=(1.6 * len(arches) * len(THRESHOLDS) + 3,
                                                          0.55 * len(objectives) + 2.2), layout="constrained")
    for ax, t in zip(np.atleast_1d(axes), THRESHOLDS):
        grid = np.full((len(objectives), len(arches)), np.nan)
        for i, o in enumerate(objectives):
            for j, a in enumerate(arches):
                s = arch_stats[o].get(a)
                if s and s["measured"]:
                    grid[i, j] = s[f"below_{t:g}"]
                    ax.text(j, i, f"{grid[i, j]:.2f}\n({s[f'n_below_{t:g}']}/{s['measured']})", ha="center",
                            va="center", fontsize=8, color="white" if grid[i, j] < 0.6 else "black")
        image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(arches)), [a or "-" for a in arches])
        ax.set_yticks(range(len(objectives)), objectives)
        ax.set_xlabel("architecture")
        ax.set_title(f"share reaching FID < {t:g}", fontsize=10)
    fig.colorbar(image, ax=axes, label="fraction of settings")
    return _save(fig, path)


def figure_spearman(runs: Sequence[RunResult], path: str) -> str | None:
    """Spearman(EM, FID) of each run, per objective."""
    groups = {o: [r.spearman for r in rs if r.spearman is not None] for o, rs in _objective_runs(runs).items()}
    groups = {o: v for o, v in groups.items() if v}
    if not groups:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.4 * len(groups) + 3, 4.5))
    names = list(groups)
    ax.boxplot([groups[o] for o in names], showfliers=False)
    rng = np.random.default_rng(0)
    for i, o in enumerate(names, 1):
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(groups[o])), groups[o], s=12, alpha=0.7, zorder=3)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axhline(GOOD_SPEARMAN, color="tab:green", linestyle=":", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xticks(range(1, len(names) + 1),
                  [f"{o}{' *' if o in NOT_EM else ''}\nn={len(groups[o])}" for o in names])
    ax.set_ylabel("Spearman(EM estimate, classifier FID)")
    title = "Does the loss curve track sample quality? (per run, over its evaluation steps)"
    if any(o in NOT_EM for o in names):
        title += "\n* E[C(real)] - E[C(fake)] of the discriminator, not an EM estimate"
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


FIGURES = {"fid_by_objective.png": lambda rep, p: figure_fid_box(rep["runs"], p),
           "fid_fractions.png": lambda rep, p: figure_fractions(rep["objectives"], p),
           "fid_fractions_by_arch.png": lambda rep, p: figure_arch_heatmap(rep["objective_arch"], p),
           "spearman_em_fid.png": lambda rep, p: figure_spearman(rep["runs"], p)}
