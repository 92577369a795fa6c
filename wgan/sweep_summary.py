"""A sweep's summary files: ``summary.csv`` and ``summary.md`` (or a shard's), and reading them back.

The CSV is what resuming a sweep, ``scripts/plot_sweep.py`` and the study report read; every
reader merges the shards' files (``read_sweep_rows``).
"""

from __future__ import annotations

import csv
import glob
import io
import os
from typing import Any, Optional, Protocol

from .executor import RunOutcome, RunSpec
from .files import write_text

STATUSES = ("finished", "failed", "interrupted", "pending")
SUMMARY_COLUMNS = ("name", "overrides", "status", "wall_s", "step", "em_distance", "fid", "classifier_fid",
                   "class_kl", "classes_covered", "modes_covered", "mode_kl", "eval_samples", "reason")
SUMMARY_GLOBS = ("summary.csv", "summary.shard-*-of-*.csv")   # a sweep's summary and its shards'
METRIC_COLUMNS = ("fid", "classifier_fid", "class_kl", "classes_covered", "modes_covered", "mode_kl")


class PlannedSweep(Protocol):
    """What the summaries read of a plan (``sweep.SweepPlan``), named here so this module needs no
    import of the sweep that imports it."""

    out: str
    shard: tuple[int, int]

    @property
    def keys(self) -> list[str]: ...

    @property
    def mine(self) -> list[RunSpec]: ...

    def summary_paths(self) -> tuple[str, str]: ...


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def summary_rows(plan: PlannedSweep, outcomes: dict[str, RunOutcome]) -> list[dict]:
    rows = []
    for run in plan.mine:
        o = outcomes[run.name]
        row = {"name": run.name, "overrides": run.overrides_text(), "status": o.status, "wall_s": o.wall_s,
               "step": o.step, "em_distance": o.em_distance, "eval_samples": o.eval_samples, "reason": o.reason}
        row.update({k: o.metrics.get(k) for k in METRIC_COLUMNS})
        row.update(dict(run.swept))
        rows.append({k: _cell(v) for k, v in row.items()})
    return rows


def write_summaries(plan: PlannedSweep, outcomes: dict[str, RunOutcome]) -> tuple[str, str]:
    """``summary.csv`` and ``summary.md`` (or the shard's) in ``--out``, written atomically.

    The CSV has SUMMARY_COLUMNS and then one column per swept key (its value text), so a table
    tool or scripts/plot_sweep.py needs no parsing of ``overrides``.
    """
    csv_path, md_path = plan.summary_paths()
    rows = summary_rows(plan, outcomes)
    columns = list(SUMMARY_COLUMNS) + plan.keys
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(csv_path, text.getvalue())
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    i, n = plan.shard
    shown = ["name", "status", "step", "em_distance", "fid", "classifier_fid", "class_kl", "classes_covered",
             "wall_s", "reason"]
    lines = [f"# Sweep {os.path.basename(os.path.normpath(plan.out))}" + (f" (shard {i} of {n})" if n > 1 else ""),
             "",
             f"{len(rows)} runs: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES) + ". Swept: "
             + (", ".join(plan.keys) or "nothing") + ". Metrics of the final generator (fid: Inception FID, blank "
             "when no Inception network is found; classifier metrics for MNIST); the sample count is in "
             "summary.csv's eval_samples.",
             "",
             "| " + " | ".join(shown) + " |",
             "| " + " | ".join("---" for _ in shown) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(row[c].replace("|", "\\|") for c in shown) + " |")
    write_text(md_path, "\n".join(lines) + "\n")
    return csv_path, md_path


def read_sweep_rows(sweep_dir: str) -> list[dict]:
    """Every run's row from a sweep folder's summary files (``summary.csv`` and the shards'),
    one row per run name, a finished row winning over an unfinished one."""
    rows: dict = {}
    for pattern in SUMMARY_GLOBS:
        for path in sorted(glob.glob(os.path.join(glob.escape(sweep_dir), pattern))):
            for row in read_summary(path):
                name = row.get("name", "")
                if name not in rows or row.get("status") == "finished":
                    rows[name] = row
    return list(rows.values())


def read_summary(path: str) -> list[dict]:
    """Rows of a summary CSV; [] when it does not exist or cannot be read."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def _number(text: Optional[str]):
    if text in (None, ""):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def previous_outcome(row: dict) -> RunOutcome:
    return RunOutcome(row.get("name", ""), row.get("status", "pending"), int(_number(row.get("step")) or 0),
                      _number(row.get("wall_s")), _number(row.get("em_distance")),
                      {k: _number(row.get(k)) for k in METRIC_COLUMNS if _number(row.get(k)) is not None},
                      _number(row.get("eval_samples")), row.get("reason", ""))
