"""wgan.checkpoint: atomic writes under faults, and every kind of bad checkpoint (corrupt, untrusted,
non-finite, structurally wrong, of another config) refused by name with resume falling back.
"""

import os
import pickle
import random
import re
import shutil

import pytest
import torch
from helpers import (
    SHORT,
    all_finite,
    captured,
    fail_second_checkpoint,
    newest_step,
    snapshot,
    temp_files,
    tensors_equal,
)

from wgan import checkpoint as ckpt
from wgan.checkpoint import (
    CheckpointError,
    checkpoint_path,
    list_checkpoints,
    read_checkpoint,
)
from wgan.cli import train_main
from wgan.config import load_config
from wgan.trainer import NonFiniteError, Trainer



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


# ------------------------------------------------------------- 5. disk full, read-only
@pytest.mark.parametrize("where", ["torch.save", "fsync", "os.replace"])
def test_failing_checkpoint_write_keeps_the_previous_one_and_leaves_no_temp_file(where, tmp_path, make_trainer,
                                                                                 monkeypatch):
    if where == "fsync" and not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    run_dir = tmp_path / "run"
    fail_second_checkpoint(monkeypatch, where)
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


@pytest.mark.parametrize("free", [0, 4096, 60_000, 120_000])
def test_real_disk_full_inside_torch_save_is_a_checkpoint_error_naming_the_file(free, disk, base_run):
    """A real tmpfs, filled so that a 140 kB checkpoint does not fit: torch's zip writer raises
    RuntimeError('unexpected pos ...') there, which must become the documented CheckpointError."""
    run_dir = os.path.join(disk.path, "run")
    state = read_checkpoint(checkpoint_path(str(base_run), 2))
    first = ckpt.save_checkpoint(run_dir, 2, state, keep=3)
    disk.leave(free)
    with pytest.raises(CheckpointError) as err:
        ckpt.save_checkpoint(run_dir, 4, dict(state, step=4), keep=3)
    assert str(err.value) == (f"cannot write checkpoint {checkpoint_path(run_dir, 4)}: No space left on device; the "
                              f"previous checkpoint {first} is intact; free some disk space and re-run the same "
                              f"command to resume")
    assert [s for s, _ in list_checkpoints(run_dir)] == [2] and temp_files(run_dir) == []
    assert read_checkpoint(first)["step"] == 2


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
