"""Never lose a run: signals, kill -9, corrupt and untrusted checkpoints, NaN, disk faults, locks.

Subprocess tests run scripts/train.py for real (signals and kill -9 need a process of their own);
everything else runs in-process on a tiny model (16x16, widths 4) and MNIST's test split.
"""

import contextlib
import errno
import io
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import torch

from wgan import checkpoint as ckpt
from wgan import files, rundir
from wgan.checkpoint import (
    CheckpointError,
    checkpoint_path,
    list_checkpoints,
    read_checkpoint,
)
from wgan.cli import train_main
from wgan.config import load_config
from wgan.rundir import RunDirError, RunLock, check_writable
from wgan.tracking import read_metrics
from wgan.trainer import NonFiniteError, Trainer, TrainingInterrupted

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# In-process runs: 6 generator steps, a checkpoint every 2 (so step_2, step_4, step_6 on disk).
SHORT = ["train.steps=6", "log.checkpoint_every=2", "log.log_every=2", "log.sample_every=1000",
         "log.keep_checkpoints=3"]


# ------------------------------------------------------------------------------------ helpers
def newest_step(run_dir) -> int:
    found = list_checkpoints(str(run_dir))
    return found[-1][0] if found else 0


def temp_files(run_dir) -> list:
    folder = os.path.join(str(run_dir), "checkpoints")
    return sorted(n for n in os.listdir(folder) if n.startswith(".tmp_")) if os.path.isdir(folder) else []


def snapshot(run_dir) -> dict:
    """Every file of a run directory with its size and modification time."""
    out = {}
    for folder, _, files in os.walk(str(run_dir)):
        for name in files:
            path = os.path.join(folder, name)
            info = os.stat(path)
            out[os.path.relpath(path, str(run_dir))] = (info.st_size, info.st_mtime_ns)
    return out


def wait_until(predicate, proc=None, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"training exited ({proc.returncode}) before {what}:\n{out[-2000:]}\n{err[-2000:]}")
        time.sleep(0.005)
    pytest.fail(f"timed out waiting for {what}")


def tensors_equal(a, b) -> bool:
    """Bitwise equality of nested state dicts."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(tensors_equal(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_weights(path_a, path_b):
    a, b = read_checkpoint(str(path_a)), read_checkpoint(str(path_b))
    assert a["step"] == b["step"]
    for key in ("generator", "critic", "opt_g", "opt_c"):
        assert tensors_equal(a[key], b[key]), f"{key} differs between {path_a} and {path_b}"


def all_finite(state) -> bool:
    return all(bool(torch.isfinite(t).all()) for part in ("generator", "critic")
               for t in state[part].values() if t.is_floating_point())


@contextlib.contextmanager
def captured():
    """stdout and stderr of in-process train_main calls, as StringIO objects."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


class OsProxy:
    """Stands in for the ``os`` module inside one wgan module, overriding a few functions."""

    def __init__(self, **overrides):
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(os, name)


@pytest.fixture(scope="module")
def mnist_test():
    from wgan.data import load_mnist
    return load_mnist(os.path.join(REPO, "data"), "test")


@pytest.fixture
def make_trainer(tiny_args, mnist_test):
    """make_trainer(run_dir, *overrides) -> (Trainer, echoed lines), on MNIST's test split."""
    def make(run_dir, *extra):
        lines = []
        cfg = load_config(None, tiny_args + [f"run.dir={run_dir}", *extra])
        return Trainer(cfg, mnist_test, echo=lines.append), lines
    return make


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, tiny_args, mnist_test):
    """A finished 6-step run with checkpoints at steps 2, 4 and 6; copy it before changing it."""
    run_dir = tmp_path_factory.mktemp("base") / "run"
    cfg = load_config(None, tiny_args + [f"run.dir={run_dir}", *SHORT])
    Trainer(cfg, mnist_test, echo=lambda _: None).run()
    assert [s for s, _ in list_checkpoints(str(run_dir))] == [2, 4, 6]
    return run_dir


@pytest.fixture
def run_copy(base_run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(base_run, target)
    return target


# ------------------------------------------------------------------- 1. SIGTERM / SIGINT
@pytest.fixture(scope="module")
def sigterm_run(tmp_path_factory, tiny_args, start_train):
    """A subprocess trainer; while it runs a second trainer tries the same run.dir; then SIGTERM."""
    run_dir = tmp_path_factory.mktemp("sigterm") / "run"
    args = tiny_args + [f"run.dir={run_dir}", "train.steps=100000", "log.checkpoint_every=1", "log.log_every=1",
                        "log.sample_every=100000"]
    proc = start_train(args)
    try:
        wait_until(lambda: newest_step(run_dir) >= 2, proc, what="the second checkpoint")
        config_mtime = os.stat(run_dir / "config.yaml").st_mtime_ns
        events_before = sorted(n for n in os.listdir(run_dir) if n.startswith("events"))
        with captured() as (out, err):
            second_rc = train_main(args)
        second = {"rc": second_rc, "stdout": out.getvalue(), "stderr": err.getvalue(),
                  "config_unchanged": os.stat(run_dir / "config.yaml").st_mtime_ns == config_mtime,
                  "events_unchanged": sorted(n for n in os.listdir(run_dir) if n.startswith("events"))
                  == events_before}
        assert proc.poll() is None, "the first trainer stopped while the second one tried the run dir"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"run_dir": run_dir, "args": args, "pid": proc.pid, "rc": proc.returncode, "stdout": stdout,
            "stderr": stderr, "second": second}


def test_second_trainer_on_the_same_run_dir_is_refused_while_the_first_runs(sigterm_run):
    second = sigterm_run["second"]
    assert second["rc"] == 2
    lines = second["stderr"].strip().splitlines()
    assert len(lines) == 1, second["stderr"]
    assert lines[0] == (f"error: run directory {sigterm_run['run_dir']} is in use by process {sigterm_run['pid']}; "
                        f"wait for it to finish or choose another run.dir")
    assert "Traceback" not in second["stderr"]
    assert second["config_unchanged"] and second["events_unchanged"]   # it wrote nothing


def test_sigterm_finishes_the_step_checkpoints_flushes_tensorboard_and_exits_3(sigterm_run, capsys):
    run_dir, stderr = sigterm_run["run_dir"], sigterm_run["stderr"]
    assert sigterm_run["rc"] == 3, stderr
    assert "signal 15 received: finishing this step and writing a checkpoint" in sigterm_run["stdout"]
    last = stderr.strip().splitlines()[-1]
    match = re.fullmatch(r"error: stopped by signal 15 at generator step (\d+); checkpoint (\S+); "
                         r"run the same command again to resume", last)
    assert match, last
    step, path = int(match.group(1)), match.group(2)
    assert path == checkpoint_path(str(run_dir), step)
    assert newest_step(run_dir) == step                 # the step it stopped at is the newest checkpoint
    assert read_checkpoint(path)["step"] == step
    assert temp_files(run_dir) == [] and not os.path.exists(run_dir / ".lock")
    assert max(r["step"] for r in read_metrics(str(run_dir))) == step
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    assert max(e.step for e in events.Scalars("em_distance")) == step   # flushed up to the last step

    # Running the same command again resumes from that checkpoint.
    rc = train_main([a for a in sigterm_run["args"] if not a.startswith("train.steps=")]
                    + [f"train.steps={step + 2}"])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"resuming {run_dir} from {path} (generator step {step})" in out
    assert newest_step(run_dir) == step + 2


def test_second_ctrl_c_exits_130_at_once_and_the_last_checkpoint_is_intact(tmp_path, tiny_args, start_train):
    run_dir = tmp_path / "run"
    # 300 critic steps per generator step: a step lasts long enough to be interrupted inside it.
    args = tiny_args + [f"run.dir={run_dir}", "train.steps=100000", "train.n_critic=300", "log.checkpoint_every=1",
                        "log.log_every=1", "log.sample_every=100000"]
    proc = start_train(args)
    lines, got_first = [], threading.Event()

    def read_stdout():
        for line in proc.stdout:
            lines.append(line)
            if "signal 2 received" in line:
                got_first.set()

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        wait_until(lambda: newest_step(run_dir) >= 1, proc, what="the first checkpoint")
        time.sleep(0.2)                     # well inside the next (long) step
        before = newest_step(run_dir)
        proc.send_signal(signal.SIGINT)
        assert got_first.wait(30), "".join(lines)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
        elapsed = time.monotonic() - sent
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130, stderr
    assert stderr.strip().splitlines()[-1] == \
        "error: interrupted; the newest complete checkpoint is intact, re-run to resume"
    assert "Traceback" not in stderr
    assert elapsed < 10
    assert newest_step(run_dir) == before           # it did not finish the step: it stopped at once
    for step, path in list_checkpoints(str(run_dir)):
        assert read_checkpoint(path)["step"] == step
    assert temp_files(run_dir) == [] and not os.path.exists(run_dir / ".lock")


class _LateSignalTrainer(Trainer):
    """Simulates a SIGTERM landing between the loop's "checkpoint now?" test and its "stop now?" test."""

    @property
    def _stop_signal(self):
        if self.step >= 3 and not self.__dict__.get("_arrived"):
            self.__dict__["_arrived"] = True        # the first look at step 3 still sees no signal ...
            return None
        return signal.SIGTERM if self.__dict__.get("_arrived") else self.__dict__.get("_signal")

    @_stop_signal.setter
    def _stop_signal(self, value):                  # ... every later look sees it
        self.__dict__["_signal"] = value


def test_signal_between_checkpoint_test_and_stop_test_still_checkpoints_the_last_step(tmp_path, tiny_args,
                                                                                       mnist_test):
    cfg = load_config(None, tiny_args + [f"run.dir={tmp_path / 'run'}", "train.steps=20", "log.checkpoint_every=2",
                                         "log.log_every=1", "log.sample_every=1000"])
    trainer = _LateSignalTrainer(cfg, mnist_test, echo=lambda _: None)
    with pytest.raises(TrainingInterrupted):
        trainer.run()
    assert newest_step(tmp_path / "run") == trainer.step   # no finished step lost


# ------------------------------------------------------------------------------- 2. kill -9
# Runs wgan.cli.train_main like scripts/train.py, but first arranges for the process to hang in
# the middle of its WGAN_FAULT_NTH-th checkpoint write (a marker file says it got there), so the
# test can kill -9 it exactly there: mid torch.save (a half-written temporary file) or after the
# temporary file is complete but before it is renamed into place.
FAULT_DRIVER = r"""
import io, os, sys, time
import torch
fault, marker, nth = os.environ["WGAN_FAULT"], os.environ["WGAN_FAULT_MARKER"], int(os.environ["WGAN_FAULT_NTH"])
calls = [0]
def hang():
    open(marker, "w").close()
    time.sleep(600)
if fault == "mid_save":
    real_save = torch.save
    def save(obj, f, *args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            f.flush()
            hang()
        return real_save(obj, f, *args, **kwargs)
    torch.save = save
elif fault == "before_rename":
    real_replace = os.replace
    def replace(src, dst, *args, **kwargs):
        if os.path.basename(str(dst)).startswith("step_") and str(dst).endswith(".pt"):
            calls[0] += 1
            if calls[0] == nth:
                hang()
        return real_replace(src, dst, *args, **kwargs)
    os.replace = replace
from wgan.cli import train_main
sys.exit(train_main(sys.argv[1:]))
"""


def test_kill_9_repeatedly_then_resume_equals_an_uninterrupted_run(tmp_path, tiny_args, start_train, child_env):
    seed = int(os.environ.get("WGAN_FAULT_SEED", time.time_ns() % 100000))
    rng = random.Random(seed)
    every, steps = 2, 60
    run_dir = tmp_path / "run"
    common = tiny_args + ["train.steps=60", f"log.checkpoint_every={every}", "log.log_every=1",
                          "log.sample_every=1000", "log.keep_checkpoints=3"]
    args = common + [f"run.dir={run_dir}"]
    marker = str(tmp_path / "hanging")
    history = []
    for kind in ("random", "mid_save", "before_rename"):
        before = newest_step(run_dir)
        if kind == "random":
            proc = start_train(args)
            target = before + rng.randint(1, 3) * every
            wait_until(lambda target=target: newest_step(run_dir) >= target, proc, what=f"checkpoint {target}")
            time.sleep(rng.uniform(0.0, 0.1))   # somewhere in a step or in a checkpoint write
        else:
            if os.path.exists(marker):
                os.unlink(marker)
            env = child_env(WGAN_FAULT=kind, WGAN_FAULT_MARKER=marker, WGAN_FAULT_NTH="2")
            proc = start_train(args, code=FAULT_DRIVER, env=env)
            wait_until(lambda: os.path.exists(marker), proc, what=f"the {kind} fault")
        assert proc.poll() is None, f"run finished before kill -9 (seed {seed})"
        proc.kill()                                 # SIGKILL: no handler, no cleanup
        out, _ = proc.communicate()
        newest = newest_step(run_dir)
        history.append((kind, before, newest))
        if before:
            assert f"from {checkpoint_path(str(run_dir), before)} (generator step {before})" in out, (seed, out)
        logged = max(r["step"] for r in read_metrics(str(run_dir)))
        assert logged - newest <= every, (seed, history, logged)      # at most checkpoint_every steps lost
        for step, path in list_checkpoints(str(run_dir)):               # no half-written file under a real name
            assert read_checkpoint(path)["step"] == step
        if kind != "random":
            assert temp_files(run_dir), "the kill did not land inside a checkpoint write"
            assert newest == before + every        # the checkpoint being written is absent, the one before intact
        assert os.path.exists(run_dir / ".lock")  # a stale lock, left for the next run to take over

    with captured() as (out, err):                  # the same command again (in-process: cheaper)
        assert train_main(args) == 0, err.getvalue()
    newest = history[-1][2]
    assert f"from {checkpoint_path(str(run_dir), newest)} (generator step {newest})" in out.getvalue()
    assert temp_files(run_dir) == []                # temporaries of killed writers are cleaned up
    assert [r["step"] for r in read_metrics(str(run_dir))] == list(range(1, steps + 1))

    reference = tmp_path / "reference"
    with captured():
        assert train_main(common + [f"run.dir={reference}"]) == 0
    assert_same_weights(checkpoint_path(str(run_dir), steps), checkpoint_path(str(reference), steps))


# --------------------------------------------------------------- 3. corrupt checkpoints
def _write(path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def _corrupt(kind, path, other_shape_path):
    with open(path, "rb") as handle:
        data = handle.read()
    if kind == "zero_bytes":
        _write(path, b"")
    elif kind == "cut_in_half":
        _write(path, data[: len(data) // 2])
    elif kind == "random_bytes":
        _write(path, random.Random(0).randbytes(len(data)))
    elif kind == "bit_flip":                      # still a valid zip: only a weight's bytes changed
        state = read_checkpoint(path)
        weight = max(state["generator"].values(), key=lambda t: t.numel())
        at = data.find(weight.numpy().tobytes())
        assert at > 0
        flipped = bytearray(data)
        flipped[at + 5] ^= 0x10
        _write(path, bytes(flipped))
    elif kind == "not_a_checkpoint":
        torch.save({"weights": torch.zeros(3)}, path)
    elif kind == "other_model_shape":
        shutil.copyfile(other_shape_path, path)
    else:
        raise AssertionError(kind)


@pytest.fixture(scope="module")
def other_shape_checkpoint(tmp_path_factory, tiny_args, mnist_test):
    run_dir = tmp_path_factory.mktemp("wide") / "run"
    cfg = load_config(None, tiny_args + [f"run.dir={run_dir}", "model.g_width=8", "train.steps=2",
                                         "log.checkpoint_every=2", "log.sample_every=1000"])
    Trainer(cfg, mnist_test, echo=lambda _: None).run()
    return checkpoint_path(str(run_dir), 2)


@pytest.mark.parametrize("kind", ["zero_bytes", "cut_in_half", "random_bytes", "bit_flip", "not_a_checkpoint",
                                  "other_model_shape"])
def test_bad_newest_checkpoint_is_named_and_resume_falls_back_to_the_previous(kind, run_copy, make_trainer,
                                                                              other_shape_checkpoint):
    bad = checkpoint_path(str(run_copy), 6)
    original = read_checkpoint(bad)
    _corrupt(kind, bad, other_shape_checkpoint)
    if kind == "other_model_shape":              # a sound file: only the run's own models can tell
        assert read_checkpoint(bad)["step"] == 2
    else:
        with pytest.raises(CheckpointError) as err:
            read_checkpoint(bad)
        assert bad in str(err.value) and "\n" not in str(err.value)
    trainer, lines = make_trainer(run_copy, *SHORT[1:], "train.steps=8")
    with pytest.warns(UserWarning, match=re.escape(bad)):
        result = trainer.run()
    previous = checkpoint_path(str(run_copy), 4)
    assert f"resuming {run_copy} from {previous} (generator step 4)" in lines
    assert result.step == 8
    # Replaying steps 5-6 from step 4 rebuilt exactly the checkpoint that was lost.
    rebuilt = read_checkpoint(bad)
    for key in ("generator", "critic", "opt_g", "opt_c"):
        assert tensors_equal(rebuilt[key], original[key])


def test_run_dir_with_only_bad_checkpoints_exits_2_and_is_not_restarted(run_copy, tiny_args, other_shape_checkpoint):
    for step, kind in ((2, "zero_bytes"), (4, "random_bytes"), (6, "other_model_shape")):
        _corrupt(kind, checkpoint_path(str(run_copy), step), other_shape_checkpoint)
    before = snapshot(run_copy)
    with captured() as (_, err):
        rc = train_main(tiny_args + [f"run.dir={run_copy}", *SHORT[1:], "train.steps=8"])
    assert rc == 2
    lines = err.getvalue().strip().splitlines()
    assert "Traceback" not in err.getvalue()
    assert [line.split(" ")[0] for line in lines] == ["warning:"] * 3 + ["error:"]
    assert lines[-1].startswith(f"error: no usable checkpoint in {run_copy}/checkpoints: ")
    for step in (2, 4, 6):
        assert checkpoint_path(str(run_copy), step) in lines[-1]
    assert "move the bad files away to start over, or use another run.dir" in lines[-1]
    assert snapshot(run_copy) == before          # nothing trained, written or deleted


# --------------------------------------------------------------- 7. untrusted checkpoints
class _Payload:
    """Unpickling this runs a shell command (creates a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("container", ["torch_zip", "raw_pickle"])
def test_checkpoint_that_would_run_code_is_refused_and_resume_falls_back(container, run_copy, tmp_path,
                                                                         make_trainer):
    marker = tmp_path / "PWNED"
    evil = checkpoint_path(str(run_copy), 8)        # the newest file of the run
    payload = {"step": 8, "generator": _Payload(marker)}
    if container == "torch_zip":
        torch.save(payload, evil)
    else:
        with open(evil, "wb") as handle:
            pickle.dump(payload, handle)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(evil)
    assert evil in str(err.value)
    assert "weights_only=False" not in str(err.value)   # never advise loading it unsafely
    assert not marker.exists()
    trainer, lines = make_trainer(run_copy, *SHORT[1:], "train.steps=8")
    with pytest.warns(UserWarning, match=re.escape(evil)):
        trainer.run()
    assert f"resuming {run_copy} from {checkpoint_path(str(run_copy), 6)} (generator step 6)" in lines
    assert not marker.exists()
    assert read_checkpoint(evil)["step"] == 8       # replaced by a real checkpoint when the run got there
    # Control: the payload is real; an unsafe load would have run it.
    if container == "torch_zip":
        torch.save(payload, tmp_path / "evil.pt")
        torch.load(tmp_path / "evil.pt", weights_only=False)
    else:
        pickle.loads(pickle.dumps(payload))
    assert marker.exists()


# ---------------------------------------------------------------------------- 4. NaN / Inf
@pytest.mark.parametrize("log_every", [2, 5])   # found at a log step / at a checkpoint step
@pytest.mark.parametrize("quantity", ["critic", "generator"])
def test_nan_stops_with_step_and_quantity_and_keeps_the_last_good_checkpoint(quantity, log_every, tmp_path,
                                                                             make_trainer):
    run_dir = tmp_path / "run"
    trainer, _ = make_trainer(run_dir, "train.steps=10", "log.checkpoint_every=2", f"log.log_every={log_every}",
                              "log.sample_every=1000")

    def poison():
        with torch.no_grad():
            next(trainer.critic.parameters()).fill_(float("nan"))

    original_critic, original_generator = trainer.critic_step, trainer.generator_step

    def generator_step():
        if quantity == "generator" and trainer.step == 3:
            poison()                               # after step 4's critic steps: only the generator loss
        original_generator()
        if quantity == "critic" and trainer.step == 3:
            poison()                               # before step 4's critic steps

    trainer.critic_step, trainer.generator_step = original_critic, generator_step
    with pytest.raises(NonFiniteError) as err:
        trainer.run()
    # The poisoned critic weights are the cause, the loss that went NaN first their symptom.
    assert re.fullmatch(rf"(generator and )?critic weights became NaN/Inf by generator step 4 \(first NaN/Inf "
                        rf"loss: {quantity} loss at generator step 4\)", str(err.value)), str(err.value)
    assert [s for s, _ in list_checkpoints(str(run_dir))] == [2]   # no checkpoint of a NaN state
    assert all_finite(read_checkpoint(checkpoint_path(str(run_dir), 2)))
    assert temp_files(run_dir) == [] and not os.path.exists(run_dir / ".lock")


def test_diverging_learning_rate_exits_4_with_one_line_and_writes_no_checkpoint(tiny_overrides):
    with captured() as (_, err):
        rc = train_main(tiny_overrides + ["train.lr=1e30", "train.clip=1e30", "train.steps=5",
                                          "log.checkpoint_every=1", "log.log_every=1"])
    assert rc == 4
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"error: ((critic|generator) loss became NaN/Inf at generator step 1|(generator and critic|critic|generator) weights became "
                        r"NaN/Inf by generator step 1 \(first NaN/Inf loss: \w+ loss at generator step 1\)); the last good "
                        r"checkpoint is kept in \S+/checkpoints", lines[0]), lines[0]
    run_dir = tiny_overrides[-1].split("=", 1)[1]
    assert list_checkpoints(run_dir) == []


# ------------------------------------------------------------- 5. disk full, read-only
def _fail_second_checkpoint(monkeypatch, where):
    """Make the second checkpoint write fail like a full disk at ``where``.

    The fsync and rename faults go into wgan.files, the writer that checkpoints share with the
    config and metrics files; they count checkpoint files (``.pt``) only.
    """
    calls = {"n": 0}
    real_save, real_fsync, real_replace = torch.save, os.fsync, os.replace

    def second():
        calls["n"] += 1
        return calls["n"] == 2

    def save(obj, f, *args, **kwargs):
        if second():
            f.write(b"\0" * 1000)                  # part of the file made it to disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    def fsync(fd):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(".tmp_") and name.endswith(".pt") and second():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fsync(fd)

    def replace(src, dst):
        if dst.endswith(".pt") and second():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    if where == "torch.save":
        monkeypatch.setattr(torch, "save", save)
    elif where == "fsync":
        monkeypatch.setattr(files, "os", OsProxy(fsync=fsync))
    else:
        monkeypatch.setattr(files, "os", OsProxy(replace=replace))


@pytest.mark.parametrize("where", ["torch.save", "fsync", "os.replace"])
def test_failing_checkpoint_write_keeps_the_previous_one_and_leaves_no_temp_file(where, tmp_path, make_trainer,
                                                                                 monkeypatch):
    if where == "fsync" and not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    run_dir = tmp_path / "run"
    _fail_second_checkpoint(monkeypatch, where)
    trainer, _ = make_trainer(run_dir, *SHORT)
    with pytest.raises(CheckpointError) as err:
        trainer.run()
    message = str(err.value)
    assert message.startswith(f"cannot write checkpoint {checkpoint_path(str(run_dir), 4)}: ")
    assert f"the previous checkpoint {checkpoint_path(str(run_dir), 2)} is intact" in message
    reason = "Input/output error" if where == "fsync" else "No space left on device"
    assert reason in message
    assert [s for s, _ in list_checkpoints(str(run_dir))] == [2]
    assert read_checkpoint(checkpoint_path(str(run_dir), 2))["step"] == 2
    assert temp_files(run_dir) == []
    assert not os.path.exists(run_dir / ".lock")


def test_disk_full_during_training_is_one_line_exit_2_and_resumable(tiny_overrides, monkeypatch, capsys):
    _fail_second_checkpoint(monkeypatch, "torch.save")
    run_dir = tiny_overrides[-1].split("=", 1)[1]
    rc = train_main(tiny_overrides + SHORT)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("error: cannot write checkpoint ")
    assert "No space left on device" in err and "free some disk space and re-run the same command" in err
    monkeypatch.undo()                              # space freed: the same command resumes
    assert train_main(tiny_overrides + SHORT) == 0
    assert "(generator step 2)" in capsys.readouterr().out
    assert newest_step(run_dir) == 6


def test_disk_full_while_writing_samples_is_one_line_exit_2(tiny_overrides, monkeypatch, capsys):
    from wgan import tracking

    def full(grid, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(tracking, "save_png", full)
    assert train_main(tiny_overrides + SHORT) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: I/O error writing ")
    assert "No space left on device" in err and "free some disk space" in err


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


# --------------------------------------------------- trainer bookkeeping
def test_restart_before_the_first_checkpoint_does_not_duplicate_metrics(tmp_path, make_trainer, monkeypatch):
    run_dir = tmp_path / "run"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash before the first checkpoint")

    monkeypatch.setattr(ckpt, "save_checkpoint", crash)
    trainer, _ = make_trainer(run_dir, "train.steps=4", "log.checkpoint_every=100", "log.log_every=1")
    with pytest.raises(RuntimeError):
        trainer.run()
    assert [r["step"] for r in read_metrics(str(run_dir))] == [1, 2, 3, 4]
    monkeypatch.undo()
    trainer, _ = make_trainer(run_dir, "train.steps=4", "log.checkpoint_every=100", "log.log_every=1")
    trainer.run()
    assert [r["step"] for r in read_metrics(str(run_dir))] == [1, 2, 3, 4]


def test_rerunning_a_finished_run_reports_its_checkpoint(run_copy, make_trainer):
    trainer, _ = make_trainer(run_copy, *SHORT)
    assert trainer.run().last_checkpoint == checkpoint_path(str(run_copy), 6)


@pytest.mark.parametrize("content", ["", "-1", "0", "not a pid"])
def test_lock_file_without_a_valid_pid_is_taken_over_without_flock(content, tmp_path, monkeypatch):
    # A writer killed between creating the lock file and writing its pid leaves it empty; on a
    # filesystem without flock, the pid-file protocol must not mistake that for a live owner.
    monkeypatch.setattr(rundir, "fcntl", None)
    (tmp_path / ".lock").write_text(content)
    with RunLock(str(tmp_path)):
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
    assert not os.path.exists(tmp_path / ".lock")


# ------------------------------------------- 8. checkpoints that load but are wrong (issue 16)
def _rewrite(run_dir, step, change) -> str:
    """Apply ``change(state)`` to a checkpoint and write it back with a valid integrity digest,
    as a run that saved such a state would have (the file itself is sound)."""
    path = checkpoint_path(str(run_dir), step)
    state = read_checkpoint(path)
    change(state)
    ckpt.save_checkpoint(str(run_dir), step, state, keep=100)
    return path


def _poison(part, key=None):
    def change(state):
        entry = state[part]
        if part.startswith("opt_"):
            entry = entry["state"][0]
        name = key or max(entry, key=lambda k: entry[k].numel() if torch.is_tensor(entry[k]) else 0)
        entry[name] = entry[name].clone().fill_(float("nan") if part != "critic" else float("inf"))
    return change


@pytest.mark.parametrize("part,key,what", [("generator", None, "generator weights"),
                                           ("critic", None, "critic weights"),
                                           ("opt_c", "square_avg", "critic optimiser state")])
def test_checkpoint_with_nan_tensors_is_damaged_and_resume_falls_back(part, key, what, run_copy, make_trainer):
    bad = _rewrite(run_copy, 6, _poison(part, key))
    assert read_checkpoint(bad)["step"] == 6            # loads: only its values are wrong
    trainer, lines = make_trainer(run_copy, *SHORT[1:], "train.steps=8")
    with pytest.warns(UserWarning, match=re.escape(bad) + ".*NaN/Inf values in its " + what):
        result = trainer.run()
    assert f"resuming {run_copy} from {checkpoint_path(str(run_copy), 4)} (generator step 4)" in lines
    assert result.step == 8 and all_finite(read_checkpoint(bad))   # the bad file was replaced


def test_nan_checkpoint_is_not_resumed_again_and_again_by_the_cli(run_copy, tiny_args):
    _rewrite(run_copy, 6, _poison("generator"))
    for _ in range(2):                                  # before: exit 4 on every re-run
        with captured() as (_, err):
            rc = train_main(tiny_args + [f"run.dir={run_copy}", *SHORT[1:], "train.steps=8"])
        assert rc == 0, err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_nan_generator_weights_are_blamed_not_the_critic_loss(tmp_path, make_trainer):
    trainer, _ = make_trainer(tmp_path / "run", "train.steps=10", "log.checkpoint_every=2", "log.log_every=2",
                              "log.sample_every=1000")
    original = trainer.generator_step

    def generator_step():
        original()
        if trainer.step == 3:
            with torch.no_grad():
                next(trainer.generator.parameters()).fill_(float("nan"))

    trainer.generator_step = generator_step
    with pytest.raises(NonFiniteError) as err:
        trainer.run()
    # The critic's step 4 learnt from NaN images, so its weights are NaN too by the check; before,
    # the message was "critic loss became NaN/Inf at generator step 4" and named no weights.
    assert str(err.value) == ("generator and critic weights became NaN/Inf by generator step 4 (first NaN/Inf "
                              "loss: critic loss at generator step 4)"), str(err.value)


@pytest.fixture(scope="module")
def adam_checkpoint(tmp_path_factory, tiny_args, mnist_test):
    """Step 6 of a run like base_run's but with Adam: the same shapes, another optimiser's state."""
    run_dir = tmp_path_factory.mktemp("adam") / "run"
    cfg = load_config(None, tiny_args + [f"run.dir={run_dir}", "train.optimizer=adam", *SHORT])
    Trainer(cfg, mnist_test, echo=lambda _: None).run()
    return checkpoint_path(str(run_dir), 6)


def _drop(*keys):
    def change(state):
        entry = state
        for key in keys[:-1]:
            entry = entry[key]
        del entry[keys[-1]]
    return change


@pytest.mark.parametrize("fault,expected", [
    ("adam_into_rmsprop", "another optimiser than the config's RMSprop"),
    ("no_numpy_rng", "rng.numpy is missing"),
    ("no_python_rng", "rng.python is missing"),
    ("no_noise_rng", "rng.noise is missing"),
    ("no_sampler", "rng.sampler is missing"),
    ("bad_torch_rng", "rng.torch is missing or malformed"),
    ("no_opt_state_key", "lacks square_avg"),
])
def test_structurally_wrong_checkpoint_is_damaged_and_resume_falls_back(fault, expected, run_copy, make_trainer,
                                                                         adam_checkpoint):
    bad = checkpoint_path(str(run_copy), 6)
    if fault == "adam_into_rmsprop":       # before: KeyError 'square_avg' at the first step
        shutil.copyfile(adam_checkpoint, bad)
    else:
        change = {"no_numpy_rng": _drop("rng", "numpy"), "no_python_rng": _drop("rng", "python"),
                  "no_noise_rng": _drop("rng", "noise"), "no_sampler": _drop("rng", "sampler"),
                  "bad_torch_rng": lambda s: s["rng"].__setitem__("torch", torch.zeros(3, dtype=torch.uint8)),
                  "no_opt_state_key": _drop("opt_c", "state", 0, "square_avg")}[fault]
        _rewrite(run_copy, 6, change)
    assert read_checkpoint(bad)["step"] == 6
    trainer, lines = make_trainer(run_copy, *SHORT[1:], "train.steps=8")
    with pytest.warns(UserWarning, match=re.escape(bad) + ".*" + re.escape(expected)):
        result = trainer.run()
    assert f"resuming {run_copy} from {checkpoint_path(str(run_copy), 4)} (generator step 4)" in lines
    assert result.step == 8


def test_checkpoint_that_would_call_exec_is_refused_without_allowlisting_advice(run_copy, tmp_path, tiny_args):
    marker = tmp_path / "RAN"

    class Exec:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    evil = checkpoint_path(str(run_copy), 8)
    torch.save({"step": 8, "generator": Exec()}, evil)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(evil)
    text = str(err.value)
    assert evil in text and "exec" in text and "nothing in it was run" in text and "\n" not in text
    with captured() as (_, stderr):
        rc = train_main(tiny_args + [f"run.dir={run_copy}", *SHORT[1:], "train.steps=8"])
    assert rc == 0
    warning = [line for line in stderr.getvalue().splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and evil in warning[0]
    for shown in (text, stderr.getvalue()):
        for advice in ("add_safe_globals", "safe_globals", "allowlist", "weights_only=False", "trust"):
            assert advice not in shown, shown
    assert not marker.exists()
    torch.save({"step": 8, "generator": Exec()}, tmp_path / "evil.pt")
    torch.load(tmp_path / "evil.pt", weights_only=False)    # control: the payload is real
    assert marker.exists()


@pytest.mark.parametrize("override,key", [("train.lr=0.001", "train.lr"), ("train.seed=7", "train.seed")])
def test_resume_without_config_yaml_compares_against_the_checkpoints_config(override, key, run_copy, tiny_args):
    config = run_copy / "config.yaml"
    saved = read_checkpoint(checkpoint_path(str(run_copy), 6))["config"]
    config.unlink()
    before = snapshot(run_copy)
    with captured() as (out, err):
        rc = train_main(tiny_args + [f"run.dir={run_copy}", *SHORT[1:], "train.steps=8", override])
    assert rc == 2
    lines = err.getvalue().strip().splitlines()
    section, name = key.split(".")
    assert lines == [f"error: {key} is {load_config(None, tiny_args + [override]).train.__dict__[name]!r} but the "
                     f"run in {run_copy} was started with {saved[section][name]!r}; keep {key}="
                     f"{saved[section][name]} to resume it, or choose a new run.dir"], lines
    assert not config.exists() and snapshot(run_copy) == before     # not rewritten, nothing trained
    with captured():                                                   # the run's own config resumes
        assert train_main(tiny_args + [f"run.dir={run_copy}", *SHORT[1:], "train.steps=8"]) == 0
    assert config.exists() and newest_step(run_copy) == 8
