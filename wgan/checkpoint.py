"""Checkpoints: atomic writes, newest-good-first loading, no pickled code.

A checkpoint is ``checkpoints/step_XXXXXXXX.pt`` in the run directory (``RunDir.checkpoint``),
written through ``files.atomic_write``: a temporary file in the same directory, flushed to disk
and renamed into place, so a crash mid-write leaves the previous checkpoint untouched and never
a half-written file under a checkpoint name.
Loading uses ``torch.load(weights_only=True)``: tensors and plain containers only, so a file
that would run code when unpickled is refused, never executed. Each checkpoint also carries a
SHA-256 digest of its contents (``integrity``), checked on load: a file that still parses but
whose bytes changed since it was written (bit rot, a partial copy) is detected, not resumed.
Temporary files left by a process killed mid-write are deleted by the next successful save.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import re
import warnings
from typing import Optional

import torch

from .files import TEMP_PREFIX, atomic_write
from .rundir import RunDir

REQUIRED_KEYS = ("step", "generator", "critic", "opt_g", "opt_c", "config", "rng")
DICT_KEYS = ("generator", "critic", "opt_g", "opt_c", "config", "rng")
INTEGRITY_KEY = "integrity"         # {"sha256": hex digest of every other entry}, added by save_checkpoint


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names the file and why."""


def checkpoint_path(run_dir: str, step: int) -> str:
    """``RunDir(run_dir).checkpoint(step)``: the file of generator step ``step``."""
    return RunDir(run_dir).checkpoint(step)


def list_checkpoints(run_dir: str) -> list[tuple[int, str]]:
    """``RunDir(run_dir).list_checkpoints()``: (step, path) of every checkpoint, oldest first."""
    return RunDir(run_dir).list_checkpoints()


def atomic_save(obj, path: str) -> None:
    """``torch.save`` to ``path`` atomically and durably; the old file survives a failure.

    The temporary file is ``.tmp_XXXXXXXX.pt`` next to ``path``; see ``remove_temp_files``.
    """
    atomic_write(path, lambda handle: torch.save(obj, handle))


def _feed(digest, obj) -> None:
    """Hash ``obj`` (nested dicts/lists/tuples of tensors and plain values) in a canonical order."""
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)};".encode())
        if tensor.numel():
            flat = tensor.cpu().contiguous().reshape(-1)
            digest.update(flat.view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        digest.update(f"D{len(obj)};".encode())
        for key in sorted(obj, key=repr):
            _feed(digest, key)
            _feed(digest, obj[key])
    elif isinstance(obj, (list, tuple)):
        digest.update(f"L{len(obj)};".encode())
        for item in obj:
            _feed(digest, item)
    else:
        digest.update(f"{type(obj).__name__}:{obj!r};".encode())


def state_digest(state: dict) -> str:
    """SHA-256 over every entry of a checkpoint except its ``integrity`` record."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in state.items() if k != INTEGRITY_KEY})
    return digest.hexdigest()


def remove_temp_files(run_dir: str) -> list[str]:
    """Delete temporary files that a killed writer left in the checkpoint folder; return their paths.

    Only call this while holding the run's lock: another live writer's temporary file would go too.
    """
    folder = RunDir(run_dir).checkpoints
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if name.startswith(TEMP_PREFIX) and name.endswith(".pt"):
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
            except OSError:
                pass
    return removed


def save_checkpoint(run_dir: str, step: int, state: dict, keep: int) -> str:
    """Write the checkpoint of ``step`` atomically, then delete all but the ``keep`` newest.

    Raises CheckpointError (naming the file and the reason, e.g. no space left on device) when the
    write fails; the previous checkpoints are then untouched and no temporary file is left behind.
    """
    path = checkpoint_path(run_dir, step)
    state = dict(state)
    state[INTEGRITY_KEY] = {"sha256": state_digest(state)}
    try:
        atomic_save(state, path)
    except OSError as err:
        reason = err.strerror or str(err) or err.__class__.__name__
        previous = [p for s, p in list_checkpoints(run_dir) if s != step]
        kept = f"the previous checkpoint {previous[-1]} is intact" if previous else "no earlier checkpoint exists"
        hint = "free some disk space" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "fix the run directory"
        raise CheckpointError(f"cannot write checkpoint {path}: {reason}; {kept}; {hint} and re-run the same "
                              f"command to resume") from None
    remove_temp_files(run_dir)
    for _, old in list_checkpoints(run_dir)[:-keep]:
        try:
            os.unlink(old)
        except OSError:
            pass
    return path


def _load_failure(path: str, err: Exception) -> CheckpointError:
    """A one-line CheckpointError for a file torch.load rejected."""
    text = str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(err, pickle.UnpicklingError):
        # torch's message advises retrying with weights_only=False (which would run whatever code
        # the file holds) or allowlisting the refused global: pass on neither, only what was refused.
        found = re.search(r"GLOBAL\s+([A-Za-z_][\w.]*)", text)
        if found:
            return CheckpointError(
                f"checkpoint {path} was refused: it holds a reference to {found.group(1)}, i.e. pickled code "
                f"or objects, not only tensors; nothing in it was run; delete the file or replace it with a "
                f"checkpoint written by wgan")
        detail = next((line for line in lines if "Unsupported" in line), "")
        detail = detail[detail.find("Unsupported"):].split(". ")[0] if detail else ""
        reason = detail or "not a PyTorch zip archive"
    else:
        reason = lines[0] if lines else err.__class__.__name__
        reason = reason.split(". ")[0]
    return CheckpointError(f"checkpoint {path} is corrupt, truncated or not a wgan checkpoint ({reason[:160]})")


def read_checkpoint(path: str, map_location="cpu") -> dict:
    """Load and sanity-check one checkpoint; raise CheckpointError naming the file otherwise.

    Loads with ``weights_only=True`` (a file that would run code is refused) and checks the
    required entries and, when present, the SHA-256 integrity digest written by save_checkpoint.
    """
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read: {err.strerror}") from None
    if size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - a damaged file can make torch.load raise anything
        raise _load_failure(path, err) from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(f"checkpoint {path} is not a wgan training checkpoint (missing keys)")
    if not isinstance(state["step"], int) or isinstance(state["step"], bool) or state["step"] < 0 or any(
            not isinstance(state[k], dict) for k in DICT_KEYS):
        raise CheckpointError(f"checkpoint {path} is not a wgan training checkpoint (entries of the wrong type)")
    if INTEGRITY_KEY in state:
        record = state.pop(INTEGRITY_KEY)
        expected = record.get("sha256") if isinstance(record, dict) else None
        if expected != state_digest(state):
            raise CheckpointError(f"checkpoint {path} fails its integrity check: its contents changed after it "
                                  f"was written (disk error or incomplete copy)")
    return state


def load_latest(run_dir: str, validate=None, map_location="cpu") -> Optional[tuple[str, dict]]:
    """Newest usable checkpoint as (path, state), falling back past bad ones with a warning.

    ``validate(state)`` may raise CheckpointError (e.g. for a different model shape). Returns
    None when the run holds no checkpoint; raises CheckpointError when it holds only bad ones,
    so a run is never silently restarted from scratch.
    """
    candidates = list_checkpoints(run_dir)
    problems = []
    for _, path in reversed(candidates):
        try:
            state = read_checkpoint(path, map_location)
            if validate is not None:
                try:
                    validate(state)
                except CheckpointError as err:
                    if path in str(err):
                        raise
                    raise CheckpointError(f"checkpoint {path}: {err}") from None
            return path, state
        except CheckpointError as err:
            problems.append(str(err))
            warnings.warn(f"{err}; trying an older checkpoint", stacklevel=2)
    if candidates:
        raise CheckpointError(
            f"no usable checkpoint in {RunDir(run_dir).checkpoints}: " + "; ".join(problems)
            + "; move the bad files away to start over, or use another run.dir")
    return None


# ------------------------------------------------------------------ structure and finiteness
# Per-parameter state each optimiser's step reads, and hyperparameters only its param groups hold:
# a checkpoint of another optimiser with the same shapes is refused here, not by a KeyError at the
# first step.
OPTIMIZER_STATE_KEYS = {torch.optim.RMSprop: ("step", "square_avg"), torch.optim.Adam: ("step", "exp_avg", "exp_avg_sq")}
OPTIMIZER_GROUP_KEYS = {torch.optim.RMSprop: ("lr", "alpha", "eps", "momentum", "centered"),
                        torch.optim.Adam: ("lr", "betas", "eps", "amsgrad")}


def check_optimizer_state(name: str, saved, optimizer: torch.optim.Optimizer) -> None:
    """Raise CheckpointError unless ``saved`` is a state of ``optimizer``'s class for its parameters."""
    kind = type(optimizer).__name__
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict) or not isinstance(
            saved.get("param_groups"), list):
        raise CheckpointError(f"{name} is not an optimiser state (no 'state' and 'param_groups')")
    groups = saved["param_groups"]
    if len(groups) != len(optimizer.param_groups) or any(
            not isinstance(g, dict) or not isinstance(g.get("params"), list) or len(g["params"]) != len(own["params"])
            for g, own in zip(groups, optimizer.param_groups)):
        raise CheckpointError(f"{name} holds optimiser state for other parameters than the config's models")
    cls = next((c for c in OPTIMIZER_STATE_KEYS if isinstance(optimizer, c)), None)
    if cls is None:                         # pragma: no cover - make_optimizer builds only these
        return
    missing = sorted({k for g in groups for k in OPTIMIZER_GROUP_KEYS[cls] if k not in g})
    if missing:
        raise CheckpointError(f"{name} holds the state of another optimiser than the config's {kind} "
                              f"(its parameter groups lack {', '.join(missing)})")
    params = [p for own in optimizer.param_groups for p in own["params"]]
    ids = [i for g in groups for i in g["params"]]
    shapes = dict(zip(ids, (p.shape for p in params)))
    needed = OPTIMIZER_STATE_KEYS[cls]
    for group, own in zip(groups, optimizer.param_groups):
        extra = (("momentum_buffer",) if group.get("momentum", 0) else ()) + (("grad_avg",) if group.get("centered")
                                                                               else ()) \
            + (("max_exp_avg_sq",) if group.get("amsgrad") else ())
        for index in group["params"]:
            entry = saved["state"].get(index)
            if entry is None:               # not stepped yet: the optimiser initialises it
                continue
            if not isinstance(entry, dict):
                raise CheckpointError(f"{name} state of parameter {index} is not a mapping")
            lacking = [k for k in needed + extra if k not in entry]
            if lacking:
                raise CheckpointError(f"{name} holds the state of another optimiser than the config's {kind} "
                                      f"(parameter {index} lacks {', '.join(lacking)})")
            for key in needed[1:] + extra:
                if not isinstance(entry[key], torch.Tensor) or entry[key].shape != shapes[index]:
                    raise CheckpointError(f"{name} state {key} of parameter {index} has the wrong type or shape")
    unknown = [i for i in saved["state"] if i not in shapes]
    if unknown:
        raise CheckpointError(f"{name} holds state for parameter {unknown[0]}, which the models do not have")


def first_nonfinite(tree, where: str) -> Optional[str]:
    """Dotted name of the first floating-point tensor in ``tree`` holding NaN or Inf, else None."""
    if isinstance(tree, torch.Tensor):
        if tree.is_floating_point() and not bool(torch.isfinite(tree).all()):
            return where
        return None
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, (list, tuple)) else ()
    for key, value in items:
        found = first_nonfinite(value, f"{where}.{key}")
        if found:
            return found
    return None


FINITE_ENTRIES = {"generator": "generator weights", "generator_ema": "averaged generator weights",
                  "critic": "critic weights", "opt_g": "generator optimiser state",
                  "opt_c": "critic optimiser state", "fixed_z": "fixed sample latents"}


def check_finite(state: dict) -> None:
    """Raise CheckpointError naming the quantity when a checkpoint's tensors hold NaN or Inf."""
    for key, what in FINITE_ENTRIES.items():
        found = first_nonfinite(state.get(key, ()), key)
        if found:
            raise CheckpointError(f"checkpoint holds NaN/Inf values in its {what} ({found}); it was written "
                                  f"after training diverged or was damaged")


def check_rng_state(rng, noise_device: torch.device, where: str = "rng") -> None:
    """Raise CheckpointError unless ``rng`` holds every generator state the trainer restores
    (python, torch, numpy, noise), each applied to a scratch generator to prove it loads."""
    import random

    import numpy as np

    def bad(entry, err=None) -> CheckpointError:
        why = f" ({err.__class__.__name__})" if err is not None else ""
        return CheckpointError(f"checkpoint's random number state {where}.{entry} is missing or malformed{why}")

    if not isinstance(rng, dict):
        raise bad("*")
    trials = {
        "python": lambda s: random.Random().setstate((s[0], tuple(s[1]), s[2])),
        "torch": lambda s: torch.Generator().set_state(s),
        "numpy": lambda s: np.random.RandomState().set_state(
            ("MT19937", s["key"].numpy().astype(np.uint32), int(s["pos"]), int(s["has_gauss"]), float(s["cached"]))),
        "noise": lambda s: torch.Generator(device=noise_device).set_state(s),
    }
    for entry, trial in trials.items():
        if entry not in rng:
            raise bad(entry)
        try:
            trial(rng[entry])
        except Exception as err:  # noqa: BLE001 - any failure means the entry cannot be restored
            raise bad(entry, err) from None


def check_sampler_state(sampler, generator_device: torch.device, n_images: int) -> None:
    """Raise CheckpointError unless ``sampler`` is a data sampler state for ``n_images`` images."""
    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint's data sampler state rng.sampler is missing or malformed ({why})")

    if not isinstance(sampler, dict) or any(k not in sampler for k in ("generator", "perm", "cursor")):
        raise bad("missing entries")
    try:
        torch.Generator(device=generator_device).set_state(sampler["generator"])
    except Exception as err:  # noqa: BLE001
        raise bad(f"generator: {err.__class__.__name__}") from None
    perm, cursor = sampler["perm"], sampler["cursor"]
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1 or perm.is_floating_point() or perm.numel() not in (0, n_images):
        raise bad(f"perm is not a permutation of the {n_images} images")
    if perm.numel() and (int(perm.min()) < 0 or int(perm.max()) >= n_images):
        raise bad("perm indexes images the dataset does not have")
    if not isinstance(cursor, int) or isinstance(cursor, bool) or not 0 <= cursor <= perm.numel():
        raise bad(f"cursor {cursor!r}")
