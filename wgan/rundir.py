"""The run directory: its layout, writability check, owner lock and the saved resolved config.

A run directory describes itself: ``config.yaml`` (the resolved config), ``run.json`` (versions,
device, command line, git commit, times and exit status of every attempt), TensorBoard events,
``metrics.jsonl``, ``checkpoints/``, ``samples/`` and ``best_generator.safetensors``.
``RunDir`` is the one place that spells those names; every other module asks it for a path.
Re-running with the same directory resumes it, so a second config that would change the
experiment is refused rather than mixed into the old run.

The lock ``.lock`` holds the owner's pid and is guarded by ``flock``: the kernel releases it
when its owner dies, however it dies (kill -9 included), so a stale lock is always taken over,
even when its pid has since been reused by an unrelated process. On filesystems without
``flock`` it falls back to comparing the pid with the live processes.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import tempfile
from typing import Optional, Union

import yaml

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: fall back to the pid-file protocol
    fcntl = None

from .config import Config, ConfigError, config_from_dict, resume_conflict
from .files import write_text

PathLike = Union[str, "os.PathLike[str]"]

# The layout of a run directory; only RunDir below turns these into paths.
LOCK_NAME = ".lock"
CONFIG_NAME = "config.yaml"
METRICS_NAME = "metrics.jsonl"
RUN_JSON_NAME = "run.json"
CHECKPOINT_DIR = "checkpoints"
SAMPLE_DIR = "samples"
BEST_GENERATOR_NAME = "best_generator.safetensors"
CHECKPOINT_NAME = re.compile(r"^step_(\d{8,})\.pt$")       # checkpoints/step_00004000.pt


class RunDirError(RuntimeError):
    """The run directory cannot be used; the message says why and what to do."""


def read_metrics_file(path: PathLike) -> list[dict]:
    """Rows of a metrics file in the ``metrics.jsonl`` format, wherever it lies or however named.

    A line that is not JSON is skipped: a run killed mid-append leaves a torn last line, and the
    rows before it are still good. Blank lines are skipped too. A ``.gz`` file is read through
    gzip (results/ keeps the raw logs of past runs compressed).

    Raises:
        OSError: the file cannot be opened (FileNotFoundError when it does not exist).
    """
    rows = []
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


class RunDir:
    """One run directory: every path in it, its metrics and its saved config.

    Constructing one touches nothing on disk; the properties are plain paths, so the object is
    cheap to make wherever a path is needed (``RunDir(cfg.run.dir).metrics``). It also works
    where a path is expected (``os.fspath(run)``, ``str(run)``).

    Example::

        run = RunDir("runs/mnist")
        run.checkpoint(4000)        # 'runs/mnist/checkpoints/step_00004000.pt'
        rows = run.read_metrics()   # [{"step": 50, "em_distance": ...}, ...]
    """

    def __init__(self, path: PathLike):
        self.path = os.fspath(path)

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"RunDir({self.path!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    # ------------------------------------------------------------------ paths
    @property
    def config(self) -> str:
        """``config.yaml``: the resolved config the run was started with."""
        return os.path.join(self.path, CONFIG_NAME)

    @property
    def metrics(self) -> str:
        """``metrics.jsonl``: one JSON object of scalars per logged generator step."""
        return os.path.join(self.path, METRICS_NAME)

    @property
    def run_json(self) -> str:
        """``run.json``: one entry per attempt (versions, device, command, commit, times, status)."""
        return os.path.join(self.path, RUN_JSON_NAME)

    @property
    def checkpoints(self) -> str:
        """``checkpoints/``: the folder of ``step_XXXXXXXX.pt`` files."""
        return os.path.join(self.path, CHECKPOINT_DIR)

    def checkpoint(self, step: int) -> str:
        """The checkpoint file of generator step ``step`` (eight digits at least, so names sort)."""
        return os.path.join(self.checkpoints, f"step_{step:08d}.pt")

    @property
    def samples(self) -> str:
        """``samples/``: the PNG grids written during training."""
        return os.path.join(self.path, SAMPLE_DIR)

    def sample(self, name: str) -> str:
        """A file in ``samples/``, e.g. ``sample("real.png")``."""
        return os.path.join(self.samples, name)

    def sample_grid(self, step: int) -> str:
        """The fixed-noise grid of generator step ``step`` (``samples/step_XXXXXXXX.png``)."""
        return self.sample(f"step_{step:08d}.png")

    @property
    def best_generator(self) -> str:
        """``best_generator.safetensors``: the export of the best-FID generator so far."""
        return os.path.join(self.path, BEST_GENERATOR_NAME)

    @property
    def lock(self) -> str:
        """``.lock``: the owner lock file (see ``RunLock`` and ``locked``)."""
        return os.path.join(self.path, LOCK_NAME)

    def locked(self) -> "RunLock":
        """An (unacquired) exclusive lock on this run; use it as ``with run.locked(): ...``."""
        return RunLock(self.path)

    # ------------------------------------------------------------------ contents
    def list_checkpoints(self) -> list[tuple[int, str]]:
        """(step, path) of every checkpoint file in the run, oldest first; [] when none."""
        try:
            names = os.listdir(self.checkpoints)
        except (FileNotFoundError, NotADirectoryError):
            return []
        found = []
        for name in names:
            match = CHECKPOINT_NAME.match(name)
            if match:
                found.append((int(match.group(1)), os.path.join(self.checkpoints, name)))
        return sorted(found)

    def read_metrics(self) -> list[dict]:
        """Rows of ``metrics.jsonl``; [] for a run that logged nothing yet.

        A torn last line (a run killed mid-append) is skipped; see ``read_metrics_file``.
        """
        return read_metrics_file(self.metrics) if os.path.isfile(self.metrics) else []

    def append_metrics(self, row: dict) -> None:
        """Append one row to ``metrics.jsonl``.

        An append, not an atomic rewrite: rewriting a growing file every log step would cost
        time proportional to the run; a crash can tear only the last line, which
        ``read_metrics`` skips.
        """
        try:
            with open(self.metrics, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        except OSError as err:      # a full disk fails the write or the close, naming no file
            if err.filename is None:
                err.filename = self.metrics
            raise

    def write_metrics(self, rows: list[dict]) -> None:
        """Replace ``metrics.jsonl`` by ``rows`` atomically (resume drops rows after the checkpoint)."""
        write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))

    def read_config(self) -> Optional[dict]:
        """The resolved config the run was started with, as a dict; None for a new run.

        Raises:
            RunDirError: ``config.yaml`` exists but cannot be read as a config mapping.
        """
        path = self.config
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

    def saved_config(self) -> Config:
        """The resolved config the run was started with, as a Config.

        Raises:
            RunDirError: the directory holds no readable ``config.yaml``.
        """
        tree = self.read_config()
        if tree is None:
            raise RunDirError(f"{self.path} holds no {CONFIG_NAME}; is it a wgan run directory?")
        return config_from_dict(tree)

    def write_config(self, cfg: Config) -> str:
        """Write ``cfg`` as ``config.yaml`` (atomically and durably: it names the experiment)."""
        return write_text(self.config, cfg.to_yaml())

    # ------------------------------------------------------------------ checks
    def check_writable(self) -> None:
        """Fail before any training when the directory cannot be created or written.

        Probes the nearest existing ancestor (when the directory does not exist yet) or the
        directory itself and its ``checkpoints/`` and ``samples/`` folders by writing a small
        file, so a read-only directory, a read-only filesystem or a full disk is reported at once.

        Raises:
            RunDirError: naming the folder and what to do.
        """
        run_dir = self.path
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
        for path in (self.checkpoints, self.samples):
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
                    raise RunDirError(f"run.dir '{run_dir}'{what} has no space left ({err.strerror}); free some "
                                      f"disk space or choose another run.dir") from None
                raise RunDirError(f"run.dir '{run_dir}'{what} is not writable ({err.strerror}); choose a "
                                  f"writable run.dir") from None

    def preflight(self, cfg: Config) -> None:
        """Every check that needs no data and no models, before anything is loaded; creates nothing.

        Raises:
            ConfigError: the directory holds a run started with an incompatible config.
            RunDirError: the directory cannot be written.
        """
        if os.path.isdir(self.path):
            saved = self.read_config()
            if saved is not None:
                check_resume_compatible(saved, cfg)
        self.check_writable()


PROBE_BYTES = 4096                  # written (and fsynced) by the writability probe: a full disk fails here


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


def check_writable(run_dir: PathLike) -> None:
    """``RunDir(run_dir).check_writable()``: fail early when the run directory cannot be written."""
    RunDir(run_dir).check_writable()


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

    def __init__(self, run_dir: PathLike):
        self.path = RunDir(run_dir).lock
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


def read_saved_config(run_dir: PathLike) -> Optional[dict]:
    """``RunDir(run_dir).read_config()``: the saved config as a dict, None for a new run."""
    return RunDir(run_dir).read_config()


def preflight(cfg: Config) -> None:
    """``RunDir(cfg.run.dir).preflight(cfg)``: every run-directory check before anything is loaded."""
    RunDir(cfg.run.dir).preflight(cfg)


def write_config(run_dir: PathLike, cfg: Config) -> None:
    """``RunDir(run_dir).write_config(cfg)``: save the resolved config as config.yaml."""
    RunDir(run_dir).write_config(cfg)


def saved_config(run_dir: PathLike) -> Config:
    """``RunDir(run_dir).saved_config()``: the resolved config a run was started with."""
    return RunDir(run_dir).saved_config()
