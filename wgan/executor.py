"""Executors: what trains a sweep's planned runs, and how each run's end is reported.

An executor has two methods: ``train(runs, hooks)`` yields a ``RunOutcome`` per run as it ends,
and ``request_stop(signum)`` asks every running run to checkpoint and stop (safe in a signal
handler). ``ConcurrentExecutor`` trains up to ``parallel`` ordinary Trainers at once in this
process, one generator step of each in turn (``Trainer.run_steps``), on CUDA each on its own
stream. ``wgan.sweep`` plans the runs, skips and resumes them, evaluates and summarises.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch

from .checkpoint import CheckpointError, list_checkpoints
from .config import Config, ConfigError, escape_controls
from .data import DatasetNotFound, ImageDataset
from .rundir import RunDirError

@dataclass
class RunSpec:
    """One run of a sweep as planned: what an executor needs to train it."""

    index: int                              # position in the whole grid (shards keep it)
    name: str                               # directory name under --out
    swept: tuple[tuple[str, str], ...]      # (key, value text) of the swept keys
    overrides: tuple[str, ...]              # everything load_config got after the base config
    cfg: Optional[Config]                   # None when the combination is refused
    refused: Optional[str] = None           # the ConfigError of a refused combination

    @property
    def run_dir(self) -> str:
        return self.cfg.run.dir if self.cfg is not None else ""

    @property
    def steps(self) -> int:
        return self.cfg.train.steps if self.cfg is not None else 0

    def done_steps(self) -> int:
        """Generator steps already on disk (the newest checkpoint's step, at most train.steps)."""
        if self.cfg is None:
            return 0
        found = list_checkpoints(self.run_dir)
        return min(found[-1][0], self.steps) if found else 0

    def finished(self) -> bool:
        return self.cfg is not None and self.done_steps() >= self.steps

    def overrides_text(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.swept)



def _first_line(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else err.__class__.__name__
    return escape_controls(text)


@dataclass
class RunOutcome:
    """How one run of a sweep ended (or stands), one row of the summary."""

    name: str
    status: str                             # finished | failed | interrupted | pending
    step: int = 0
    wall_s: Optional[float] = None          # seconds spent training it, summed over attempts
    em_distance: Optional[float] = None     # the last logged EM estimate
    metrics: dict = field(default_factory=dict)   # fid, classifier_fid, class_kl, classes_covered
    eval_samples: Optional[int] = None
    reason: str = ""


# Errors that end one run and not the sweep: each has a one-line message.
RUN_ERRORS = (ConfigError, CheckpointError, RunDirError, DatasetNotFound)
# ...and what else ends one run of several sharing a GPU: running out of its memory.
RUN_FAILURES = (*RUN_ERRORS, torch.cuda.OutOfMemoryError)


@dataclass
class RunHooks:
    """What the sweep gives an executor.

    dataset(cfg): the run's dataset, loaded once per distinct data config and shared.
    on_step(run, step): the run has completed ``step`` generator steps (drives the sweep's bar).
    echo(line): a line for the user (printed above the progress bar).
    """

    dataset: Callable[[Config], ImageDataset]
    on_step: Callable[[RunSpec, int], None]
    echo: Callable[[str], None]


@dataclass
class _Slot:
    """A run being trained: its trainer, its step iterator and (on CUDA) its own stream."""

    run: RunSpec
    trainer: Any
    steps: Iterator[int]
    stream: Any
    start: float


class ConcurrentExecutor:
    """Trains up to ``parallel`` runs at once in this process, one generator step of each in turn.

    Every run is an ordinary ``Trainer`` driven by ``Trainer.run_steps``, so it writes, resumes
    and fails exactly as it would alone: the Trainer seeds its weights from the run's seed when
    it is built and owns its data order and noise generators, and nothing but the read-only
    dataset is shared. On CUDA each run has its own stream: a step of these small networks is
    a CUDA-graph replay that the host enqueues in microseconds and the GPU runs for
    milliseconds, so while the host enqueues the next run's step the GPU runs the kernels of the
    others side by side, filling a card that one small-batch run leaves mostly idle. On CPU the
    runs share the same cores, so ``parallel`` 1 (one after another) is the default there.

    ``parallel=None`` chooses on CUDA: the first run is trained until its graphs are captured,
    its memory is measured, and as many runs join as 80% of the free memory holds, at most
    AUTO_PARALLEL (measured in docs/results, README "Sweeps": more runs do not raise the
    aggregate speed). ``train`` yields one RunOutcome per run as it ends; after a stop request
    no run starts, and each running one checkpoints at its next step and is interrupted.
    """

    AUTO_PARALLEL = 16

    def __init__(self, parallel: Optional[int] = 1):
        if parallel is not None and parallel < 1:
            raise ValueError(f"parallel must be >= 1, got {parallel}")
        self.parallel = parallel
        self._stop: Optional[int] = None
        self._active: list[_Slot] = []
        self._echo: Callable[[str], None] = lambda _: None
        self.peak_parallel = 0
        self._auto: Optional[int] = None        # parallel=None: the number chosen, once measured

    def request_stop(self, signum: int) -> None:
        """Stop after the current generator step of every running run (safe in a signal handler)."""
        first = self._stop is None
        self._stop = self._stop or signum
        for slot in list(self._active):
            slot.trainer.request_stop(signum)
        if first and self._active:
            self._echo(f"signal {signum} received: {len(self._active)} running run(s) finish their step, "
                       f"checkpoint and stop (press Ctrl-C again to stop at once)")

    def _limit(self) -> int:
        if self.parallel is not None:
            return self.parallel
        first = self._active[0] if self._active else None
        if first is None or first.stream is None:
            return 1
        if first.trainer._graphs is None and first.trainer.use_graphs:
            return 1                            # not measured yet: its graphs hold most of its memory
        if self._auto is None:
            free, _ = torch.cuda.mem_get_info(first.trainer.device)
            used = max(torch.cuda.memory_reserved(first.trainer.device), 1)
            self._auto = max(1, min(self.AUTO_PARALLEL, 1 + int(0.8 * free / used)))
        return self._auto

    def _start(self, run: RunSpec, hooks: RunHooks) -> _Slot:
        from .trainer import Trainer

        start = time.perf_counter()
        trainer = Trainer(run.cfg, hooks.dataset(run.cfg), echo=_trainer_echo(run, hooks.echo))
        stream = None
        if trainer.device.type == "cuda":
            stream = torch.cuda.Stream(trainer.device)
            stream.wait_stream(torch.cuda.current_stream(trainer.device))   # its weights were built there
        if self._stop is not None:
            trainer.request_stop(self._stop)
        return _Slot(run, trainer, trainer.run_steps(handle_signals=False), stream, start)

    def _advance(self, slot: _Slot, hooks: RunHooks) -> Optional[RunOutcome]:
        """One generator step of ``slot``'s run; its outcome if the run ended."""
        from .trainer import NonFiniteError, TrainingInterrupted

        run, elapsed = slot.run, lambda: time.perf_counter() - slot.start
        try:
            with _on_stream(slot.stream):
                step = next(slot.steps)
            hooks.on_step(run, step)
            return None
        except StopIteration as done:
            return RunOutcome(run.name, "finished", done.value.step, elapsed())
        except TrainingInterrupted as err:
            return RunOutcome(run.name, "interrupted", slot.trainer.step, elapsed(), reason=_first_line(err))
        except (NonFiniteError, *RUN_FAILURES) as err:
            return RunOutcome(run.name, "failed", run.done_steps(), elapsed(), reason=_failure_reason(err))

    def train(self, runs: Sequence[RunSpec], hooks: RunHooks) -> Iterator[RunOutcome]:
        self._echo = hooks.echo
        queue = list(runs)
        try:
            while self._active or (queue and self._stop is None):
                while queue and self._stop is None and len(self._active) < self._limit():
                    run = queue.pop(0)
                    try:
                        self._active.append(self._start(run, hooks))
                    except RUN_FAILURES as err:
                        yield RunOutcome(run.name, "failed", run.done_steps(), 0.0, reason=_failure_reason(err))
                self.peak_parallel = max(self.peak_parallel, len(self._active))
                for slot in list(self._active):
                    outcome = self._advance(slot, hooks)
                    if outcome is not None:
                        self._active.remove(slot)
                        yield outcome
        finally:
            for slot in self._active:            # a second Ctrl-C: release every run directory
                slot.steps.close()
            self._active.clear()


def _failure_reason(err: BaseException) -> str:
    reason = _first_line(err)
    return f"{reason}; lower --parallel" if isinstance(err, torch.cuda.OutOfMemoryError) else reason


def _on_stream(stream):
    if stream is None:
        return contextlib.nullcontext()
    return torch.cuda.stream(stream)


def _trainer_echo(run: RunSpec, echo: Callable[[str], None]) -> Callable[[str], None]:
    """The trainer's lines, prefixed by the run's name; its banner and resolved config (in the run's
    config.yaml) are left out."""
    def show(line: str) -> None:
        text = line.strip("\n")
        if text.startswith(("wgan: ", "resolved config:")):
            return
        echo(f"{run.name}: {text}")
    return show
