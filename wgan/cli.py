"""Command-line entry points; scripts/*.py are thin wrappers around these."""

from __future__ import annotations

import argparse
import sys
import tempfile

from .checkpoint import CheckpointError
from .config import ConfigError, load_config
from .data import DatasetNotFound
from .rundir import RunDirError

EXIT_BAD_INPUT = 2        # bad config, missing data, unusable run directory or checkpoints


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def train_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="train.py", description="Train a WGAN. Re-running with the same run.dir resumes it.",
        epilog="example: train.py --config configs/mnist.yaml train.lr=1e-4 run.dir=runs/lr1e-4")
    parser.add_argument("--config", help="YAML config file (see configs/)")
    parser.add_argument("--dry-run", action="store_true",
                        help="2 generator steps into a temporary run.dir, logging everything: a smoke test")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.lr=1e-4")
    args = parser.parse_args(argv)
    overrides = list(args.overrides)
    if args.dry_run:
        overrides += ["train.steps=2", "log.log_every=1", "log.sample_every=1", "log.checkpoint_every=1",
                      f"run.dir={tempfile.mkdtemp(prefix='wgan-dry-run-')}"]

    from .trainer import EXIT_INTERRUPTED, EXIT_NONFINITE, NonFiniteError, TrainingInterrupted, train
    try:
        cfg = load_config(args.config, overrides)
        result = train(cfg)
    except (ConfigError, DatasetNotFound, RunDirError, CheckpointError) as err:
        return _fail(str(err))
    except TrainingInterrupted as err:
        return _fail(str(err), EXIT_INTERRUPTED)
    except NonFiniteError as err:
        return _fail(f"{err}; the last good checkpoint is kept in {cfg.run.dir}/checkpoints", EXIT_NONFINITE)
    except KeyboardInterrupt:
        return _fail("interrupted; the newest complete checkpoint is intact, re-run to resume", 130)
    print(f"done: {result.step} generator steps in {result.run_dir} (checkpoint {result.last_checkpoint})")
    return 0
