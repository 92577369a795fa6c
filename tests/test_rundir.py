"""wgan.rundir.RunDir: every path of a run directory, its metrics and its saved config."""

import os

import pytest

from wgan import checkpoint, tracking
from wgan.config import load_config
from wgan.rundir import RunDir, RunDirError, RunLock, read_metrics_file, read_saved_config, saved_config, write_config


def test_paths(tmp_path):
    run = RunDir(tmp_path / "run")
    root = str(tmp_path / "run")
    assert run.path == root and os.fspath(run) == root and str(run) == root
    assert run.config == os.path.join(root, "config.yaml")
    assert run.metrics == os.path.join(root, "metrics.jsonl")
    assert run.checkpoints == os.path.join(root, "checkpoints")
    assert run.checkpoint(4000) == os.path.join(root, "checkpoints", "step_00004000.pt")
    assert run.checkpoint(123456789) == os.path.join(root, "checkpoints", "step_123456789.pt")
    assert run.samples == os.path.join(root, "samples")
    assert run.sample("real.png") == os.path.join(root, "samples", "real.png")
    assert run.sample_grid(60) == os.path.join(root, "samples", "step_00000060.png")
    assert run.best_generator == os.path.join(root, "best_generator.safetensors")
    assert run.lock == os.path.join(root, ".lock")
    assert RunDir(run) == run and RunDir(root) == run
    assert not os.path.exists(root)                     # making one touches nothing


def test_old_helpers_agree_with_run_dir(tmp_path):
    run = RunDir(tmp_path)
    assert checkpoint.checkpoint_path(str(tmp_path), 7) == run.checkpoint(7)
    assert RunLock(str(tmp_path)).path == run.lock
    assert RunLock(run).path == run.lock


def test_list_checkpoints_oldest_first_ignoring_other_files(tmp_path):
    run = RunDir(tmp_path)
    assert run.list_checkpoints() == []
    os.makedirs(run.checkpoints)
    for name in ("step_00000010.pt", "step_00000002.pt", ".tmp_abcd.pt", "notes.txt", "step_2.pt"):
        open(os.path.join(run.checkpoints, name), "w").close()
    assert run.list_checkpoints() == [(2, run.checkpoint(2)), (10, run.checkpoint(10))]
    assert checkpoint.list_checkpoints(str(tmp_path)) == run.list_checkpoints()


def test_read_metrics_skips_a_torn_last_line(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_metrics() == []                     # nothing logged yet
    with open(run.metrics, "w", encoding="utf-8") as handle:
        handle.write('{"step": 1, "em_distance": 0.5}\n{"step": 2, "em_distance": 0.4}\n{"step": 3, "em_')
    rows = [{"step": 1, "em_distance": 0.5}, {"step": 2, "em_distance": 0.4}]
    assert run.read_metrics() == rows
    assert tracking.read_metrics(str(tmp_path)) == rows
    assert read_metrics_file(run.metrics) == rows


def test_metrics_append_and_rewrite(tmp_path):
    run = RunDir(tmp_path)
    run.append_metrics({"step": 1, "loss": 1.5})
    run.append_metrics({"step": 2, "loss": float("nan")})      # a diverging run still logs its value
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == [1, 2] and rows[1]["loss"] != rows[1]["loss"]
    run.write_metrics(rows[:1])
    assert run.read_metrics() == [{"step": 1, "loss": 1.5}]
    assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl"]


def test_read_metrics_file_of_any_name_and_missing_file(tmp_path):
    path = tmp_path / "mnist_gpu_metrics.jsonl"
    path.write_text('{"step": 5}\n\n{"step": 6}\n')
    assert read_metrics_file(path) == [{"step": 5}, {"step": 6}]
    with pytest.raises(FileNotFoundError):
        read_metrics_file(tmp_path / "absent.jsonl")


def test_write_config_round_trip(tmp_path):
    run = RunDir(tmp_path / "run")
    cfg = load_config(None, ["train.steps=123", "model.z_dim=16", f"run.dir={run.path}"])
    assert run.read_config() is None                    # a new run
    run.write_config(cfg)
    assert os.path.isfile(run.config)
    assert run.read_config() == cfg.to_dict()
    assert run.saved_config().to_dict() == cfg.to_dict()
    assert read_saved_config(run.path) == cfg.to_dict()
    write_config(run.path, cfg)                         # the old functions are the same thing
    assert saved_config(run.path).to_dict() == cfg.to_dict()
    assert [n for n in os.listdir(run.path) if n.startswith(".tmp_")] == []


def test_saved_config_errors_name_the_file(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(RunDirError, match="holds no config.yaml"):
        run.saved_config()
    with open(run.config, "w") as handle:
        handle.write("- a list, not a mapping\n")
    with pytest.raises(RunDirError, match="does not hold a config mapping"):
        run.read_config()


def test_locked_is_the_run_lock(tmp_path):
    run = RunDir(tmp_path)
    with run.locked():
        assert os.path.exists(run.lock)
        with pytest.raises(RunDirError, match="is in use"):
            run.locked().acquire()
    assert not os.path.exists(run.lock)


def test_check_writable_refuses_a_file_where_a_folder_belongs(tmp_path):
    run = RunDir(tmp_path)
    run.check_writable()
    with open(run.samples, "w") as handle:
        handle.write("oops")
    with pytest.raises(RunDirError, match="exists and is not a directory"):
        run.check_writable()
