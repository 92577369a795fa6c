"""The run directory: writability check, owner lock, and the saved resolved config.

A run directory describes itself: ``config.yaml`` (the resolved config), TensorBoard events,
``metrics.jsonl``, ``checkpoints/`` and ``samples/``. Re-running with the same directory
resumes it, so a second config that would change the experiment is refused rather than mixed
into the old run.
"""

from __future__ import annotations

import errno
import os
import tempfile

import yaml

from .config import Config, ConfigError, config_from_dict

LOCK_NAME = ".lock"
CONFIG_NAME = "config.yaml"
# Keys that may change between a run and its resumption without changing the experiment.
RESUMABLE_KEYS = ("train.steps", "train.device", "train.cuda_graphs", "train.precision", "train.channels_last",
                  "train.max_grad_norm_log", "data.root", "data.on_device", "run.dir")
RESUMABLE_SECTIONS = ("log",)


class RunDirError(RuntimeError):
    """The run directory cannot be used; the message says why and what to do."""


def check_writable(run_dir: str) -> None:
    """Fail before any training when ``run_dir`` cannot be created or written."""
    parent = run_dir
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent.rstrip(os.sep))
    parent = parent or "."
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise RunDirError(f"run.dir '{run_dir}' exists and is not a directory; choose another run.dir")
    probe_dir = run_dir if os.path.isdir(run_dir) else parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".write_test_", dir=probe_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise RunDirError(f"run.dir '{run_dir}' is not writable ({err.strerror}); choose a writable run.dir") from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True


class RunLock:
    """An exclusive lock on a run directory holding the owner's pid; stale locks are taken over."""

    def __init__(self, run_dir: str):
        self.path = os.path.join(run_dir, LOCK_NAME)
        self.held = False

    def acquire(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _pid_alive(owner):
                    raise RunDirError(
                        f"run directory {os.path.dirname(self.path)} is in use by process {owner}; "
                        f"wait for it to finish or choose another run.dir") from None
                try:  # stale lock of a dead process (or unreadable): take it over
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            self.held = True
            return
        raise RunDirError(f"could not take the lock {self.path}; another process is racing for it")

    def _owner(self):
        try:
            with open(self.path) as handle:
                return int(handle.read().strip() or -1)
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self.held and self._owner() == os.getpid():
            try:
                os.unlink(self.path)
            except OSError:
                pass
        self.held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def check_resume_compatible(saved: dict, cfg: Config) -> None:
    """Refuse to resume a run whose experiment-defining keys differ from ``cfg``."""
    old, new = _flat(saved), _flat(cfg.to_dict())
    for key in sorted(set(old) | set(new)):
        if key in RESUMABLE_KEYS or key.split(".")[0] in RESUMABLE_SECTIONS:
            continue
        if old.get(key) != new.get(key):
            raise ConfigError(
                f"{key} is {new.get(key)!r} but the run in {cfg.run.dir} was started with {old.get(key)!r}; "
                f"keep {key}={old.get(key)} to resume it, or choose a new run.dir")


def read_saved_config(run_dir: str):
    path = os.path.join(run_dir, CONFIG_NAME)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def write_config(run_dir: str, cfg: Config) -> None:
    path = os.path.join(run_dir, CONFIG_NAME)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(cfg.to_yaml())
    os.replace(tmp, path)


def saved_config(run_dir: str) -> Config:
    """The resolved config a run was started with."""
    tree = read_saved_config(run_dir)
    if tree is None:
        raise RunDirError(f"{run_dir} holds no {CONFIG_NAME}; is it a wgan run directory?")
    return config_from_dict(tree)
