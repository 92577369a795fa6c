"""The analysis half of a Lucic-style study ("Are GANs Created Equal?") of the write-up's claims.

A study folder is a sweep folder (``wgan/sweep.py``): ``summary.csv`` (or its shards) with one
row per run and one column per swept label (``objective``, ``arch``, ``lr_scale``, ``train.lr``,
``train.n_critic``, ``train.seed``; ``train.objective`` is read when ``objective`` is absent), and
one run directory per row. ``build_report`` turns it into numbers; ``wgan.study_output`` turns
those into PNG figures, ``tables.md`` and ``study.json`` and is the command line
(``scripts/study_report.py``).

The rules, in the order a run meets them:

- **Which runs count.** A finished run, and a failed run whose reason is a NaN/Inf (the trainer's
  ``NonFiniteError``: divergence is an outcome of the setting). A run that failed for another
  reason (a refused combination, missing data, out of memory) says nothing about the objective
  and is *excluded*, as are interrupted and pending runs; the tables count them.
- **Final metrics.** ``classifier_fid``, ``class_kl``, ``classes_covered`` from the summary; a
  blank cell falls back to the run's last ``metrics.jsonl`` row that holds the key.
- **Diverged** (``divergence``): any of (a) failed with a NaN/Inf reason, (b) final classifier
  FID non-finite or above ``DIVERGED_FID`` (100: an MNIST generator that far from the data draws
  no digits), (c) final EM estimate (summary, else the last logged ``em_distance``) non-finite.
- **Effective FID.** A diverged run counts as ``DIVERGED_FID`` in medians, quartiles, fractions
  and figures, so the statistics stay finite and a diverged setting never counts as good; a
  counted run with no FID and no divergence is *unmeasured* and left out of FID statistics.
- **Fractions** ``< 20`` / ``< 10``: runs whose effective FID is below the threshold over the
  runs with an effective FID (the grid settings with a known outcome).
- **Spearman(EM, FID)** per run: metrics rows joined by step (training and evaluation rows of one
  step merged), over steps where both ``em_distance`` and ``classifier_fid`` are finite; needs
  ``MIN_SPEARMAN_POINTS`` steps and two distinct values of each, else undefined. Claim 3's verdict
  uses it over all steps, as the paper's Figure 3 plots the whole run. Reported beside it, not
  in a verdict: the same over the second half of the run's evaluation steps (``spearman_late``),
  because a clipped critic that has not caught up with the generator early on gives an estimate
  that rises while samples improve (fixed before the study's re-run, from its first attempt). The EM estimate
  is E[C(real)] - E[C(fake)], which falls as samples improve, so a loss curve that tracks
  quality has a *positive* Spearman with FID. For ``gan`` and ``hinge`` the same column holds
  E[C(real)] - E[C(fake)] of their discriminator, not an EM estimate; it is reported, labelled.
- **Mode collapse** (MNIST): a run is collapse-free when it covers all 10 classes and its class
  KL is at most ``CLASS_KL_MAX``; on Stacked MNIST when it covers at least
  ``MODE_COVERAGE_MIN`` of the modes a perfect generator would cover with the same number of
  samples (1000 (1 - (1 - 1/1000)^N): 865 for N = 2000, 1000 for N = 26,000).

The four verdicts each state their rule in ``VERDICT_RULES`` (printed in tables.md); each is
computed from the numbers above, ``no data`` when a group it compares is empty.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .rundir import RunDir
from .sweep_summary import SUMMARY_COLUMNS, read_sweep_rows

DIVERGED_FID = 100.0            # classifier FID above this: the run diverged (and counts as this)
THRESHOLDS = (20.0, 10.0)       # "reaches FID < t": the fractions of Lucic et al.'s Figure 5
MIN_SPEARMAN_POINTS = 3         # fewer evaluation steps say nothing about a curve
ALL_CLASSES = 10
CLASS_KL_MAX = 0.1              # nats; log 10 = 2.30 is one digit, 2000 uniform draws give ~0.002
STACKED_MODES = 1000
MODE_COVERAGE_MIN = 0.9         # of a perfect generator's expected coverage at the same N
DEFAULT_EVAL_SAMPLES = 2000     # the sweep's and the trainer's default when a row does not say
GOOD_SPEARMAN = 0.9             # "tracks": the fraction of runs at or above this is reported

# The swept labels and the columns they may come from (the first present wins).
LABELS = {"objective": ("objective", "train.objective"), "arch": ("arch",), "lr_scale": ("lr_scale",),
          "lr": ("train.lr",), "n_critic": ("train.n_critic",), "seed": ("train.seed",)}
OBJECTIVE_ORDER = ("wgan", "wgan-gp", "wgan-lp", "wgan-sn", "hinge", "gan")
ARCH_ORDER = ("dcgan", "nonorm", "mlp")
NOT_EM = ("gan", "hinge")       # their em_distance column is their discriminator's gap, not an EM estimate
NONFINITE_REASON = re.compile(r"nan|inf|non-?finite", re.IGNORECASE)

VERDICT_RULES = {
    1: "supported if wgan's share of settings with FID < 20 is at least 0.5 and at least 0.25 above gan's and "
       "its FID IQR at most half of gan's; refuted if wgan's share is not above gan's and its IQR not below; "
       "mixed otherwise",
    2: "supported if at least 90% of wgan's non-diverged runs are collapse-free (on MNIST, and on Stacked MNIST "
       "when given: the smaller share counts); refuted if under 50%; mixed otherwise",
    3: "supported if the median Spearman(EM, FID) of wgan runs is at least 0.7; refuted if below 0.3; "
       "mixed otherwise",
    4: "supported if at least half of wgan's nonorm settings reach FID < 20 and gan's share is at least 0.25 "
       "lower; refuted if wgan's share is under half or gan's is as high; mixed otherwise",
}
CLAIMS = {
    1: "GANs are sensitive to hyperparameters and architecture while WGAN is not",
    2: "WGAN does not mode-collapse",
    3: "The EM estimate is a loss curve that tracks sample quality",
    4: "BatchNorm-free DCGANs train with WGAN but not with a GAN",
}


class StudyError(Exception):
    """The study folder (or a file given with it) cannot be read; the message says what to do."""


# ----------------------------------------------------------------------------- reading
def number(text: Any) -> float | None:
    """A cell or JSON value as a float (``nan`` and ``inf`` kept: they mean divergence); None when blank."""
    if text is None or text == "" or isinstance(text, bool):
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def require_rows(study_dir: str, what: str = "study") -> list[dict]:
    """``sweep.read_sweep_rows``, refusing a folder without a summary."""
    if not os.path.isdir(study_dir):
        raise StudyError(f"{what} folder '{study_dir}' does not exist; pass the --out folder of the {what}'s sweep")
    rows = read_sweep_rows(study_dir)
    if not rows:
        raise StudyError(f"'{study_dir}' has no summary.csv (nor summary.shard-*-of-*.csv) with runs; pass the "
                         f"--out folder of the {what}'s sweep, where wgan-sweep writes summary.csv")
    return rows


def label(row: dict, name: str) -> str:
    """A swept label of a row ('' when the study did not sweep it)."""
    for column in LABELS[name]:
        if row.get(column, "") != "":
            return row[column]
    return ""


def swept_columns(rows: Sequence[dict]) -> list[str]:
    """The summary's columns after SUMMARY_COLUMNS: what the study varied."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in SUMMARY_COLUMNS and k not in keys]
    return keys


def merged_by_step(rows: Iterable[dict]) -> list[dict]:
    """Metrics rows merged per step, in step order: evaluation rows may be separate rows of a step."""
    steps: dict = {}
    for row in rows:
        step = row.get("step")
        if isinstance(step, (int, float)) and not isinstance(step, bool):
            steps.setdefault(int(step), {}).update(row)
    return [steps[s] for s in sorted(steps)]


def last_value(rows: Sequence[dict], key: str) -> float | None:
    """The value of ``key`` in the last merged row holding it."""
    for row in reversed(rows):
        value = number(row.get(key))
        if value is not None:
            return value
    return None


# ----------------------------------------------------------------------------- Spearman
def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, tied values sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman_by_ranks(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho as the Pearson correlation of average ranks; None when a side is constant."""
    if len(x) != len(y) or len(x) < 2:
        return None
    rx, ry = np.array(average_ranks(x)), np.array(average_ranks(y))
    dx, dy = rx - rx.mean(), ry - ry.mean()
    scale = math.sqrt(float((dx * dx).sum() * (dy * dy).sum()))
    return float((dx * dy).sum() / scale) if scale > 0 else None


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (scipy's when installed, the same average-rank definition otherwise)."""
    if len(x) != len(y) or len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None     # undefined; scipy would warn and return nan
    try:
        from scipy.stats import spearmanr
    except ImportError:
        return spearman_by_ranks(x, y)
    return float(spearmanr(x, y).statistic)


def em_fid_pairs(rows: Sequence[dict]) -> tuple[list[float], list[float]]:
    """(EM, classifier FID) at the merged steps where both are finite."""
    em, fid = [], []
    for row in rows:
        e, f = number(row.get("em_distance")), number(row.get("classifier_fid"))
        if finite(e) and finite(f):
            em.append(e)
            fid.append(f)
    return em, fid


def em_fid_spearman(rows: Sequence[dict], late: bool = False) -> tuple[float | None, int]:
    """(Spearman(EM, FID) or None, number of steps it is over) of a run's merged metrics rows;
    ``late``: over the second half of those steps only."""
    em, fid = em_fid_pairs(rows)
    if late:
        em, fid = em[len(em) // 2:], fid[len(fid) // 2:]
    if len(em) < MIN_SPEARMAN_POINTS:
        return None, len(em)
    return spearman(em, fid), len(em)


# ----------------------------------------------------------------------------- per run
@dataclass
class RunResult:
    name: str
    overrides: str
    status: str
    objective: str
    arch: str
    lr_scale: str
    n_critic: str
    seed: str
    counted: bool                       # a training outcome of its setting (see the module's rules)
    excluded_why: str                   # why not, when not counted
    classifier_fid: float | None
    class_kl: float | None
    classes_covered: float | None
    em_distance: float | None
    diverged: bool
    diverged_why: str
    spearman: float | None
    spearman_steps: int
    spearman_late: float | None = None
    eval_samples: float | None = None
    modes_covered: float | None = None
    mode_kl: float | None = None

    @property
    def effective_fid(self) -> float | None:
        """The FID the statistics use: DIVERGED_FID for a diverged run, None when unmeasured."""
        if not self.counted:
            return None
        if self.diverged:
            return DIVERGED_FID
        return self.classifier_fid

    @property
    def collapse_free(self) -> bool | None:
        """MNIST: all 10 classes and class KL <= CLASS_KL_MAX; None when not measured."""
        if self.classes_covered is None or self.class_kl is None:
            return None
        return self.classes_covered >= ALL_CLASSES and self.class_kl <= CLASS_KL_MAX

    @property
    def stacked_collapse_free(self) -> bool | None:
        if self.modes_covered is None:
            return None
        return self.modes_covered >= MODE_COVERAGE_MIN * expected_modes(self.eval_samples)


def expected_modes(samples: float | None, modes: int = STACKED_MODES) -> float:
    """Modes a perfect (uniform) generator covers on average with ``samples`` draws."""
    n = samples if finite(samples) and samples > 0 else DEFAULT_EVAL_SAMPLES
    return modes * (1 - (1 - 1 / modes) ** n)


def counted_status(status: str, reason: str) -> tuple[bool, str]:
    """(counts as an outcome of its setting, why not)."""
    if status == "finished":
        return True, ""
    if status == "failed":
        if NONFINITE_REASON.search(reason or ""):
            return True, ""
        return False, "failed, not by divergence: " + (reason or "no reason given")
    return False, status or "no status"


def divergence(status: str, reason: str, fid: float | None, em: float | None) -> tuple[bool, str]:
    """(diverged, which rule said so) for a counted run; see the module's rules."""
    if status == "failed" and NONFINITE_REASON.search(reason or ""):
        return True, "NaN/Inf during training"
    if fid is not None and not (math.isfinite(fid) and fid <= DIVERGED_FID):
        return True, f"final classifier FID {fid:.4g} > {DIVERGED_FID:g}"
    if em is not None and not math.isfinite(em):
        return True, "final EM estimate non-finite"
    return False, ""


def run_result(row: dict, study_dir: str) -> RunResult:
    """One summary row with its run directory's metrics, judged by the module's rules."""
    name = row.get("name", "")
    status, reason = row.get("status", ""), row.get("reason", "")
    metrics = merged_by_step(RunDir(os.path.join(study_dir, name)).read_metrics()) if name else []

    def final(key: str) -> float | None:
        value = number(row.get(key))
        return value if value is not None else last_value(metrics, key)

    fid, em = final("classifier_fid"), final("em_distance")
    counted, why_not = counted_status(status, reason)
    diverged, why = divergence(status, reason, fid, em) if counted else (False, "")
    rho, steps = em_fid_spearman(metrics)
    return RunResult(name=name, overrides=row.get("overrides", ""), status=status,
                     objective=label(row, "objective"), arch=label(row, "arch"), lr_scale=label(row, "lr_scale"),
                     n_critic=label(row, "n_critic"), seed=label(row, "seed"), counted=counted,
                     excluded_why=why_not, classifier_fid=fid, class_kl=final("class_kl"),
                     classes_covered=final("classes_covered"), em_distance=em, diverged=diverged,
                     diverged_why=why, spearman=rho, spearman_steps=steps,
                     spearman_late=em_fid_spearman(metrics, late=True)[0], eval_samples=number(row.get("eval_samples")),
                     modes_covered=final("modes_covered"), mode_kl=final("mode_kl"))


def collect_runs(study_dir: str, what: str = "study") -> list[RunResult]:
    return [run_result(row, study_dir) for row in require_rows(study_dir, what)]


# ----------------------------------------------------------------------------- statistics
def ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    """Known names in their canonical order, then the others alphabetically."""
    values = set(values)
    return [v for v in order if v in values] + sorted(values - set(order))


def quantile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q * 100)) if len(values) else None


def fraction_below(values: Sequence[float], threshold: float) -> float | None:
    return sum(v < threshold for v in values) / len(values) if values else None


def group_stats(runs: Sequence[RunResult]) -> dict:
    """The numbers of one group of runs (an objective, an objective x arch cell)."""
    counted = [r for r in runs if r.counted]
    fids = [r.effective_fid for r in counted if r.effective_fid is not None]
    rhos = [r.spearman for r in counted if r.spearman is not None]
    late = [r.spearman_late for r in counted if r.spearman_late is not None]
    healthy = [r for r in counted if not r.diverged]
    free = [r.collapse_free for r in healthy if r.collapse_free is not None]
    stats = {"runs": len(runs), "counted": len(counted), "excluded": len(runs) - len(counted),
             "diverged": sum(r.diverged for r in counted), "measured": len(fids),
             "median_fid": quantile(fids, 0.5), "best_fid": min(fids) if fids else None,
             "q1_fid": quantile(fids, 0.25), "q3_fid": quantile(fids, 0.75),
             "iqr_fid": quantile(fids, 0.75) - quantile(fids, 0.25) if fids else None,
             "median_spearman": quantile(rhos, 0.5), "spearman_runs": len(rhos),
             "spearman_good": sum(r >= GOOD_SPEARMAN for r in rhos) / len(rhos) if rhos else None,
             "median_spearman_late": quantile(late, 0.5), "spearman_late_runs": len(late),
             "collapse_free": sum(free) / len(free) if free else None, "collapse_measured": len(free),
             "median_classes": quantile([r.classes_covered for r in healthy if r.classes_covered is not None], 0.5),
             "median_class_kl": quantile([r.class_kl for r in healthy if r.class_kl is not None], 0.5)}
    for t in THRESHOLDS:
        stats[f"below_{t:g}"] = fraction_below(fids, t)
        stats[f"n_below_{t:g}"] = sum(v < t for v in fids)
    return stats


def by_key(runs: Sequence[RunResult], *keys: str) -> dict:
    """{(value of each key): [runs]}."""
    groups: dict = {}
    for r in runs:
        groups.setdefault(tuple(getattr(r, k) for k in keys), []).append(r)
    return groups


def objective_stats(runs: Sequence[RunResult]) -> dict:
    groups = by_key(runs, "objective")
    return {o: group_stats(groups[(o,)]) for o in ordered((k[0] for k in groups), OBJECTIVE_ORDER)}


def objective_arch_stats(runs: Sequence[RunResult]) -> dict:
    """{objective: {arch: stats}}."""
    groups = by_key(runs, "objective", "arch")
    out: dict = {}
    for o in ordered((k[0] for k in groups), OBJECTIVE_ORDER):
        for a in ordered((k[1] for k in groups if k[0] == o), ARCH_ORDER):
            out.setdefault(o, {})[a] = group_stats(groups[(o, a)])
    return out


def best_settings(runs: Sequence[RunResult]) -> dict:
    """{objective: the counted, non-diverged run with the lowest classifier FID}."""
    best: dict = {}
    for r in runs:
        usable = r.counted and not r.diverged and r.classifier_fid is not None
        if usable and (r.objective not in best or r.classifier_fid < best[r.objective].classifier_fid):
            best[r.objective] = r
    return {o: best[o] for o in ordered(best, OBJECTIVE_ORDER)}


def stacked_stats(runs: Sequence[RunResult]) -> dict:
    """{objective: Stacked MNIST numbers over its counted, non-diverged runs}."""
    out = {}
    groups = by_key(runs, "objective")
    for o in ordered((k[0] for k in groups), OBJECTIVE_ORDER):
        group = groups[(o,)]
        healthy = [r for r in group if r.counted and not r.diverged]
        free = [r.stacked_collapse_free for r in healthy if r.stacked_collapse_free is not None]
        modes = [r.modes_covered for r in healthy if r.modes_covered is not None]
        kls = [r.mode_kl for r in healthy if r.mode_kl is not None]
        out[o] = {"runs": len(group), "diverged": sum(r.diverged for r in group if r.counted),
                  "measured": len(modes), "median_modes": quantile(modes, 0.5),
                  "min_modes": min(modes) if modes else None, "median_mode_kl": quantile(kls, 0.5),
                  "collapse_free": sum(free) / len(free) if free else None}
    return out


def read_fid_file(path: str) -> dict:
    """{run name: FID 10k} from a JSON mapping."""
    try:
        with open(path, encoding="utf-8") as handle:
            tree = json.load(handle)
    except FileNotFoundError:
        raise StudyError(f"--fid file '{path}' does not exist; pass a JSON file mapping run names to FID") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StudyError(f"--fid file '{path}' cannot be read as JSON ({err.__class__.__name__}); "
                         f"write it as {{\"run name\": FID, ...}}") from None
    if not isinstance(tree, dict) or not all(number(v) is not None for v in tree.values()):
        raise StudyError(f"--fid file '{path}' must map run names to numbers, e.g. {{\"objective=wgan,seed=0\": 3.1}}")
    return {str(k): number(v) for k, v in tree.items()}


# ----------------------------------------------------------------------------- verdicts
@dataclass
class Verdict:
    claim: int
    text: str
    evidence: str
    outcome: str                        # supported | refuted | mixed | no data
    numbers: dict = field(default_factory=dict)
    rule: str = ""


def format_number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def format_percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _verdict(claim: int, evidence: str, outcome: str, numbers: dict) -> Verdict:
    return Verdict(claim, CLAIMS[claim], evidence, outcome, numbers, VERDICT_RULES[claim])


def verdict_sensitivity(stats: dict) -> Verdict:
    """Claim 1: wgan's spread and success rate over the grid against gan's."""
    w, g = stats.get("wgan"), stats.get("gan")
    if not w or not g or w["measured"] == 0 or g["measured"] == 0:
        return _verdict(1, "wgan or gan has no measured run", "no data", {})
    fw, fg, iw, ig = w["below_20"], g["below_20"], w["iqr_fid"], g["iqr_fid"]
    numbers = {"wgan_below_20": fw, "gan_below_20": fg, "wgan_iqr": iw, "gan_iqr": ig}
    evidence = f"FID<20: wgan {format_percent(fw)} vs gan {format_percent(fg)}; FID IQR: wgan {format_number(iw)} vs gan {format_number(ig)}"
    if fw >= 0.5 and fw - fg >= 0.25 and iw <= 0.5 * ig:
        outcome = "supported"
    elif fw <= fg and iw >= ig:
        outcome = "refuted"
    else:
        outcome = "mixed"
    return _verdict(1, evidence, outcome, numbers)


def verdict_mode_collapse(stats: dict, stacked: dict | None) -> Verdict:
    """Claim 2: collapse-free share of wgan's non-diverged runs (MNIST, and Stacked MNIST if given)."""
    shares, parts, numbers = [], [], {}
    w, g = stats.get("wgan", {}), stats.get("gan", {})
    if w.get("collapse_free") is not None:
        shares.append(w["collapse_free"])
        numbers.update(mnist_wgan=w["collapse_free"], mnist_gan=g.get("collapse_free"))
        parts.append(f"MNIST all 10 classes & KL<={CLASS_KL_MAX:g}: wgan {format_percent(w['collapse_free'])} "
                     f"(median KL {format_number(w['median_class_kl'])}) vs gan {format_percent(g.get('collapse_free'))}")
    if stacked:
        sw, sg = stacked.get("wgan", {}), stacked.get("gan", {})
        if sw.get("collapse_free") is not None:
            shares.append(sw["collapse_free"])
            numbers.update(stacked_wgan=sw["collapse_free"], stacked_gan=sg.get("collapse_free"),
                           stacked_wgan_median_modes=sw["median_modes"])
            parts.append(f"Stacked MNIST: wgan {format_percent(sw['collapse_free'])} (median {format_number(sw['median_modes'], 4)} "
                         f"modes) vs gan {format_percent(sg.get('collapse_free'))}")
    if not shares:
        return _verdict(2, "no wgan run with class metrics", "no data", {})
    share = min(shares)
    outcome = "supported" if share >= 0.9 else "refuted" if share < 0.5 else "mixed"
    return _verdict(2, "; ".join(parts), outcome, numbers)


def verdict_em_tracks(stats: dict) -> Verdict:
    """Claim 3: median Spearman(EM, FID) over wgan runs."""
    w, g = stats.get("wgan", {}), stats.get("gan", {})
    rho = w.get("median_spearman")
    if rho is None:
        return _verdict(3, "no wgan run has enough evaluation steps", "no data", {})
    numbers = {"wgan_median": rho, "wgan_good": w["spearman_good"], "gan_median": g.get("median_spearman")}
    evidence = (f"median Spearman wgan {rho:.2f} over {w['spearman_runs']} runs, {format_percent(w['spearman_good'])} "
                f">= {GOOD_SPEARMAN:g} (gan's discriminator gap: {format_number(g.get('median_spearman'), 2)}; "
                f"over the second half of each run, not in the rule: wgan {format_number(w.get('median_spearman_late'), 2)})")
    outcome = "supported" if rho >= 0.7 else "refuted" if rho < 0.3 else "mixed"
    return _verdict(3, evidence, outcome, numbers)


def verdict_batchnorm_free(arch_stats: dict) -> Verdict:
    """Claim 4: share of nonorm settings reaching FID < 20, wgan against gan."""
    w, g = arch_stats.get("wgan", {}).get("nonorm"), arch_stats.get("gan", {}).get("nonorm")
    if not w or not g or w["measured"] == 0 or g["measured"] == 0:
        return _verdict(4, "wgan or gan has no measured nonorm run", "no data", {})
    fw, fg = w["below_20"], g["below_20"]
    numbers = {"wgan_nonorm_below_20": fw, "gan_nonorm_below_20": fg,
               "wgan_nonorm_diverged": w["diverged"] / w["counted"], "gan_nonorm_diverged": g["diverged"] / g["counted"]}
    evidence = (f"nonorm FID<20: wgan {format_percent(fw)} vs gan {format_percent(fg)}; diverged: wgan {w['diverged']}/{w['counted']} "
                f"vs gan {g['diverged']}/{g['counted']}")
    if fw >= 0.5 and fw - fg >= 0.25:
        outcome = "supported"
    elif fw < 0.5 or fg >= fw:
        outcome = "refuted"
    else:
        outcome = "mixed"
    return _verdict(4, evidence, outcome, numbers)


# ----------------------------------------------------------------------------- the report
def build_report(study_dir: str, stacked_dir: str | None = None, fid_file: str | None = None) -> dict:
    """Every number of the study: runs, groups, best settings, Stacked MNIST, FID 10k, verdicts.

    Raises:
        StudyError: a folder has no summary, or the --fid file is unusable.
    """
    runs = collect_runs(study_dir)
    stacked_runs = collect_runs(stacked_dir, "Stacked MNIST") if stacked_dir else None
    fid10k = read_fid_file(fid_file) if fid_file else None
    stats, arch = objective_stats(runs), objective_arch_stats(runs)
    stacked = stacked_stats(stacked_runs) if stacked_runs is not None else None
    verdicts = [verdict_sensitivity(stats), verdict_mode_collapse(stats, stacked), verdict_em_tracks(stats),
                verdict_batchnorm_free(arch)]
    return {"study": os.path.basename(os.path.normpath(study_dir)), "swept": swept_columns(read_sweep_rows(study_dir)),
            "rules": {"diverged_fid": DIVERGED_FID, "thresholds": list(THRESHOLDS),
                      "min_spearman_points": MIN_SPEARMAN_POINTS, "class_kl_max": CLASS_KL_MAX,
                      "mode_coverage_min": MODE_COVERAGE_MIN, "good_spearman": GOOD_SPEARMAN},
            "runs": runs, "objectives": stats, "objective_arch": arch, "best": best_settings(runs),
            "stacked_runs": stacked_runs, "stacked": stacked, "fid10k": fid10k, "verdicts": verdicts}


def jsonable(value: Any) -> Any:
    """The report as JSON values: dataclasses as dicts, non-finite numbers as strings ("nan", "inf")."""
    if isinstance(value, RunResult):
        return jsonable({**asdict(value), "effective_fid": value.effective_fid,
                         "collapse_free": value.collapse_free})
    if isinstance(value, Verdict):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
