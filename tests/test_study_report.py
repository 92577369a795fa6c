"""wgan/study_report.py, wgan/study_output.py and scripts/study_report.py on synthetic study folders with known numbers."""

import csv
import json
import math
import os
import random
import subprocess
import sys

import pytest
from conftest import REPO, subprocess_env

from wgan import study_output as so
from wgan import study_report as sr
from wgan.rundir import RunDir
from wgan.sweep import SUMMARY_COLUMNS

LABEL_COLUMNS = ["objective", "arch", "lr_scale", "train.lr", "train.n_critic", "train.seed"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def curve(em, fid, start=100, every=100, separate_eval_rows=True):
    """metrics rows: a training row per step with em_distance; evaluation rows (FID) separate, as the
    trainer writes them, plus an off-cadence training row that has no FID and must be ignored."""
    rows = []
    for i, (e, f) in enumerate(zip(em, fid)):
        step = start + i * every
        rows.append({"step": step, "em_distance": e, "loss_critic": -e})
        if f is not None:
            eval_row = {"step": step, "classifier_fid": f, "class_kl": 0.01, "classes_covered": 10}
            if separate_eval_rows:
                rows.append(eval_row)
            else:
                rows[-1].update(eval_row)
        rows.append({"step": step + every // 2, "em_distance": 99.0})
    return rows


def write_study(root, runs):
    """A study folder: summary.csv with SUMMARY_COLUMNS and the label columns, and each run's metrics."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "summary.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SUMMARY_COLUMNS) + LABEL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for i, run in enumerate(runs):
            run = dict(run)
            metrics = run.pop("metrics", None)
            run.setdefault("name", f"run{i}")
            run.setdefault("status", "finished")
            run.setdefault("arch", "dcgan")
            run.setdefault("train.seed", str(i))
            run.setdefault("overrides", f"objective={run['objective']} train.seed={run['train.seed']}")
            writer.writerow({k: ("" if v is None else v) for k, v in run.items()})
            if metrics is not None:
                RunDir(os.path.join(root, run["name"])).write_metrics(metrics)
    return str(root)


def fids(objective, values, **extra):
    """Finished runs of one objective with these final classifier FIDs (all 10 classes)."""
    return [{"objective": objective, "classifier_fid": v, "class_kl": 0.02, "classes_covered": 10,
             "em_distance": 0.5, "name": f"{objective}-{i}-{extra.get('arch', 'dcgan')}", **extra}
            for i, v in enumerate(values)]


# ----------------------------------------------------------------------------- Spearman
def test_average_ranks_share_ties_and_spearman_matches_a_hand_computed_example():
    assert sr.average_ranks([1, 2, 2, 4]) == [1, 2.5, 2.5, 4]
    assert sr.average_ranks([3, 1, 3, 3]) == [3, 1, 3, 3]
    # ranks x: 1, 2.5, 2.5, 4 and y: 1, 3, 2, 4; centred: (-1.5, 0, 0, 1.5) and (-1.5, .5, -.5, 1.5):
    # sum of products 4.5, sums of squares 4.5 and 5, so rho = 4.5 / sqrt(22.5) = 3 / sqrt(10).
    x, y = [1, 2, 2, 4], [10, 30, 20, 40]
    assert sr.spearman_by_ranks(x, y) == pytest.approx(3 / math.sqrt(10))
    assert sr.spearman(x, y) == pytest.approx(3 / math.sqrt(10))
    assert sr.spearman([1, 2, 3], [9, 5, 1]) == pytest.approx(-1)
    assert sr.spearman([1, 1, 1], [1, 2, 3]) is None and sr.spearman_by_ranks([1, 1], [1, 2]) is None
    assert sr.spearman([1], [2]) is None


def test_own_spearman_agrees_with_scipy_on_data_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(0)
    for _ in range(20):
        x = [rng.randint(0, 5) for _ in range(12)]
        y = [rng.randint(0, 5) for _ in range(12)]
        assert sr.spearman_by_ranks(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_spearman_without_scipy_uses_the_average_rank_definition(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.stats", None)      # import scipy.stats now raises ImportError
    assert sr.spearman([1, 2, 2, 4], [10, 30, 20, 40]) == pytest.approx(3 / math.sqrt(10))


def test_run_spearman_joins_separate_evaluation_rows_by_step():
    rows = sr.merged_by_step(curve([5, 4, 3, 2, 1], [50, 40, 30, 35, 20]))
    rho, steps = sr.em_fid_spearman(rows)
    # em ranks 5 4 3 2 1, fid ranks 5 4 2 3 1: d^2 = 0+0+1+1+0 -> 1 - 6*2/(5*24) = 0.9
    assert steps == 5 and rho == pytest.approx(0.9)
    assert sr.em_fid_spearman(sr.merged_by_step(curve([3, 2, 1], [10, 20, 30], separate_eval_rows=False))) \
        == (pytest.approx(-1), 3)
    assert sr.em_fid_spearman(sr.merged_by_step(curve([2, 1], [20, 10]))) == (None, 2)   # too few steps
    assert sr.em_fid_spearman(sr.merged_by_step(curve([3, float("nan"), 1], [30, 20, 10]))) == (None, 2)


def test_late_spearman_is_over_the_second_half_of_the_evaluation_steps():
    # Early on the EM estimate rises while FID falls (a critic catching up); later both fall.
    rows = sr.merged_by_step(curve([1, 2, 3, 6, 5, 4, 3], [90, 80, 70, 60, 50, 40, 30]))
    assert sr.em_fid_spearman(rows)[0] < 0
    assert sr.em_fid_spearman(rows, late=True) == (pytest.approx(1), 4)     # steps 4..7
    assert sr.em_fid_spearman(sr.merged_by_step(curve([3, 2, 1, 0], [4, 3, 2, 1])), late=True) == (None, 2)


# ----------------------------------------------------------------------------- divergence
@pytest.mark.parametrize("status, reason, fid, em, diverged", [
    ("finished", "", 12.0, 0.4, False),
    ("finished", "", 100.0, 0.4, False),                 # at the threshold: not above it
    ("finished", "", 100.5, 0.4, True),
    ("finished", "", float("nan"), 0.4, True),
    ("finished", "", 12.0, float("inf"), True),
    ("finished", "", None, None, False),                  # unmeasured, not diverged
    ("failed", "critic loss became NaN/Inf at generator step 12", None, None, True),
    ("failed", "generator weights became NaN/Inf by generator step 40", 5.0, 0.1, True),
])
def test_divergence_rule(status, reason, fid, em, diverged):
    assert sr.divergence(status, reason, fid, em)[0] is diverged


def test_only_training_outcomes_count():
    assert sr.counted_status("finished", "") == (True, "")
    assert sr.counted_status("failed", "critic loss became NaN/Inf at generator step 3")[0]
    assert not sr.counted_status("failed", "dataset not found in data/")[0]
    assert not sr.counted_status("interrupted", "stopped by SIGTERM")[0]
    assert not sr.counted_status("pending", "")[0]


# ----------------------------------------------------------------------------- tables
def test_per_objective_numbers(tmp_path):
    runs = fids("wgan", [5, 8, 15, 30]) + fids("gan", [12, 150, 25]) + [
        {"objective": "gan", "status": "failed", "reason": "critic loss became NaN/Inf at generator step 7",
         "name": "gan-nan"},
        {"objective": "gan", "status": "failed", "reason": "dataset 'mnist' not found", "name": "gan-nodata"},
        {"objective": "wgan", "status": "pending", "name": "wgan-pending"}]
    report = sr.build_report(write_study(tmp_path / "study", runs))
    w, g = report["objectives"]["wgan"], report["objectives"]["gan"]
    assert (w["runs"], w["counted"], w["excluded"], w["diverged"]) == (5, 4, 1, 0)
    assert w["median_fid"] == pytest.approx(11.5) and w["best_fid"] == 5
    assert (w["below_20"], w["below_10"]) == (0.75, 0.5)
    assert w["iqr_fid"] == pytest.approx(18.75 - 7.25)
    # gan: 12, 25 and two diverged runs (FID 150; NaN) counted as FID 100; the data failure excluded
    assert (g["runs"], g["counted"], g["excluded"], g["diverged"]) == (5, 4, 1, 2)
    assert g["median_fid"] == pytest.approx(62.5) and (g["below_20"], g["below_10"]) == (0.25, 0.0)
    assert report["best"]["wgan"].classifier_fid == 5 and report["best"]["gan"].classifier_fid == 12
    assert list(report["objectives"]) == ["wgan", "gan"]        # the canonical order, not the file's


def test_objective_by_arch_table(tmp_path):
    runs = fids("wgan", [5, 30], arch="nonorm") + fids("wgan", [4, 6], arch="dcgan") + fids("gan", [200, 90],
                                                                                             arch="nonorm")
    arch = sr.build_report(write_study(tmp_path / "s", runs))["objective_arch"]
    assert list(arch["wgan"]) == ["dcgan", "nonorm"]
    assert arch["wgan"]["nonorm"]["below_20"] == 0.5 and arch["wgan"]["dcgan"]["below_10"] == 1.0
    assert arch["gan"]["nonorm"]["diverged"] == 1 and arch["gan"]["nonorm"]["below_20"] == 0.0


def test_missing_metrics_fall_back_to_the_last_eval_row_or_stay_unmeasured(tmp_path):
    runs = [
        {"objective": "wgan", "name": "from-log", "metrics": curve([3, 2, 1], [30, 20, 9])},   # blank summary cells
        {"objective": "wgan", "name": "no-eval", "metrics": [{"step": 100, "em_distance": 1.0}]},
        {"objective": "wgan", "name": "no-dir"},
        {"objective": "wgan", "name": "nan-em", "classifier_fid": 8, "em_distance": "nan"},
    ]
    report = sr.build_report(write_study(tmp_path / "s", runs))
    by_name = {r.name: r for r in report["runs"]}
    logged = by_name["from-log"]
    assert logged.classifier_fid == 9 and logged.classes_covered == 10 and logged.class_kl == 0.01
    assert logged.spearman == pytest.approx(1) and logged.em_distance == 99.0   # the last logged EM
    for name in ("no-eval", "no-dir"):
        r = by_name[name]
        assert r.counted and not r.diverged and r.effective_fid is None and r.spearman is None
    assert by_name["nan-em"].diverged and by_name["nan-em"].effective_fid == sr.DIVERGED_FID
    stats = report["objectives"]["wgan"]
    assert stats["measured"] == 2 and stats["counted"] == 4 and stats["below_10"] == 0.5
    assert report["objectives"]["wgan"]["median_spearman"] == pytest.approx(1)
    assert [v.outcome for v in report["verdicts"]][3] == "no data"                          # no gan, no nonorm
    so.tables_markdown(report)                                                              # blanks format


# ----------------------------------------------------------------------------- verdicts
def test_claim_1_supported_when_wgan_is_robust_and_gan_is_not(tmp_path):
    runs = fids("wgan", [5, 6, 7, 8, 9, 12]) + fids("gan", [6, 40, 90, 150, 300, 18])
    verdict = sr.build_report(write_study(tmp_path / "s", runs))["verdicts"][0]
    assert verdict.claim == 1 and verdict.outcome == "supported"
    assert verdict.numbers["wgan_below_20"] == 1.0 and verdict.numbers["gan_below_20"] == pytest.approx(2 / 6)


def test_claim_1_refuted_when_wgan_is_as_sensitive_as_gan(tmp_path):
    runs = fids("wgan", [6, 40, 90, 150, 300, 18]) + fids("gan", [5, 6, 7, 8, 9, 12])
    verdict = sr.build_report(write_study(tmp_path / "s", runs))["verdicts"][0]
    assert verdict.outcome == "refuted"
    same = sr.verdict_sensitivity(sr.objective_stats(sr.collect_runs(
        write_study(tmp_path / "t", fids("wgan", [5, 50, 8, 9]) + fids("gan", [5, 50, 8, 12])))))
    assert same.outcome == "mixed"          # a smaller spread, but no more settings reach 20


def test_claims_2_to_4_follow_their_rules(tmp_path):
    collapsed = {"classes_covered": 6, "class_kl": 0.9}
    runs = (fids("wgan", [5, 6, 7, 8], arch="nonorm") + fids("gan", [12, 150, 400, 90], arch="nonorm")
            + [dict(r, **collapsed) for r in fids("gan", [15, 16], arch="dcgan")])
    for i, r in enumerate(runs):        # wgan curves fall with FID; gan's discriminator gap does not
        r["metrics"] = curve([4, 3, 2, 1], [40, 30, 20, 10]) if r["objective"] == "wgan" \
            else curve([1, 3, 2, 4], [40, 30, 20, 10])
    verdicts = sr.build_report(write_study(tmp_path / "s", runs))["verdicts"]
    assert [v.claim for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[1].outcome == "supported" and verdicts[1].numbers["mnist_gan"] == 0.5   # 12, 90 free; 15, 16 collapsed
    assert verdicts[2].outcome == "supported" and verdicts[2].numbers["wgan_good"] == 1.0
    assert verdicts[2].numbers["gan_median"] == pytest.approx(-0.8)   # 1 - 6 * 18 / 60
    assert verdicts[3].outcome == "supported"
    flipped = sr.verdict_batchnorm_free(sr.objective_arch_stats(sr.collect_runs(write_study(
        tmp_path / "t", fids("wgan", [150, 300, 8], arch="nonorm") + fids("gan", [5, 6, 7], arch="nonorm")))))
    assert flipped.outcome == "refuted"


def test_stacked_mnist_coverage_is_judged_against_a_perfect_generator_at_the_same_n(tmp_path):
    assert sr.expected_modes(2000) == pytest.approx(1000 * (1 - 0.999 ** 2000))
    study = write_study(tmp_path / "s", fids("wgan", [5, 6]) + fids("gan", [5, 6]))
    stacked = write_study(tmp_path / "stacked", [
        {"objective": "wgan", "name": "w0", "eval_samples": 2000,
         "metrics": [{"step": 100, "modes_covered": 850, "mode_kl": 0.3}]},      # 850 >= 0.9 * 865
        {"objective": "wgan", "name": "w1", "eval_samples": 26000,
         "metrics": [{"step": 100, "modes_covered": 990, "mode_kl": 0.1}]},
        {"objective": "gan", "name": "g0", "eval_samples": 26000,
         "metrics": [{"step": 100, "modes_covered": 120, "mode_kl": 2.9}]}])
    report = sr.build_report(study, stacked)
    assert report["stacked"]["wgan"]["collapse_free"] == 1.0 and report["stacked"]["gan"]["collapse_free"] == 0.0
    assert report["stacked"]["wgan"]["median_modes"] == 920
    assert report["verdicts"][1].outcome == "supported" and "Stacked MNIST" in report["verdicts"][1].evidence
    assert "## Stacked MNIST" in so.tables_markdown(report)


# ----------------------------------------------------------------------------- outputs
def test_report_writes_pngs_tables_and_strict_json(tmp_path):
    pytest.importorskip("matplotlib")
    runs = (fids("wgan", [5, 8, 15], arch="nonorm") + fids("gan", [12, 150], arch="dcgan")
            + fids("hinge", [3, 40], arch="mlp"))
    for r in runs:
        r["metrics"] = curve([4, 3, 2, 1], [40, 30, 20, 10])
    runs.append({"objective": "gan", "name": "gan-nan", "status": "failed",
                 "reason": "critic loss became NaN/Inf at generator step 7", "em_distance": "nan"})
    fid_file = tmp_path / "fid.json"
    fid_file.write_text(json.dumps({"wgan-0-nonorm": 4.2, "someone-else": 9.0}))
    out = tmp_path / "out"
    assert so.main([write_study(tmp_path / "s", runs), "--out", str(out), "--fid", str(fid_file)]) == 0
    for name in so.FIGURES:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC
    tables = (out / "tables.md").read_text()
    assert "## Verdict" in tables and tables.count("**supported**") + tables.count("**refuted**") \
        + tables.count("**mixed**") + tables.count("**no data**") == 4
    assert "(not in the study)" in tables and "hinge *" in tables
    data = json.loads((out / "study.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["fid10k"]["wgan-0-nonorm"] == 4.2 and len(data["verdicts"]) == 4
    assert {r["name"]: r["diverged"] for r in data["runs"]}["gan-nan"] is True
    assert str(tmp_path) not in tables                                # no machine paths in the report


def test_cli_refuses_a_folder_without_summary_in_one_line(tmp_path, capsys):
    assert so.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "summary.csv" in err and "--out folder" in err
    assert so.main([str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    write_study(tmp_path / "s", fids("wgan", [5]))
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert so.main([str(tmp_path / "s"), "--fid", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")]) == 2
    assert "must map run names to numbers" in capsys.readouterr().err


def test_script_exit_code_and_message(tmp_path):
    done = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "study_report.py"), str(tmp_path)],
                          env=subprocess_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no summary.csv" in lines[0] and "wgan-sweep writes summary.csv" in lines[0]
