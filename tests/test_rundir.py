"""wgan.rundir.RunDir: every path of a run directory, its metrics and its saved config."""

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from helpers import (
    SHORT,
    OsProxy,
    captured,
)

from wgan import checkpoint, rundir, tracking
from wgan.cli import train_main
from wgan.config import load_config
from wgan.rundir import (
    RunDir,
    RunDirError,
    RunLock,
    check_writable,
    read_metrics_file,
    read_saved_config,
    saved_config,
    write_config,
)


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


# ------------------------------------------------------------ refusals before training (preflight) and the lock
@pytest.fixture
def no_data_loading(monkeypatch):
    """Fail the test if train_main gets as far as loading the dataset."""
    import wgan.cli
    import wgan.trainer

    def refuse(cfg):
        raise AssertionError("the dataset was loaded: the run directory was not checked first")

    monkeypatch.setattr(wgan.cli, "load_dataset", refuse, raising=False)
    monkeypatch.setattr(wgan.trainer, "load_dataset", refuse)


def _refused_before_training(args, *expected):
    with captured() as (_, err):
        rc = train_main(args)
    lines = err.getvalue().strip().splitlines()
    assert rc == 2 and len(lines) == 1, err.getvalue()
    for text in expected:
        assert text in lines[0]
    return lines[0]


def test_run_dir_under_a_regular_file_is_refused_before_training(tmp_path, tiny_args, no_data_loading):
    (tmp_path / "file").write_text("not a directory")
    run_dir = tmp_path / "file" / "run"
    _refused_before_training(tiny_args + [f"run.dir={run_dir}"], f"run.dir '{run_dir}' cannot be created",
                             "is not a directory", "choose another run.dir")
    existing = tmp_path / "file"
    _refused_before_training(tiny_args + [f"run.dir={existing}"], "exists and is not a directory")


def test_run_dir_on_a_filesystem_refusing_writes_is_refused_before_training(tiny_args, no_data_loading):
    try:                                            # sysfs refuses new files, even to root
        fd, probe = tempfile.mkstemp(dir="/sys")
    except OSError as err:
        reason = err.strerror
    else:
        os.close(fd)
        os.unlink(probe)
        pytest.skip("/sys accepts new files here")
    _refused_before_training(tiny_args + ["run.dir=/sys/wgan-test-run"],
                             f"run.dir '/sys/wgan-test-run' is not writable ({reason})")
    assert not os.path.exists("/sys/wgan-test-run")


@contextlib.contextmanager
def _as_unprivileged_user():
    """Root ignores permission bits: drop the effective uid to nobody (65534) for a while."""
    if os.geteuid() != 0:
        yield
        return
    try:
        os.setegid(65534)
        os.seteuid(65534)
    except PermissionError:                         # e.g. a container without CAP_SETUID
        os.setegid(0)
        pytest.skip("cannot drop privileges to test permission bits")
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.parametrize("read_only", ["run_dir", "checkpoints"])
def test_read_only_run_dir_is_refused_before_training(read_only, tiny_args, no_data_loading):
    base = tempfile.mkdtemp(prefix="wgan-ro-")        # a world-traversable place (tmp_path is 0700)
    try:
        os.chmod(base, 0o755)
        run_dir = os.path.join(base, "run")
        os.makedirs(os.path.join(run_dir, "checkpoints"))
        writable = os.path.join(base, "writable")
        os.mkdir(writable)
        os.chmod(writable, 0o777)
        os.chmod(run_dir, 0o555 if read_only == "run_dir" else 0o777)
        os.chmod(os.path.join(run_dir, "checkpoints"), 0o555)
        with _as_unprivileged_user():
            check_writable(writable)                # control: only the permission bits stop the writes
            line = _refused_before_training(tiny_args + [f"run.dir={run_dir}"], f"run.dir '{run_dir}'",
                                            "is not writable (Permission denied)", "choose a writable run.dir")
        if read_only == "checkpoints":
            assert os.path.join(run_dir, "checkpoints") in line
        assert sorted(os.listdir(run_dir)) == ["checkpoints"]
    finally:
        for folder, dirs, _ in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(base)


def test_full_disk_is_refused_before_training(tmp_path, tiny_args, monkeypatch, no_data_loading):
    def write(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rundir, "os", OsProxy(write=write))
    _refused_before_training(tiny_args + [f"run.dir={tmp_path / 'run'}"], "has no space left",
                             "free some disk space")
    assert os.listdir(tmp_path) == []               # the probe file was removed again


def test_checkpoints_path_that_is_a_file_is_refused_before_training(run_copy, tiny_args, no_data_loading):
    shutil.rmtree(run_copy / "checkpoints")
    (run_copy / "checkpoints").write_text("oops")
    _refused_before_training(tiny_args + [f"run.dir={run_copy}", *SHORT],
                             f"'{run_copy / 'checkpoints'}' exists and is not a directory")


def test_unreadable_saved_config_is_one_line_exit_2(run_copy, tiny_args, no_data_loading):
    (run_copy / "config.yaml").write_text("data: [unclosed\n")
    _refused_before_training(tiny_args + [f"run.dir={run_copy}", *SHORT],
                             f"{run_copy / 'config.yaml'} cannot be read", "restore it")


# ---------------------------------------------------------------------- 8. the lock
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("owner", ["dead", "reused"])
def test_stale_lock_is_taken_over(owner, run_copy, make_trainer):
    # "reused": the pid in the file now belongs to a live process that is not a trainer (pid reuse).
    pid = _dead_pid() if owner == "dead" else os.getppid()
    (run_copy / ".lock").write_text(str(pid))
    trainer, _ = make_trainer(run_copy, *SHORT[1:], "train.steps=8")
    assert trainer.run().step == 8
    assert not os.path.exists(run_copy / ".lock")   # released at the end


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    with RunLock(str(tmp_path)):
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
        with pytest.raises(RunDirError, match=f"is in use by process {os.getpid()}"):
            RunLock(str(tmp_path)).acquire()
    assert not os.path.exists(tmp_path / ".lock")
    with RunLock(str(tmp_path)):                    # free again after release
        pass


@pytest.mark.parametrize("content", ["", "-1", "0", "not a pid"])
def test_lock_file_without_a_valid_pid_is_taken_over_without_flock(content, tmp_path, monkeypatch):
    # A writer killed between creating the lock file and writing its pid leaves it empty; on a
    # filesystem without flock, the pid-file protocol must not mistake that for a live owner.
    monkeypatch.setattr(rundir, "fcntl", None)
    (tmp_path / ".lock").write_text(content)
    with RunLock(str(tmp_path)):
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
    assert not os.path.exists(tmp_path / ".lock")
