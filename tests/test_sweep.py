"""wgan/sweep.py and scripts/plot_sweep.py: the grid, run names, refusals before any work, runs
bitwise equal to solo runs, skip/resume, failure isolation, summaries, shards and the plot."""

import csv
import os
import signal
import subprocess
import sys

import pytest
from helpers import SHORT, assert_same_weights, captured

from wgan.config import ConfigError, load_config
from wgan.rundir import RunDir
from wgan.sweep import (
    SUMMARY_COLUMNS,
    Axis,
    ConcurrentExecutor,
    Grid,
    RunOutcome,
    SweepOptions,
    build_grid,
    main,
    parse_grid,
    plan_sweep,
    read_summary,
    read_sweep_file,
    run_names,
    run_sweep,
    split_values,
    write_summaries,
)
from wgan.trainer import Trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_EVAL = SweepOptions(evaluate=False, progress=False)


@pytest.fixture
def tiny_grid(tiny_args):
    """Grid of tiny CPU runs (6 steps, checkpoints every 2) over ``*swept`` overrides."""
    def make(*swept):
        return parse_grid(list(tiny_args) + SHORT + list(swept))
    return make


def solo(tmp_path, tiny_args, *overrides):
    """The same config trained alone; returns its run directory."""
    run_dir = tmp_path / ("solo_" + "_".join(o.replace("=", "").replace(".", "") for o in overrides))
    cfg = load_config(None, list(tiny_args) + SHORT + list(overrides) + [f"run.dir={run_dir}"])
    Trainer(cfg, echo=lambda _: None).run()
    return run_dir


# ------------------------------------------------------------------ the grid
def test_grid_products_brackets_single_values_and_order():
    assert split_values("5e-5,1e-4,2e-4") == ["5e-5", "1e-4", "2e-4"]
    assert split_values("[0.5,0.9]") == ["[0.5,0.9]"]
    assert split_values("[0.5,0.9],[0.0,0.99]") == ["[0.5,0.9]", "[0.0,0.99]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]
    grid = parse_grid(["train.lr=5e-5,1e-4,2e-4", "train.betas=[0.5,0.9]", "train.n_critic=1,5", "train.steps=10",
                       "train.ema="])
    assert grid.fixed == ["train.betas=[0.5,0.9]", "train.steps=10", "train.ema="]
    assert grid.axes == [Axis("train.lr", ("5e-5", "1e-4", "2e-4")), Axis("train.n_critic", ("1", "5"))]
    runs = grid.runs()
    assert len(runs) == 6
    assert runs[:3] == [(("train.lr", "5e-5"), ("train.n_critic", "1")), (("train.lr", "5e-5"), ("train.n_critic", "5")),
                        (("train.lr", "1e-4"), ("train.n_critic", "1"))]      # the last key varies fastest
    assert Grid().runs() == [()]
    two = parse_grid(["train.betas=[0.5,0.9],[0.0,0.9]"])
    cfgs = [r.cfg.train.betas for r in plan_sweep(two, "out").runs]
    assert cfgs == [[0.5, 0.9], [0.0, 0.9]]


def test_grid_refusals_are_one_line_config_errors(tmp_path):
    for bad, words in ((["train.lr=1e-4,"], "empty value"), (["train.lr=1", "train.lr=2,3"], "given twice"),
                       (["configs/mnist.yaml"], "--sweep")):
        with pytest.raises(ConfigError, match=words) as err:
            parse_grid(bad)
        assert "\n" not in str(err.value)
    sweep = tmp_path / "s.yaml"
    sweep.write_text("config: mnist\ngrid:\n  train.lr: []\n")
    with pytest.raises(ConfigError, match="empty list"):
        read_sweep_file(str(sweep))
    sweep.write_text("config: mnist\ngird: {}\n")
    with pytest.raises(ConfigError, match="unknown key 'gird'"):
        read_sweep_file(str(sweep))
    with pytest.raises(ConfigError, match="same experiment"):
        plan_sweep(parse_grid(["train.lr=1e-4,0.0001"]), "out")
    with pytest.raises(ConfigError, match=r"train.lr=-1 is refused in every run: train.lr must be > 0"):
        plan_sweep(parse_grid(["train.lr=1e-4,-1", "train.seed=0,1"]), "out")


def test_sweep_file_and_command_line_overrides():
    grid = build_grid(None, os.path.join(REPO, "configs", "sweeps", "mnist_lr.yaml"), [])
    plan = plan_sweep(grid, "runs/sweep_lr")
    assert len(plan.runs) == 12 and plan.keys == ["train.lr", "train.n_critic", "train.seed"]
    assert plan.runs[0].name == "lr=5e-05,n_critic=1,seed=0"
    assert plan.runs[0].cfg.run.dir == os.path.join("runs/sweep_lr", "lr=5e-05,n_critic=1,seed=0")
    assert plan.runs[0].cfg.log.progress is False
    cli = parse_grid(["train.lr=5e-5,1e-4,2e-4", "train.n_critic=1,5", "train.seed=0,1"])
    assert [r.cfg.to_dict() for r in plan_sweep(Grid("mnist").merged(cli), "runs/sweep_lr").runs] == \
        [r.cfg.to_dict() for r in plan.runs]                  # the YAML and the command line agree
    fewer = build_grid(None, os.path.join(REPO, "configs", "sweeps", "mnist_lr.yaml"), ["train.seed=3", "train.lr=1e-4,2e-4"])
    fewer_plan = plan_sweep(fewer, "o")
    assert [r.name for r in fewer_plan.runs] == ["lr=0.0001,n_critic=1", "lr=0.0001,n_critic=5",
                                                 "lr=0.0002,n_critic=1", "lr=0.0002,n_critic=5"]
    assert {r.cfg.train.seed for r in fewer_plan.runs} == {3}


def test_run_names_are_safe_and_unique():
    keys = ["data.root", "train.seed"]
    names = run_names(keys, [["a/b", 0], ["a_b", 0], ["x y", 1]], ["data.root=a/b", "data.root=a_b", "data.root='x y'"])
    assert len(set(names)) == 3
    assert names[2] == "root=x_y,seed=1"
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-=,") for n in names)
    assert names[0].startswith("root=a_b,seed=0-") and names[1].startswith("root=a_b,seed=0-")  # digest keeps them apart
    shared = run_names(["model.g_norm", "data.name"], [["batch", "mnist"]], ["t"])
    assert shared == ["g_norm=batch,name=mnist"]
    clash = run_names(["a.lr", "b.lr"], [[1, 2]], ["t"])
    assert clash == ["a.lr=1,b.lr=2"]                         # the same last component: whole keys
    long = run_names(["train.betas"], [[[0.123456789] * 40]], ["t"])[0]
    assert len(long.encode()) <= 200
    assert run_names([], [[]], [""]) == ["run"]
    assert run_names(["train.betas", "log.progress"], [[[0.5, 0.9], False]], ["t"]) == ["betas=0.5_0.9,progress=false"]


def test_bad_grid_exits_2_before_writing_anything(tmp_path, tiny_args, capsys):
    out = tmp_path / "sweep"
    for bad in (["train.lrr=1e-4,2e-4"], ["train.lr=1e-4,-1"], ["train.lr=1e-4,"], ["--shard", "3/3"],
                ["model.c_norm=batch", "train.objective=wgan-gp"]):
        assert main(["--out", str(out), "--no-eval", *tiny_args, *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()
    assert main(["--out", str(out), "--dry-run", *tiny_args, "train.lr=1e-4,2e-4"]) == 0
    assert "lr=0.0001" in capsys.readouterr().out and not out.exists()


# ------------------------------------------------------------------ runs
def test_2x2_sweep_is_bitwise_the_solo_runs_and_rerun_skips(tmp_path, tiny_args, tiny_grid):
    plan = plan_sweep(tiny_grid("train.lr=5e-5,2e-4", "train.seed=0,1"), str(tmp_path / "sweep"))
    lines = []
    result = run_sweep(plan, NO_EVAL, echo=lines.append)
    assert result.exit_code == 0
    assert [o.status for o in result.outcomes.values()] == ["finished"] * 4
    assert len([line for line in lines if "finished at step 6/6, EM" in line]) == 4
    for run in plan.runs:
        alone = solo(tmp_path, tiny_args, *(f"{k}={v}" for k, v in run.swept))
        assert_same_weights(RunDir(run.run_dir).checkpoint(6), RunDir(alone).checkpoint(6))
    stamps = {r.name: os.stat(RunDir(r.run_dir).checkpoint(6)).st_mtime_ns for r in plan.runs}
    lines.clear()
    again = run_sweep(plan, NO_EVAL, echo=lines.append)
    assert again.exit_code == 0 and all("(already finished)" in line for line in lines) and len(lines) == 4
    assert stamps == {r.name: os.stat(RunDir(r.run_dir).checkpoint(6)).st_mtime_ns for r in plan.runs}


def test_interrupted_run_checkpoints_stops_the_sweep_and_resumes(tmp_path, tiny_args, tiny_grid, monkeypatch):
    plan = plan_sweep(tiny_grid("train.seed=0,1"), str(tmp_path / "sweep"))
    original = Trainer.generator_step

    def interrupting(self):               # a real SIGINT in the middle of the first run
        original(self)
        if self.step == 3 and self.cfg.train.seed == 0:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(Trainer, "generator_step", interrupting)
    result = run_sweep(plan, NO_EVAL, echo=lambda _: None)
    assert result.exit_code == 3
    assert {n: o.status for n, o in result.outcomes.items()} == {"seed=0": "interrupted", "seed=1": "pending"}
    assert [s for s, _ in RunDir(plan.runs[0].run_dir).list_checkpoints()] == [2, 3]
    assert not os.path.exists(plan.runs[1].run_dir)
    rows = read_summary(os.path.join(plan.out, "summary.csv"))
    assert [(r["name"], r["status"], r["step"]) for r in rows] == [("seed=0", "interrupted", "3"), ("seed=1", "pending", "0")]
    monkeypatch.setattr(Trainer, "generator_step", original)
    again = run_sweep(plan, NO_EVAL, echo=lambda _: None)
    assert again.exit_code == 0 and [o.status for o in again.outcomes.values()] == ["finished", "finished"]
    alone = solo(tmp_path, tiny_args, "train.seed=0")
    assert_same_weights(RunDir(plan.runs[0].run_dir).checkpoint(6), RunDir(alone).checkpoint(6))


def test_concurrent_runs_are_bitwise_the_solo_runs(tmp_path, tiny_args, tiny_grid):
    # Four runs interleaved step by step in one process: any random number one run drew from
    # another's generator (or the global one) would change its weights.
    plan = plan_sweep(tiny_grid("train.lr=5e-5,2e-4", "train.seed=0,1"), str(tmp_path / "sweep"))
    executor = ConcurrentExecutor(parallel=4)
    result = run_sweep(plan, NO_EVAL, executor, echo=lambda _: None)
    assert result.exit_code == 0 and executor.peak_parallel == 4
    for run in plan.runs:
        alone = solo(tmp_path, tiny_args, *(f"{k}={v}" for k, v in run.swept))
        assert_same_weights(RunDir(run.run_dir).checkpoint(6), RunDir(alone).checkpoint(6))
        timing = ("steps_per_sec", "images_per_sec")
        logged = [[{k: v for k, v in row.items() if k not in timing} for row in RunDir(d).read_metrics()]
                  for d in (run.run_dir, alone)]
        assert logged[0] == logged[1] and len(logged[0]) == 3


def test_a_signal_checkpoints_every_concurrent_run_and_the_rerun_resumes(tmp_path, tiny_args, tiny_grid, monkeypatch):
    plan = plan_sweep(tiny_grid("train.seed=0,1,2"), str(tmp_path / "sweep"))
    original = Trainer.generator_step

    def interrupting(self):               # a real SIGINT while two runs are at step 3
        original(self)
        if self.step == 3 and self.cfg.train.seed == 0:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(Trainer, "generator_step", interrupting)
    lines = []
    result = run_sweep(plan, NO_EVAL, ConcurrentExecutor(parallel=2), echo=lines.append)
    assert result.exit_code == 3
    assert {n: o.status for n, o in result.outcomes.items()} == {
        "seed=0": "interrupted", "seed=1": "interrupted", "seed=2": "pending"}
    assert sum("2 running run(s) finish their step" in line for line in lines) == 1
    # seed=0 stops after the step it was at; seed=1, a step behind, finishes step 3 first.
    assert [s for s, _ in RunDir(plan.runs[0].run_dir).list_checkpoints()] == [2, 3]
    assert [s for s, _ in RunDir(plan.runs[1].run_dir).list_checkpoints()] == [2, 3]
    assert not os.path.exists(plan.runs[2].run_dir)
    monkeypatch.setattr(Trainer, "generator_step", original)
    again = run_sweep(plan, NO_EVAL, ConcurrentExecutor(parallel=2), echo=lambda _: None)
    assert again.exit_code == 0 and [o.status for o in again.outcomes.values()] == ["finished"] * 3
    for run in plan.runs[:2]:
        alone = solo(tmp_path, tiny_args, *(f"{k}={v}" for k, v in run.swept))
        assert_same_weights(RunDir(run.run_dir).checkpoint(6), RunDir(alone).checkpoint(6))


def test_a_diverging_run_fails_alone_among_concurrent_runs(tmp_path, tiny_args, capsys):
    out = tmp_path / "sweep"
    code = main(["--out", str(out), "--no-eval", "--no-progress", "--parallel", "3", *tiny_args, *SHORT,
                 "train.objective=wgan-gp", "model.c_norm=layer", "train.lr=1e-4,1e6,2e-4"])
    assert code == 5 and "1 of 3 runs failed" in capsys.readouterr().err
    rows = {r["name"]: r for r in read_summary(str(out / "summary.csv"))}
    assert {n: r["status"] for n, r in rows.items()} == {"lr=0.0001": "finished", "lr=1000000.0": "failed",
                                                         "lr=0.0002": "finished"}
    assert "NaN/Inf" in rows["lr=1000000.0"]["reason"] and rows["lr=0.0002"]["step"] == "6"
    for bad in ("0", "two", "-1.5"):
        assert main(["--out", str(out), "--parallel", bad, *tiny_args, "train.seed=0,1"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --parallel must be auto or a whole number >= 1") and err.count("\n") == 1


def test_failed_runs_are_isolated_with_their_reasons(tmp_path, tiny_args, capsys):
    out = tmp_path / "sweep"
    code = main(["--out", str(out), "--no-eval", "--no-progress", *tiny_args, *SHORT, "train.lr=1e6",
                 "train.objective=wgan,wgan-gp", "model.c_norm=batch,layer"])
    assert code == 5
    captured_io = capsys.readouterr()
    assert captured_io.err.count("\n") == 1 and "2 of 4 runs failed" in captured_io.err
    rows = {r["name"]: r for r in read_summary(str(out / "summary.csv"))}
    assert {n: r["status"] for n, r in rows.items()} == {
        "objective=wgan,c_norm=batch": "finished", "objective=wgan,c_norm=layer": "finished",
        "objective=wgan-gp,c_norm=batch": "failed", "objective=wgan-gp,c_norm=layer": "failed"}
    assert "model.c_norm=batch cannot be used with train.objective=wgan-gp" in rows["objective=wgan-gp,c_norm=batch"]["reason"]
    assert "NaN/Inf" in rows["objective=wgan-gp,c_norm=layer"]["reason"]
    assert rows["objective=wgan,c_norm=layer"]["step"] == "6" and rows["objective=wgan,c_norm=layer"]["reason"] == ""


def test_summary_columns_and_final_metrics(tmp_path, tiny_grid, monkeypatch):
    from wgan.metrics import evaluate
    from wgan.metrics.inception import InceptionNotFound

    def no_inception(*args, **kwargs):    # never an hour of CPU Inception reference statistics here
        raise InceptionNotFound("no Inception network (test)")
    monkeypatch.setattr(evaluate, "load_inception", no_inception)
    plan = plan_sweep(tiny_grid("train.seed=0,1"), str(tmp_path / "sweep"))
    lines = []
    options = SweepOptions(eval_samples=100, cache_dir=str(tmp_path / "cache"), progress=False)
    assert run_sweep(plan, options, echo=lines.append).exit_code == 0
    with open(os.path.join(plan.out, "summary.csv"), newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(SUMMARY_COLUMNS) + ["train.seed"]
        rows = list(reader)
    for row in rows:
        assert row["status"] == "finished" and row["step"] == "6" and row["eval_samples"] == "100"
        assert float(row["classifier_fid"]) > 0 and float(row["class_kl"]) >= 0 and 1 <= int(row["classes_covered"]) <= 10
        assert row["fid"] == "" and float(row["wall_s"]) > 0 and row["em_distance"]
    assert rows[0]["overrides"] == "train.seed=0" and rows[1]["train.seed"] == "1"
    assert sum("fid column stays blank" in line for line in lines) == 1
    with open(os.path.join(plan.out, "summary.md"), encoding="utf-8") as handle:
        md = handle.read()
    assert "| name | status |" in md and "2 finished" in md


def test_shards_partition_the_runs(tmp_path, capsys):
    grid = parse_grid(["train.lr=1e-4,2e-4,3e-4", "train.seed=0,1,2", "system.device=cpu"])
    plans = [plan_sweep(grid, str(tmp_path), (i, 3)) for i in range(3)]
    parts = [[r.index for r in p.mine] for p in plans]
    assert parts == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert plans[1].summary_paths() == (str(tmp_path / "summary.shard-1-of-3.csv"), str(tmp_path / "summary.shard-1-of-3.md"))
    assert plan_sweep(grid, str(tmp_path)).summary_paths()[0] == str(tmp_path / "summary.csv")
    assert main(["--out", str(tmp_path), "--dry-run", "--shard", "1/3", "train.lr=1e-4,2e-4,3e-4",
                 "train.seed=0,1,2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"9 runs in {tmp_path}; shard 1/3 takes 3"
    assert [line.split()[0] for line in out[1:]] == ["lr=0.0001,seed=1", "lr=0.0002,seed=1", "lr=0.0003,seed=1"]
    for bad in ("3/3", "1", "a/b", "0/0"):
        assert main(["--out", str(tmp_path), "--dry-run", "--shard", bad, "train.lr=1e-4,2e-4"]) == 2


def test_plot_sweep_writes_a_heatmap_and_a_box_plot_from_shard_summaries(tmp_path):
    pytest.importorskip("matplotlib")
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    try:
        import plot_sweep
    finally:
        sys.path.pop(0)
    grid = parse_grid(["train.lr=1e-4,2e-4", "train.n_critic=1,5", "train.seed=0,1"])
    for i in range(2):
        plan = plan_sweep(grid, str(tmp_path), (i, 2))
        outcomes = {r.name: RunOutcome(r.name, "finished", 10, 1.0, 0.5,
                                       {"classifier_fid": 10.0 * r.index + 1, "class_kl": 0.1}, 100)
                    for r in plan.mine}
        write_summaries(plan, outcomes)
    rows = plot_sweep.read_rows(str(tmp_path))
    assert len(rows) == 8 and plot_sweep.swept_keys(rows) == ["train.lr", "train.n_critic", "train.seed"]
    with captured():
        assert plot_sweep.main([str(tmp_path), "--x", "train.lr", "--y", "train.n_critic"]) == 0
        assert plot_sweep.main([str(tmp_path), "--metric", "class_kl", "--out", str(tmp_path / "box.png")]) == 0
        assert plot_sweep.main([str(tmp_path), "--x", "train.nope"]) == 2
    for name in ("classifier_fid_by_train.lr_train.n_critic.png", "box.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_issue_command_lines(tmp_path, child_env):
    done = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "sweep.py"), "--config", "configs/mnist.yaml",
                           "--out", str(tmp_path / "sweep_lr"), "train.lr=5e-5,1e-4,2e-4", "train.n_critic=1,5",
                           "train.seed=0,1", "--dry-run"],
                          cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("12 runs in ") and len(lines) == 13
    assert lines[1].split() == ["lr=5e-05,n_critic=1,seed=0", "train.lr=5e-5", "train.n_critic=1", "train.seed=0"]
    from wgan.cli import main as wgan_main
    with captured() as (out, _):
        assert wgan_main(["sweep", "--help"]) == 0
    assert "usage:" in out.getvalue()
