"""The output half of the study report: ``wgan.study_report.build_report``'s numbers as
``tables.md``, four PNG figures (matplotlib, imported only when drawing) and ``study.json``, and
the command line of ``scripts/study_report.py``. Every rule and number comes from
``wgan.study_report``; nothing here decides what a result means.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .commandline import OneLineParser, fail, parse
from .files import atomic_write, write_text
from .study_report import (ALL_CLASSES, ARCH_ORDER, CLASS_KL_MAX, DIVERGED_FID, GOOD_SPEARMAN, MIN_SPEARMAN_POINTS,
                           MODE_COVERAGE_MIN, NOT_EM, OBJECTIVE_ORDER, THRESHOLDS, VERDICT_RULES, RunResult,
                           StudyError, build_report, by_key, expected_modes, format_number, format_percent, jsonable,
                           ordered)


# ----------------------------------------------------------------------------- tables
def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    cell = lambda v: str(v).replace("|", "\\|")
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def _fid_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f">={DIVERGED_FID:g} (diverged)" if value >= DIVERGED_FID else f"{value:.3g}"


def _stats_cells(s: dict) -> list:
    return [s["counted"], s["diverged"], s["excluded"], _fid_text(s["median_fid"]), _fid_text(s["best_fid"]),
            format_number(s["iqr_fid"]), format_percent(s["below_20"]), format_percent(s["below_10"]), format_number(s["median_spearman"], 2),
            format_number(s["median_spearman_late"], 2)]


STATS_HEADERS = ["counted runs", "diverged", "excluded", "median FID", "best FID", "FID IQR", "FID<20", "FID<10",
                 "median Spearman(EM, FID)", "same, second half"]


def tables_markdown(report: dict) -> str:
    """tables.md: the rules, the per-group tables and the verdict."""
    lines = [f"# Study {report['study']}: are the write-up's WGAN claims borne out?", "",
             ("FID is the classifier FID of the final generator (MNIST classifier features). A run is **diverged** if "
             f"it failed with NaN/Inf, its final classifier FID is non-finite or above {DIVERGED_FID:g}, or its final "
             f"EM estimate is non-finite; a diverged run counts as FID {DIVERGED_FID:g} in medians, IQRs and fractions. "
             "Runs that failed for another reason, and unfinished runs, are excluded (counted in 'excluded'). "
             "Spearman(EM, FID) is over a run's evaluation steps (EM = E[C(real)] - E[C(fake)]: positive means the "
             f"curve falls as FID falls; at least {MIN_SPEARMAN_POINTS} steps; 'second half': over the later half of "
             "those steps only). "
             f"Swept: {', '.join(report['swept']) or 'nothing'}."), "",
             "## Per objective", ""]
    lines += md_table(["objective"] + STATS_HEADERS,
                      [[o + (" *" if o in NOT_EM else "")] + _stats_cells(s) for o, s in report["objectives"].items()])
    lines += ["", ("\\* for gan and hinge the EM column is E[C(real)] - E[C(fake)] of their discriminator, not an EM "
              "estimate."), "", "## Per objective x architecture", ""]
    lines += md_table(["objective", "arch"] + STATS_HEADERS,
                      [[o, a or "-"] + _stats_cells(s) for o, arches in report["objective_arch"].items()
                       for a, s in arches.items()])
    lines += ["", "## Best setting per objective", ""]
    lines += md_table(["objective", "FID", "class KL", "classes", "run", "overrides"],
                      [[o, format_number(r.classifier_fid), format_number(r.class_kl), format_number(r.classes_covered), r.name, r.overrides]
                       for o, r in report["best"].items()])
    lines += ["", "## Mode coverage (non-diverged runs)", ""]
    lines += md_table(["objective", "runs measured", "collapse-free", "median classes", "median class KL"],
                      [[o, s["collapse_measured"], format_percent(s["collapse_free"]), format_number(s["median_classes"]),
                        format_number(s["median_class_kl"])] for o, s in report["objectives"].items()])
    lines += ["", f"Collapse-free: all {ALL_CLASSES} classes and class KL <= {CLASS_KL_MAX:g}."]
    if report["stacked"] is not None:
        lines += ["", "## Stacked MNIST (non-diverged runs)", ""]
        lines += md_table(["objective", "runs", "diverged", "measured", "median modes", "min modes",
                           "median mode KL", "collapse-free"],
                          [[o, s["runs"], s["diverged"], s["measured"], format_number(s["median_modes"], 4),
                            format_number(s["min_modes"], 4), format_number(s["median_mode_kl"]), format_percent(s["collapse_free"])]
                           for o, s in report["stacked"].items()])
        lines += ["", (f"Collapse-free: at least {MODE_COVERAGE_MIN:g} of the modes a perfect generator covers "
                  f"with the run's number of samples ({expected_modes(2000):.0f} for 2,000, "
                  f"{expected_modes(26000):.0f} for 26,000).")]
    if report["fid10k"] is not None:
        by_name = {r.name: r for r in report["runs"]}
        lines += ["", "## FID (Inception, 10k samples) of selected runs", ""]
        lines += md_table(["run", "objective", "arch", "FID 10k", "classifier FID"],
                          [[n, by_name[n].objective if n in by_name else "(not in the study)",
                            by_name[n].arch if n in by_name else "-", format_number(v, 4),
                            format_number(by_name[n].classifier_fid) if n in by_name else "-"]
                           for n, v in sorted(report["fid10k"].items(), key=lambda kv: kv[1])])
    lines += ["", "## Verdict", "",
              "Each claim's outcome is computed from the numbers beside it by these rules: "
              + "; ".join(f"({c}) {rule}" for c, rule in VERDICT_RULES.items()) + ".", ""]
    lines += md_table(["#", "claim", "evidence", "verdict"],
                      [[v.claim, v.text, v.evidence, f"**{v.outcome}**"] for v in report["verdicts"]])
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figures
def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> str:
    buffer = io.BytesIO()
    if fig.get_layout_engine() is None:     # a figure with a shared colorbar brings its own (constrained)
        fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=120)
    _pyplot().close(fig)
    return atomic_write(path, lambda handle: handle.write(buffer.getvalue()), durable=False)


def _objective_runs(runs: Sequence[RunResult]) -> dict:
    groups = by_key([r for r in runs if r.counted], "objective")
    return {o: groups[(o,)] for o in ordered((k[0] for k in groups), OBJECTIVE_ORDER)}


def _objective_boxes(groups: dict, value) -> tuple | None:
    """A figure with one box per objective over ``value(item)`` of its items (objectives without
    items left out): (fig, ax, groups, names, rng), rng for a fixed jitter (the figure is the same on
    every rerun); None when no objective has an item."""
    groups = {o: items for o, items in groups.items() if items}
    if not groups:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.4 * len(groups) + 3, 4.5))
    names = list(groups)
    ax.boxplot([[value(item) for item in groups[o]] for o in names], showfliers=False)
    return fig, ax, groups, names, np.random.default_rng(0)


def figure_fid_box(runs: Sequence[RunResult], path: str) -> str | None:
    """Final classifier FID per objective over its grid (Lucic et al. Fig. 4); diverged runs at the cap."""
    drawn = _objective_boxes({o: [r for r in rs if r.effective_fid is not None]
                              for o, rs in _objective_runs(runs).items()}, lambda r: r.effective_fid)
    if drawn is None:
        return None
    fig, ax, groups, names, rng = drawn
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
    plt = _pyplot()
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
    plt = _pyplot()
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
    drawn = _objective_boxes({o: [r.spearman for r in rs if r.spearman is not None]
                              for o, rs in _objective_runs(runs).items()}, lambda rho: rho)
    if drawn is None:
        return None
    fig, ax, groups, names, rng = drawn
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


def write_report(report: dict, out: str) -> list[str]:
    """The figures, tables.md and study.json in ``out``; the paths written."""
    written = [p for name, draw in FIGURES.items() if (p := draw(report, os.path.join(out, name)))]
    written.append(write_text(os.path.join(out, "tables.md"), tables_markdown(report)))
    written.append(write_text(os.path.join(out, "study.json"), json.dumps(jsonable(report), indent=2) + "\n"))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="study_report.py",
                           description="Figures, tables and the verdict of a finished study (a sweep folder).")
    parser.add_argument("study_dir", help="the study sweep's --out folder (holds summary.csv)")
    parser.add_argument("--out", default=os.path.join("docs", "study"), help="folder for the PNGs, tables.md, "
                        "study.json (default docs/study)")
    parser.add_argument("--stacked", help="a Stacked MNIST sweep folder (same layout)")
    parser.add_argument("--fid", help="JSON {run name: Inception FID 10k} of the best few runs")
    args, code = parse(parser, argv, "see scripts/study_report.py --help")
    if args is None:
        return code
    try:
        _pyplot()
    except ImportError:
        return fail("matplotlib is needed for the figures: pip install -e '.[plots]'")
    try:
        report = build_report(args.study_dir, args.stacked, args.fid)
    except StudyError as err:
        return fail(str(err))
    for path in write_report(report, args.out):
        print(f"wrote {path}")
    for v in report["verdicts"]:
        print(f"claim {v.claim}: {v.outcome} ({v.evidence})")
    return 0
