"""wgan/study.py: the study's grid as one sweep plan (names, labels, per-objective learning rates)."""

import os

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
