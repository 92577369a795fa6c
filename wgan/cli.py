"""Command-line entry points; scripts/*.py are thin wrappers around these.

Every expected failure ends with one line ``error: ...`` on stderr and an exit code (see
docs/robustness.md): 2 bad input or an unusable run directory, 3 stopped by SIGINT/SIGTERM after
a checkpoint, 4 a loss or weight became NaN/Inf, 130 a second Ctrl-C (130 / 143: SIGINT / SIGTERM before
training began, see wgan/startup.py). Bad input is reported
before anything is loaded or created: config, then run directory, then device, then data.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import sys
import tempfile
import warnings

import torch

from .checkpoint import CheckpointError
from .commandline import (
    EXIT_BAD_INPUT,  # noqa: F401 - part of this module's API
    parse,
)
from .commandline import OneLineParser as _Parser
from .commandline import fail as _fail
from .config import ConfigDeprecation, ConfigError, escape_controls, load_config
from .data import DatasetNotFound, load_dataset
from .distributed import from_environment, shutdown
from .resources import config_names
from .rundir import RunDir, RunDirError, preflight


@contextlib.contextmanager
def _checkpoint_warnings():
    """Show load_latest's 'bad checkpoint, falling back' warnings as one ``warning: ...`` line each,
    and config deprecations as one ``note: ...`` line each."""
    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            text = str(message)
            if issubclass(category, ConfigDeprecation):
                print(f"note: {escape_controls(text)}", file=sys.stderr)
            elif issubclass(category, UserWarning) and text.startswith("checkpoint "):
                print(f"warning: {escape_controls(text)}", file=sys.stderr)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        warnings.filterwarnings("always", message="checkpoint ", category=UserWarning)
        warnings.filterwarnings("always", category=ConfigDeprecation)
        yield


def _load_data(cfg):
    """The configured dataset; unreadable files become DatasetNotFound (one line, exit 2)."""
    try:
        return load_dataset(cfg)
    except DatasetNotFound:
        raise
    except (OSError, ValueError, EOFError) as err:
        reason = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        raise DatasetNotFound(
            f"data.name={cfg.data.name} in data.root={cfg.data.root} cannot be read ({reason}); check or "
            f"re-download the files, or set data.root to a folder holding good ones") from None


def _kept_checkpoint(cfg) -> str:
    """What an I/O error left of the run, for its message ("" before a run directory exists)."""
    if cfg is None or not cfg.run.dir:
        return ""
    run = RunDir(cfg.run.dir)
    try:
        found = run.list_checkpoints()
    except OSError:
        found = []
    if found:
        return f"the newest complete checkpoint {found[-1][1]} is intact; "
    return "no checkpoint was written yet; "


def _out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError):
        return True
    oom = getattr(torch, "OutOfMemoryError", None)
    if oom is not None and isinstance(err, oom):
        return True
    return isinstance(err, RuntimeError) and ("can't allocate memory" in str(err) or "out of memory" in str(err))


def train_main(argv: list[str], between_stages=lambda: None) -> int:
    parser = _Parser(
        prog="train.py", description="Train a WGAN. Re-running with the same run.dir resumes it.",
        epilog="example: train.py --config configs/mnist.yaml train.lr=1e-4 run.dir=runs/lr1e-4")
    parser.add_argument("--config", help="YAML config file, or the name of a shipped config: "
                        + ", ".join(config_names()))
    parser.add_argument("--dry-run", action="store_true",
                        help="2 generator steps into a temporary run.dir, logging everything: a smoke test")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.lr=1e-4")
    args, code = parse(parser, argv, "see train.py --help (overrides are written key=value, e.g. train.lr=1e-4)")
    if args is None:
        return code
    overrides = list(args.overrides)
    if args.dry_run:
        overrides += ["train.steps=2", "log.log_every=1", "log.sample_every=1", "log.checkpoint_every=1"]

    from .trainer import (
        EXIT_INTERRUPTED,
        EXIT_NONFINITE,
        NonFiniteError,
        TrainingInterrupted,
        resolve_device,
        train,
    )
    cfg = dist_ctx = None
    dry_run_dir = None      # the temporary run.dir of --dry-run, removed whatever happens
    try:
        with _checkpoint_warnings():
            cfg = load_config(args.config, overrides)
            between_stages()        # wgan-train: exits with one line on a signal that arrived so far
            if not args.dry_run:
                preflight(cfg)
            resolve_device(cfg.system.device)
            between_stages()
            dataset = _load_data(cfg)
            between_stages()
            if args.dry_run:  # only now: bad input must not leave an empty temporary directory behind
                cfg.run.dir = dry_run_dir = tempfile.mkdtemp(prefix="wgan-dry-run-")
            # Under torchrun this joins the process group (NCCL on CUDA, gloo on CPU).
            dist_ctx = from_environment(cfg.system.device)
            result = train(cfg, dataset, echo=print, dist_ctx=dist_ctx)
    except (ConfigError, DatasetNotFound, RunDirError, CheckpointError) as err:
        return _fail(str(err))
    except TrainingInterrupted as err:
        if dist_ctx is not None and not dist_ctx.is_main:
            return EXIT_INTERRUPTED     # under torchrun rank 0 alone says where the checkpoint is
        return _fail(str(err), EXIT_INTERRUPTED)
    except NonFiniteError as err:
        return _fail(f"{err}; the last good checkpoint is kept in {RunDir(cfg.run.dir).checkpoints}", EXIT_NONFINITE)
    except KeyboardInterrupt:
        return _fail("interrupted; the newest complete checkpoint is intact, re-run to resume", 130)
    except OSError as err:  # e.g. the disk filled up while writing samples, events or metrics
        where = f" writing {err.filename}" if getattr(err, "filename", None) else ""
        hint = "free some disk space" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "fix the problem"
        kept = _kept_checkpoint(cfg)
        return _fail(f"I/O error{where}: {err.strerror or err}; {kept}{hint} and re-run to resume")
    except Exception as err:
        if not _out_of_memory(err):
            raise
        return _fail("out of memory building the models or a batch; lower train.batch_size, model.g_width, "
                     "model.c_width or data.image_size")
    finally:
        if dry_run_dir is not None:
            shutil.rmtree(dry_run_dir, ignore_errors=True)
    shutdown(dist_ctx)      # only after success: a rank that failed must not wait for the others here
    if dry_run_dir is not None:
        print(f"done: {result.step} generator steps, with logging, samples and a checkpoint, in a temporary run "
              f"directory (dry run; removed)")
        return 0
    print(f"done: {result.step} generator steps in {result.run_dir} (checkpoint {result.last_checkpoint})")
    return 0


# ----------------------------------------------------------------------------- installed commands
# The console scripts of pyproject.toml ([project.scripts]: wgan-train, wgan-sample, ...) and
# ``python -m wgan COMMAND`` call these. Each takes argv (default: sys.argv[1:]) and returns the
# exit code; the heavy modules are imported only by the command that needs them.

def _argv(argv: list[str] | None) -> list[str]:
    return sys.argv[1:] if argv is None else list(argv)


def train_command(argv: list[str] | None = None) -> int:
    """wgan-train: train a WGAN (``--config mnist`` or a YAML path, then key=value overrides).

    A SIGINT or SIGTERM before training begins (config, data, models) is one line and exit 130 /
    143 (wgan/startup.py); scripts/train.py and ``python -m wgan`` install that before torch loads.
    """
    from . import startup
    startup.install()
    startup.check()                 # a signal while the imports ran
    try:
        return train_main(_argv(argv), between_stages=startup.check)
    finally:
        startup.uninstall()


def sample_command(argv: list[str] | None = None) -> int:
    """wgan-sample: sample grids or interpolations from a trained generator."""
    from .sampling import main
    return main(_argv(argv))


def evaluate_command(argv: list[str] | None = None) -> int:
    """wgan-evaluate: FID/KID and the MNIST-classifier metrics of a trained generator."""
    from .metrics.evaluate import main
    return main(_argv(argv))


def export_command(argv: list[str] | None = None) -> int:
    """wgan-export: write a trained generator as a pickle-free .safetensors file."""
    from .export import main
    return main(_argv(argv))


def sweep_command(argv: list[str] | None = None) -> int:
    """wgan-sweep: train a grid of runs (Hydra-style key=v1,v2 overrides or --sweep FILE), one run
    directory each under --out, with summary.csv/summary.md."""
    from .sweep import main
    return main(_argv(argv))


def view_command(argv: list[str] | None = None) -> int:
    """wgan-view: the desktop sample viewer."""
    from .viewer import main
    return main(_argv(argv))


COMMANDS = {
    "train": train_command,
    "sample": sample_command,
    "evaluate": evaluate_command,
    "export": export_command,
    "view": view_command,
    "sweep": sweep_command,
}


def main(argv: list[str] | None = None) -> int:
    """``python -m wgan COMMAND [ARGS...]``: the same commands as the wgan-* console scripts."""
    argv = _argv(argv)
    usage = ("usage: python -m wgan {" + ",".join(COMMANDS) + "} [ARGS...]\n"
             "  (the same as wgan-" + ", wgan-".join(COMMANDS) + "; COMMAND --help for each)")
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else EXIT_BAD_INPUT
    if argv[0] in ("-V", "--version"):
        from . import __version__
        print(f"wgan {__version__}")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        return _fail(f"unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)} "
                     f"(python -m wgan --help)")
    return command(argv[1:])
