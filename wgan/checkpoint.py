"""Checkpoints: atomic writes, newest-good-first loading, no pickled code.

A checkpoint is ``checkpoints/step_XXXXXXXX.pt`` in the run directory, written to a temporary
file in the same directory, flushed to disk and renamed into place, so a crash mid-write leaves
the previous checkpoint untouched and never a half-written file under a checkpoint name.
Loading uses ``torch.load(weights_only=True)``: tensors and plain containers only.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from typing import Optional

import torch

CHECKPOINT_DIR = "checkpoints"
NAME = re.compile(r"^step_(\d{8,})\.pt$")
REQUIRED_KEYS = ("step", "generator", "critic", "opt_g", "opt_c", "config", "rng")


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names the file and why."""


def checkpoint_path(run_dir: str, step: int) -> str:
    return os.path.join(run_dir, CHECKPOINT_DIR, f"step_{step:08d}.pt")


def list_checkpoints(run_dir: str) -> list[tuple[int, str]]:
    """(step, path) of every checkpoint in the run, oldest first."""
    folder = os.path.join(run_dir, CHECKPOINT_DIR)
    if not os.path.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = NAME.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(folder, name)))
    return sorted(found)


def atomic_save(obj, path: str) -> None:
    """``torch.save`` to ``path`` via a temporary file and rename; the old file survives a failure."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save_checkpoint(run_dir: str, step: int, state: dict, keep: int) -> str:
    """Write the checkpoint of ``step`` atomically, then delete all but the ``keep`` newest."""
    path = checkpoint_path(run_dir, step)
    atomic_save(state, path)
    for _, old in list_checkpoints(run_dir)[:-keep]:
        try:
            os.unlink(old)
        except OSError:
            pass
    return path


def read_checkpoint(path: str, map_location="cpu") -> dict:
    """Load and sanity-check one checkpoint; raise CheckpointError naming the file otherwise."""
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read: {err.strerror}") from None
    if size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        reason = str(err).splitlines()[0][:200] if str(err) else err.__class__.__name__
        raise CheckpointError(f"checkpoint {path} is corrupt, truncated or not a wgan checkpoint ({reason})") from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(f"checkpoint {path} is not a wgan training checkpoint (missing keys)")
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
                validate(state)
            return path, state
        except CheckpointError as err:
            problems.append(str(err))
            warnings.warn(f"{err}; trying an older checkpoint", stacklevel=2)
    if candidates:
        raise CheckpointError(
            f"no usable checkpoint in {os.path.join(run_dir, CHECKPOINT_DIR)}: " + "; ".join(problems)
            + "; move the bad files away to start over, or use another run.dir")
    return None
