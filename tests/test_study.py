"""wgan/study.py: the study's grid as one sweep plan (names, labels, per-objective learning rates)."""

import csv
import os
import statistics

import pytest

from wgan.config import ConfigError
from wgan.objectives import OBJECTIVES
from wgan.study import ARCHITECTURES, OBJECTIVE_NAMES, main, plan_study
from wgan.sweep import ConcurrentExecutor, SweepOptions, read_summary, run_sweep


def test_the_full_grid_is_216_distinct_runs_with_each_objectives_rates(tmp_path):
    plan = plan_study(str(tmp_path / "study"))
    assert len(plan.runs) == 6 * 3 * 3 * 2 * 2 and all(r.cfg is not None for r in plan.runs)
    assert len({r.name for r in plan.runs}) == len(plan.runs) == len({r.run_dir for r in plan.runs})
    assert [r.index for r in plan.runs] == list(range(len(plan.runs)))
    for run in plan.runs:
        labels = dict(run.swept)
        cfg = run.cfg
        assert cfg.train.objective == labels["objective"] and cfg.train.steps == 3000
        default = OBJECTIVES[cfg.train.objective].defaults
        assert cfg.train.lr == pytest.approx(float(labels["lr_scale"]) * default["lr"])
        assert cfg.train.optimizer == default["optimizer"]
        assert cfg.run.dir == os.path.join(plan.out, run.name) and cfg.log.eval_every == 300
        assert (cfg.model.g_width, cfg.model.c_width) == (64, 64)
        if labels["arch"] == "nonorm":
            assert (cfg.model.g_norm, cfg.model.c_norm) == ("none", "none")
        elif labels["arch"] == "mlp":
            assert cfg.model.g_arch == "mlp"
        else:
            assert cfg.model.g_norm == "batch" and cfg.model.c_norm == OBJECTIVES[cfg.train.objective].critic_norm
    first = plan.runs[0]
    assert first.name == "wgan,dcgan,lr_scale=0.5,n_critic=1,seed=0"
    # Seed slowest, architecture fastest: half the runs (a shard, a stopped study) hold every cell.
    assert [dict(r.swept)["train.seed"] for r in plan.runs] == ["0"] * 108 + ["1"] * 108
    assert plan.runs[1].name == "wgan,nonorm,lr_scale=0.5,n_critic=1,seed=0"
    for i in range(2):
        shard = [dict(r.swept) for r in plan.runs if r.index % 2 == i]
        assert {d["objective"] for d in shard} == set(OBJECTIVE_NAMES)
        assert {d["arch"] for d in shard} == set(ARCHITECTURES)
    assert plan.keys == ["objective", "arch", "lr_scale", "train.lr", "train.n_critic", "train.seed"]
    assert set(OBJECTIVE_NAMES) == {dict(r.swept)["objective"] for r in plan.runs}
    assert set(ARCHITECTURES) == {dict(r.swept)["arch"] for r in plan.runs}


def test_a_tiny_study_trains_and_its_summary_carries_the_labels(tmp_path, tiny_args):
    from helpers import SHORT

    plan = plan_study(str(tmp_path / "study"), steps=4, extra=[*tiny_args, *SHORT, "log.eval_every=0"],
                      objectives=["wgan", "gan"], archs=["dcgan", "nonorm", "mlp"], lr_scales=[1.0], n_critic=[1],
                      seeds=[0])
    result = run_sweep(plan, SweepOptions(evaluate=False, progress=False), ConcurrentExecutor(2), echo=lambda _: None)
    assert result.exit_code == 0
    rows = read_summary(os.path.join(plan.out, "summary.csv"))
    assert [(r["objective"], r["arch"], r["lr_scale"], r["status"]) for r in rows] == [
        (o, a, "1", "finished") for o in ("wgan", "gan") for a in ("dcgan", "nonorm", "mlp")]
    assert rows[3]["train.lr"] == "0.0002" and rows[0]["train.n_critic"] == "1"


def test_bad_study_input_is_one_line(tmp_path, capsys):
    with pytest.raises(ConfigError, match="unknown objective 'wgann'"):
        plan_study(str(tmp_path), objectives=["wgann"])
    assert main(["--out", str(tmp_path), "--archs", "resnet", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: study: unknown architecture 'resnet'") and err.count("\n") == 1
    assert main(["--out", str(tmp_path / "s"), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"216 runs in {tmp_path / 's'}" and not (tmp_path / "s").exists()


def test_stacked_runs_take_each_objectives_best_setting_and_the_report_reads_their_modes(tmp_path, tiny_args):
    from helpers import SHORT

    from wgan.study import best_study_settings, plan_stacked
    from wgan.study_report import build_report

    study = tmp_path / "study"
    rows = [("wgan,dcgan,lr_scale=0.5,n_critic=1,seed=0", "30"), ("wgan,nonorm,lr_scale=2,n_critic=5,seed=0", "12"),
            ("wgan,mlp,lr_scale=1,n_critic=5,seed=0", "500"),          # diverged (FID > 100): never the best
            ("gan,dcgan,lr_scale=1,n_critic=1,seed=1", "40")]
    study.mkdir()
    with open(study / "summary.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name", "objective", "arch", "lr_scale", "train.n_critic", "train.seed", "status", "classifier_fid"])
        for name, fid in rows:
            out.writerow([name, *(part.split("=")[-1] for part in name.split(",")), "finished", fid])
    settings = best_study_settings(str(study))
    assert settings == {"wgan": ("nonorm", 2.0, 5), "gan": ("dcgan", 1.0, 1)}
    plan = plan_stacked(str(tmp_path / "stacked"), settings, steps=4,
                        extra=[*tiny_args, *SHORT, "train.steps=4", "log.eval_every=0"])
    assert [r.name for r in plan.runs] == ["wgan,nonorm,lr_scale=2,n_critic=5,seed=0",
                                           "wgan,nonorm,lr_scale=2,n_critic=5,seed=1",
                                           "gan,dcgan,lr_scale=1,n_critic=1,seed=0", "gan,dcgan,lr_scale=1,n_critic=1,seed=1"]
    assert [r.index for r in plan.runs] == [0, 1, 2, 3]
    assert all(run.cfg.data.name == "stacked_mnist" for run in plan.runs)
    result = run_sweep(plan, SweepOptions(eval_samples=200, progress=False), ConcurrentExecutor(2), echo=lambda _: None)
    assert result.exit_code == 0
    summary = read_summary(os.path.join(plan.out, "summary.csv"))
    assert all(row["eval_samples"] == "200" and 0 < float(row["modes_covered"]) <= 200 and float(row["mode_kl"]) > 0
               for row in summary)                  # the sweep's final metrics: modes of the 200 samples
    stacked = build_report(str(study), str(tmp_path / "stacked"))["stacked"]
    assert set(stacked) == {"wgan", "gan"}
    assert stacked["wgan"]["median_modes"] == pytest.approx(statistics.median(float(r["modes_covered"])
                                                                              for r in summary[:2]))


def test_stacked_from_a_folder_without_a_study_is_one_line(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "s"), "--stacked-from", str(tmp_path / "none"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--stacked-from" in err and "does not exist" in err
