"""wgan/shards.py: one sweep over several processes of a host (``--processes``), on CPU here:
each run bitwise the run alone, a signal checkpoints every process's runs and the rerun resumes,
a failing shard's code comes through, and bad input is one line before any process starts."""

import os
import signal
import subprocess
import sys

import pytest
from helpers import SHORT, assert_same_weights, newest_step, wait_until

from wgan.config import ConfigError, load_config
from wgan.rundir import RunDir
from wgan.shards import combined_exit_code, parse_processes, shard_argv, split_or_none
from wgan.sweep import read_sweep_rows
from wgan.trainer import Trainer

SEEDS = "train.seed=0,1,2"


def sweep_command(tiny_args, out, *extra):
    """The sweep of three seeds over two processes; ``extra`` overrides replace SHORT's same keys."""
    keys = {o.split("=")[0] for o in extra}
    short = [o for o in SHORT if o.split("=")[0] not in keys]
    return [sys.executable, "-m", "wgan", "sweep", "--out", str(out), "--no-eval", "--processes", "2",
            *tiny_args, *short, SEEDS, *extra]


def solo(tmp_path, tiny_args, *overrides):
    run_dir = tmp_path / ("solo_" + "_".join(o.replace("=", "").replace(".", "") for o in overrides))
    cfg = load_config(None, list(tiny_args) + SHORT + list(overrides) + [f"run.dir={run_dir}"])
    Trainer(cfg, echo=lambda _: None).run()
    return run_dir


def test_two_processes_take_alternate_runs_and_each_run_is_the_run_alone(tmp_path, tiny_args, child_env):
    out = tmp_path / "sweep"
    done = subprocess.run(sweep_command(tiny_args, out), env=child_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "shard 0/2: CPU" in done.stderr and "2 processes, exit codes 0 0" in done.stderr
    assert sorted(os.listdir(out)) == ["seed=0", "seed=1", "seed=2", "summary.shard-0-of-2.csv",
                                       "summary.shard-0-of-2.md", "summary.shard-1-of-2.csv", "summary.shard-1-of-2.md"]
    rows = {r["name"]: r for r in read_sweep_rows(str(out))}
    assert {n: r["status"] for n, r in rows.items()} == {"seed=0": "finished", "seed=1": "finished", "seed=2": "finished"}
    for seed in range(3):
        alone = solo(tmp_path, tiny_args, f"train.seed={seed}")
        assert_same_weights(RunDir(str(out / f"seed={seed}")).checkpoint(6), RunDir(alone).checkpoint(6))


def test_a_signal_to_the_parent_checkpoints_both_processes_and_the_rerun_resumes(tmp_path, tiny_args, child_env):
    out = tmp_path / "sweep"
    slow = ["train.steps=200", "log.checkpoint_every=100000", "log.log_every=1"]
    proc = subprocess.Popen(sweep_command(tiny_args, out, *slow), env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        def both_training():
            return all(os.path.exists(out / f"seed={s}" / "metrics.jsonl") and
                       os.path.getsize(out / f"seed={s}" / "metrics.jsonl") > 0 for s in (0, 1))
        wait_until(both_training, proc, timeout=120, what="a logged step in both processes' first runs")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err
    assert "2 processes, exit codes 3 3" in err and "run the same command again to resume" in err
    stopped = {s: newest_step(out / f"seed={s}") for s in (0, 1)}
    assert all(0 < step < 200 for step in stopped.values()), stopped
    assert not os.path.exists(out / "seed=2" / "checkpoints")      # shard 0's second run never started
    again = subprocess.run(sweep_command(tiny_args, out, *slow), env=child_env(), capture_output=True, text=True,
                           timeout=600, check=False)
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in read_sweep_rows(str(out))} == {"finished"}
    assert all(newest_step(out / f"seed={s}") == 200 for s in range(3))


def test_a_shard_with_a_failed_run_gives_the_sweeps_failed_runs_code(tmp_path, tiny_args, child_env):
    out = tmp_path / "sweep"
    done = subprocess.run(sweep_command(tiny_args, out, "train.lr=1e-4,1e30"), env=child_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 5, done.stderr
    statuses = {r["name"]: r["status"] for r in read_sweep_rows(str(out))}
    assert len(statuses) == 6 and {s for n, s in statuses.items() if "lr=1e+30" in n} == {"failed"}
    assert {s for n, s in statuses.items() if "lr=0.0001" in n} == {"finished"}


@pytest.mark.parametrize("args, message", [
    (["--processes", "0"], "--processes must be 'gpus' or a whole number >= 1, got '0'"),
    (["--processes", "two"], "--processes must be 'gpus' or a whole number >= 1, got 'two'"),
    (["--processes", "2", "--shard", "0/2"], "--processes splits the sweep into shards itself; leave out --shard"),
])
def test_bad_processes_are_one_line_before_anything_starts(tmp_path, tiny_args, capsys, args, message):
    from wgan.sweep import main

    assert main(["--out", str(tmp_path / "sweep"), *args, *tiny_args, SEEDS]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not os.path.exists(tmp_path / "sweep")


def test_gpus_without_a_visible_gpu_names_the_fix(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ConfigError, match="no CUDA device is visible here; pass a number"):
        parse_processes("gpus")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert parse_processes("gpus") == 2 and split_or_none("1", "0/1") is None


def test_shard_command_lines_and_exit_codes():
    assert shard_argv(["--out", "o", "--processes", "2", "a=1"], 1, 2) == ["--out", "o", "a=1", "--shard", "1/2",
                                                                          "--no-progress"]
    assert shard_argv(["--processes=gpus", "--no-progress"], 0, 4) == ["--no-progress", "--shard", "0/4"]
    assert combined_exit_code([0, 0], False) == 0
    assert combined_exit_code([0, 5], False) == 5 and combined_exit_code([3, 5, 2], False) == 2
    assert combined_exit_code([0, 3], True) == 3 and combined_exit_code([0, -9], False) == 1
