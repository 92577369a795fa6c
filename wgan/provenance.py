"""``run.json``: what ran in a run directory, where, with which code, and how each attempt ended.

A run is trained in one or more attempts (the first one and every resume). Each attempt appends
one entry to the list ``attempts`` of ``run.json``, so the history survives resumes::

    {"format": "wgan-run", "attempts": [
      {"status": "finished",            # "running" | "finished" | "interrupted" | "failed: <Exception>"
                                        # | "killed" (its process died before writing a final status)
       "started": "2026-01-01T12:00:00+00:00", "finished": "2026-01-01T12:05:00+00:00",
       "start_step": 0, "end_step": 4000,
       "wgan_version": "0.1.0", "torch_version": "2.14.1", "python_version": "3.11.9",
       "device": "cuda", "device_name": "NVIDIA H200", "world_size": 1,
       "command_line": ["wgan-train", "--config", "mnist"],
       "git_commit": "a819035..."}      # None unless the package runs from a git source checkout
    ]}

The file is written through ``files.write_json`` when an attempt starts and again when it ends;
nothing here may fail a run (an unreadable old ``run.json`` starts a new history).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from typing import Optional

import torch

from .files import write_json

FORMAT = "wgan-run"
RUNNING, FINISHED, INTERRUPTED, KILLED = "running", "finished", "interrupted", "killed"


def now() -> str:
    """The current time as an ISO 8601 string with the UTC offset, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def git_commit(folder: Optional[str] = None) -> Optional[str]:
    """``git rev-parse HEAD`` of the checkout holding ``folder`` (default: this package's folder);
    None when it is not in a git checkout, git is missing or anything else goes wrong."""
    folder = folder or os.path.dirname(os.path.abspath(__file__))
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) in (40, 64) else None


def checkout_commit() -> Optional[str]:
    """The commit of the source checkout this package runs from; None for an installed package
    (site-packages inside some other git repository must not lend it that repository's commit)."""
    package = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isfile(os.path.join(os.path.dirname(package), "pyproject.toml")):
        return None
    return git_commit(package)


def device_name(device: torch.device) -> str:
    """The GPU's name for a CUDA device, else 'cpu'."""
    if device.type == "cuda":
        try:
            return torch.cuda.get_device_name(device)
        except Exception:  # a driver problem must not fail the run over a label
            return "cuda"
    return "cpu"


def read_attempts(path: str) -> list:
    """The attempts recorded in ``path``; [] when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        attempts = record.get("attempts") if isinstance(record, dict) else None
    except (OSError, ValueError):
        return []
    return [a for a in attempts if isinstance(a, dict)] if isinstance(attempts, list) else []


class RunRecord:
    """The ``run.json`` of one run directory, with the current attempt as its last entry."""

    def __init__(self, path: str, device: torch.device, start_step: int, world_size: int = 1):
        from . import __version__

        self.path = path
        self.attempts = read_attempts(path)
        for old in self.attempts:     # an earlier attempt that never wrote its end: its process died
            if old.get("status") == RUNNING:
                old["status"] = KILLED
        self.current = {
            "status": RUNNING, "started": now(), "finished": None,
            "start_step": start_step, "end_step": start_step,
            "wgan_version": __version__, "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "device": str(device), "device_name": device_name(device), "world_size": world_size,
            "command_line": list(sys.argv), "git_commit": checkout_commit(),
        }
        self.attempts.append(self.current)

    def write(self) -> None:
        write_json(self.path, {"format": FORMAT, "attempts": self.attempts})

    def finish(self, step: int, status: str) -> None:
        """Record how the attempt ended (``FINISHED``, ``INTERRUPTED``, ``"failed: <Exception>"``)
        and write the file; an OSError (full disk) is let be, so that it never hides the
        exception the run itself ended with."""
        self.current.update(status=status, finished=now(), end_step=step)
        try:
            self.write()
        except (OSError, ValueError):
            pass
