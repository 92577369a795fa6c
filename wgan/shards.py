"""One sweep spread over several processes of one host: ``--processes gpus`` (one per GPU) or N.

Process i is the same command with ``--shard i/N`` (runs i, i+N, ...) and, where CUDA is, one
GPU of its own (``CUDA_VISIBLE_DEVICES``; more processes than GPUs share them round-robin). Each
trains its share concurrently, as any sweep does (``--parallel``), and writes
``summary.shard-i-of-N.csv``, which every reader merges (``sweep.read_sweep_rows``). Re-running
the same command resumes every shard.

The processes run in sessions of their own, so a terminal's Ctrl-C reaches only this parent,
which forwards each SIGINT/SIGTERM once to every process: each finishes its step and checkpoints,
as a sweep in one process does (a second signal stops them at once, as it does there). The exit
code is the sweep's: 3 after a signal, else 2 or 5 when a process reported bad input or failed
runs, else another process's non-zero code, else 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Optional

from .commandline import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_RUNS_FAILED
from .config import ConfigError, escape_controls

ALL_GPUS = "gpus"


def parse_processes(text: str) -> int:
    """``--processes``: a whole number >= 1, or ``gpus`` (one per visible GPU).

    Raises:
        ConfigError: anything else, or ``gpus`` where no GPU is visible.
    """
    if text == ALL_GPUS:
        count = len(visible_gpus())
        if count == 0:
            raise ConfigError("--processes gpus: no CUDA device is visible here; pass a number (e.g. --processes 2) "
                              "to run that many CPU processes")
        return count
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"--processes must be 'gpus' or a whole number >= 1, got {escape_controls(text)!r}")
    return value


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (all of them when unset)."""
    mask = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mask is not None:
        return [d.strip() for d in mask.split(",") if d.strip() and not d.strip().startswith("-")]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []


def shard_argv(argv: Sequence[str], index: int, count: int) -> list[str]:
    """``argv`` without ``--processes`` (and without a progress bar) for shard ``index`` of ``count``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--processes":
            skip = True
            continue
        if arg.startswith("--processes="):
            continue
        out.append(arg)
    extra = ["--shard", f"{index}/{count}"]
    return out + extra + ([] if "--no-progress" in out else ["--no-progress"])


def process_env(index: int, count: int, gpus: Sequence[str]) -> dict:
    """Process ``index``'s environment: its GPU, and its share of the CPU's threads."""
    env = dict(os.environ)
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    if "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // count))
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def combined_exit_code(codes: Sequence[int], signalled: bool) -> int:
    """The sweep's exit code from its processes' (see the module docstring)."""
    if signalled:
        return EXIT_INTERRUPTED
    for wanted in (EXIT_BAD_INPUT, EXIT_RUNS_FAILED, EXIT_INTERRUPTED):
        if wanted in codes:
            return wanted
    return next((c if c > 0 else 1 for c in codes if c != 0), 0)


def run_processes(module: str, argv: Sequence[str], count: int, out: str,
                  echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> int:
    """Run ``module``'s ``main`` once per shard (see the module docstring); returns the exit code.

    ``argv`` is the command line as given (``--processes`` is taken out of it); ``out`` the folder
    the shards' summaries go to, named in the last line.
    """
    gpus = visible_gpus()
    bootstrap = ("import sys; from wgan import startup; startup.install(); "
                 f"from {module} import main; sys.exit(main(sys.argv[1:]))")
    procs: list[subprocess.Popen] = []
    signalled = {"count": 0}

    def forward(signum, _frame):
        signalled["count"] += 1
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for i in range(count):
            if signalled["count"]:
                break                       # stopped while starting: no new shard starts
            where = f"GPU {gpus[i % len(gpus)]}" if gpus else "CPU"
            echo(f"shard {i}/{count}: {where}")
            procs.append(subprocess.Popen([sys.executable, "-c", bootstrap, *shard_argv(argv, i, count)],
                                          env=process_env(i, count, gpus), start_new_session=True))
        codes = [proc.wait() for proc in procs]
    finally:
        for proc in procs:                  # only when this parent itself failed part-way
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait()
        for s, handler in previous.items():
            signal.signal(s, handler)
    for i, code in enumerate(codes):
        if code not in (0, EXIT_RUNS_FAILED) and not (signalled["count"] and code == EXIT_INTERRUPTED):
            echo(f"note: shard {i}/{count} exited with code {code}; its own lines above say why")
    code = combined_exit_code(codes, bool(signalled["count"]))
    echo(f"{count} processes, exit codes {' '.join(map(str, codes))}; summaries "
         f"{os.path.join(out, f'summary.shard-*-of-{count}.csv')}" +
         ("; run the same command again to resume" if code == EXIT_INTERRUPTED else ""))
    return code


def split_or_none(processes: Optional[str], shard: str) -> Optional[int]:
    """The number of processes to split into, None for one (this) process.

    Raises:
        ConfigError: a bad ``--processes``, or ``--processes`` with ``--shard``.
    """
    if processes is None:
        return None
    count = parse_processes(processes)
    if shard != "0/1":
        raise ConfigError("--processes splits the sweep into shards itself; leave out --shard (or drop --processes "
                          "and run one command per shard)")
    return count if count > 1 else None
