"""The run directory: writability check, owner lock, and the saved resolved config.

A run directory describes itself: ``config.yaml`` (the resolved config), TensorBoard events,
``metrics.jsonl``, ``checkpoints/`` and ``samples/``. Re-running with the same directory
resumes it, so a second config that would change the experiment is refused rather than mixed
into the old run.

The lock ``.lock`` holds the owner's pid and is guarded by ``flock``: the kernel releases it
when its owner dies, however it dies (kill -9 included), so a stale lock is always taken over,
even when its pid has since been reused by an unrelated process. On filesystems without
``flock`` it falls back to comparing the pid with the live processes.
"""

from __future__ import annotations

import errno
import os
import tempfile

import yaml

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: fall back to the pid-file protocol
    fcntl = None

from .config import Config, ConfigError, config_from_dict, resume_conflict

LOCK_NAME = ".lock"
CONFIG_NAME = "config.yaml"


class RunDirError(RuntimeError):
    """The run directory cannot be used; the message says why and what to do."""


PROBE_BYTES = 4096                  # written (and fsynced) by the writability probe: a full disk fails here
SUBDIRS = ("checkpoints", "samples")


def _probe(folder: str) -> None:
    fd, probe = tempfile.mkstemp(prefix=".write_test_", dir=folder)
    try:
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        try:
            os.unlink(probe)
        except OSError:
            pass


def check_writable(run_dir: str) -> None:
    """Fail before any training when ``run_dir`` cannot be created or written.

    Probes the nearest existing ancestor (when ``run_dir`` does not exist yet) or the directory
    itself and its ``checkpoints/`` and ``samples/`` folders by writing a small file, so a
    read-only directory, a read-only filesystem or a full disk is reported at once.
    """
    parent = run_dir
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent.rstrip(os.sep))
    parent = parent or "."
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise RunDirError(f"run.dir '{run_dir}' exists and is not a directory; choose another run.dir")
    if not os.path.exists(run_dir) and not os.path.isdir(parent):
        raise RunDirError(f"run.dir '{run_dir}' cannot be created: '{parent}' is not a directory; "
                          f"choose another run.dir")
    folders = [run_dir] if os.path.isdir(run_dir) else [parent]
    for sub in SUBDIRS:
        path = os.path.join(run_dir, sub)
        if os.path.lexists(path) and not os.path.isdir(path):
            raise RunDirError(f"'{path}' exists and is not a directory; move it away or choose another run.dir")
        if os.path.isdir(path):
            folders.append(path)
    for folder in folders:
        try:
            _probe(folder)
        except OSError as err:
            what = "" if folder in (run_dir, parent) else f" ('{folder}')"
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise RunDirError(f"run.dir '{run_dir}'{what} has no space left ({err.strerror}); free some disk "
                                  f"space or choose another run.dir") from None
            raise RunDirError(f"run.dir '{run_dir}'{what} is not writable ({err.strerror}); choose a writable "
                              f"run.dir") from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True


class RunLock:
    """An exclusive lock on a run directory: ``.lock`` holding the owner's pid, guarded by flock.

    A second process gets RunDirError naming the owner's pid. A lock file left by a dead owner
    (kill -9, power loss) is taken over; on filesystems without flock a lock naming a live pid
    is respected and one naming a dead pid taken over.
    """

    def __init__(self, run_dir: str):
        self.path = os.path.join(run_dir, LOCK_NAME)
        self.held = False
        self._fd = None

    def _busy(self, owner) -> RunDirError:
        who = f"process {owner}" if owner is not None else "another process"
        return RunDirError(f"run directory {os.path.dirname(self.path)} is in use by {who}; "
                           f"wait for it to finish or choose another run.dir")

    def acquire(self) -> None:
        if fcntl is None:
            return self._acquire_pidfile()
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise RunDirError(f"cannot open the lock file {self.path} ({err.strerror}); "
                                  f"remove it or choose another run.dir") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (BlockingIOError, PermissionError):
                os.close(fd)
                raise self._busy(self._owner()) from None
            except OSError:  # this filesystem has no flock
                os.close(fd)
                return self._acquire_pidfile()
            try:  # the previous owner may have unlinked the file between our open and flock
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self._fd = fd
            self.held = True
            return
        raise RunDirError(f"could not take the lock {self.path}; another process is racing for it")

    def _acquire_pidfile(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _pid_alive(owner):
                    raise self._busy(owner) from None
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
        """The pid in the lock file; None when it is missing, empty or not a pid (never -1 or 0:
        os.kill(-1, 0) would report "alive" for every process)."""
        try:
            with open(self.path) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if pid > 0 else None

    def release(self) -> None:
        if self._fd is not None:
            try:  # unlink while still holding the lock, then let go
                os.unlink(self.path)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
        elif self.held and self._owner() == os.getpid():
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


def check_resume_compatible(saved: dict, cfg: Config) -> None:
    """Refuse to resume a run whose experiment-defining keys differ from ``cfg``."""
    conflict = resume_conflict(saved, cfg)
    if conflict is not None:
        key, old, new = conflict
        raise ConfigError(
            f"{key} is {new!r} but the run in {cfg.run.dir} was started with {old!r}; "
            f"keep {key}={old} to resume it, or choose a new run.dir")


def read_saved_config(run_dir: str):
    """The resolved config a run directory was started with, as a dict; None for a new run.

    Raises RunDirError when ``config.yaml`` exists but cannot be read as a config mapping.
    """
    path = os.path.join(run_dir, CONFIG_NAME)
    if not os.path.lexists(path):
        return None
    fix = "restore it (a checkpoint holds a copy of the config) or choose another run.dir"
    if not os.path.isfile(path):
        raise RunDirError(f"{path} is not a regular file; {fix}")
    try:
        with open(path, encoding="utf-8") as handle:
            tree = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, yaml.YAMLError) as err:
        raise RunDirError(f"{path} cannot be read ({err.__class__.__name__}); {fix}") from None
    if not isinstance(tree, dict):
        raise RunDirError(f"{path} does not hold a config mapping; {fix}")
    return tree


def preflight(cfg: Config) -> None:
    """Every run-directory check that needs no data and no models, before anything is loaded.

    Raises ConfigError when the directory holds a run started with an incompatible config and
    RunDirError when it cannot be written. Creates nothing.
    """
    run_dir = cfg.run.dir
    if os.path.isdir(run_dir):
        saved = read_saved_config(run_dir)
        if saved is not None:
            check_resume_compatible(saved, cfg)
    check_writable(run_dir)


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
