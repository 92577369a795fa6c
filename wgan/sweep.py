"""Sweeps: many runs of one experiment over a grid of overrides, each an ordinary run directory.

The parts, in the order a sweep uses them:

- **The grid** (``wgan/grid.py``: ``parse_grid``, ``read_sweep_file``): overrides in Hydra's multirun convention,
  ``train.lr=5e-5,1e-4`` (a comma list is several values; commas inside brackets, braces or
  quotes do not split, so ``train.betas=[0.5,0.9]`` is one value), or a sweep YAML
  (``configs/sweeps/*.yaml``: ``config``, ``overrides``, ``grid``). ``Grid.runs()`` is the cross
  product, the first key varying slowest.
- **The plan** (``plan_sweep``): every run's config built with ``load_config`` before any work,
  its name and run directory under ``--out``. A value that no run of the grid can use (an
  unknown key, a value the schema refuses) refuses the whole grid: one ``ConfigError`` line. A
  run whose *combination* of values is refused (``model.c_norm=batch`` with
  ``train.objective=wgan-gp``) is planned as a run that fails with that reason.
- **The executor** (``ConcurrentExecutor``, ``wgan/executor.py``): trains the planned runs, up to ``parallel`` at once
  in this process (on CUDA one stream each; on CPU one after another), each an ordinary
  ``Trainer`` driven a generator step at a time, so every run is the run it would be alone.
  Any executor implements two methods: ``train(runs, hooks)`` yielding a ``RunOutcome`` per run
  as it ends, and ``request_stop(signum)``.
- **The sweep** (``run_sweep``): skips finished runs, resumes unfinished ones, hands the rest to
  the executor, evaluates each finished run (``evaluate_run``), keeps one progress bar and one
  status line per run, and rewrites ``summary.csv`` / ``summary.md`` after every run
  (``wgan/sweep_summary.py``).

The grid's and the summaries' names stay importable from here (``from wgan.sweep import Grid``).

Run names (``run_names``): the swept keys' last components with their values, e.g.
``lr=5e-05,n_critic=1,seed=0``; see ``run_names`` for the rules that keep them safe and unique.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence

from .commandline import EXIT_INTERRUPTED, EXIT_RUNS_FAILED, OneLineParser, fail, parse
from .config import (
    Config,
    ConfigError,
    escape_controls,
    flat_config,
    load_config,
)
from .data import DatasetNotFound, ImageDataset, load_dataset
from .executor import ConcurrentExecutor, RunHooks, RunOutcome, RunSpec, _first_line
from .grid import Axis, Grid, parse_grid, read_sweep_file, split_values  # noqa: F401
from .rundir import RunDir, RunDirError
from .shards import run_processes, split_or_none
from .signals import StopOnSignal
from .sweep_summary import (  # noqa: F401
    METRIC_COLUMNS,
    STATUSES,
    SUMMARY_COLUMNS,
    previous_outcome,
    read_summary,
    read_sweep_rows,
    summary_rows,
    write_summaries,
)

# Appended to every run's overrides: the sweep keeps one bar for all runs. log.* may differ
# between a run and its resume, so this changes nothing about the training.
RUN_OVERRIDES = ("log.progress=false",)

MAX_NAME = 200                # bytes of a run directory's name (filesystems allow 255)
SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-=,")
EVAL_SEED_OFFSET = 3          # the trainer's evaluations draw latents seeded train.seed + 3 (sample_many)


# ----------------------------------------------------------------------------- the plan
@dataclass
class SweepPlan:
    out: str
    grid: Grid
    runs: list[RunSpec]                     # the whole grid, in order
    shard: tuple[int, int] = (0, 1)         # (I, N): this process takes runs I, I+N, ...

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.grid.axes]

    @property
    def mine(self) -> list[RunSpec]:
        i, n = self.shard
        return [r for r in self.runs if r.index % n == i]

    def summary_paths(self) -> tuple[str, str]:
        i, n = self.shard
        stem = "summary" if n == 1 else f"summary.shard-{i}-of-{n}"
        return os.path.join(self.out, stem + ".csv"), os.path.join(self.out, stem + ".md")


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "_".join(_label(v) for v in value)
    return str(value)


def _safe(text: str) -> str:
    return "".join(ch if ch in SAFE_CHARS else "_" for ch in text)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def run_names(keys: Sequence[str], values: Sequence[Sequence[Any]], texts: Sequence[str]) -> list[str]:
    """Directory names of runs from their swept values, safe and unique.

    Args:
        keys: the swept keys, e.g. ``["train.lr", "train.seed"]``.
        values: per run, the value of each key (the config's value where the run's config was
            built, so ``1e-4`` and ``0.0001`` name the same run).
        texts: per run, a text that tells runs apart (their override texts), for the digest.

    A name is ``label=value`` per key joined by commas, the label being the key's last
    component (``lr``), or the whole key when two swept keys share a last component. Characters
    other than letters, digits and ``._+-=,`` become ``_`` (a list joins its items with ``_``);
    a name longer than 200 bytes is cut and ends in an 8-digit digest of its overrides, and so
    do names that would otherwise coincide. A grid without swept keys has one run, ``run``.
    """
    last = [k.rsplit(".", 1)[-1] for k in keys]
    labels = [k if last.count(short) > 1 else short for k, short in zip(keys, last)]
    names = []
    for vals, text in zip(values, texts):
        name = _safe(",".join(f"{lab}={_label(v)}" for lab, v in zip(labels, vals))) if keys else "run"
        if len(name.encode()) > MAX_NAME:
            name = name[: MAX_NAME - 9] + "-" + _digest(text)
        names.append(name)
    for name in {n for n in names if names.count(n) > 1}:
        for i, (n, text) in enumerate(zip(names, texts)):
            if n == name:
                names[i] = (n[: MAX_NAME - 9] + "-" + _digest(text))
    return names


def rename_run(run: RunSpec, out: str, name: str) -> RunSpec:
    """``run`` renamed to ``name``, its run directory ``out/name`` (config and overrides alike):
    for plans built from several grids (the study, named variants)."""
    run.name = name
    run_dir = os.path.join(out, name)
    if run.cfg is not None:
        run.cfg.run.dir = run_dir
    run.overrides = tuple(o for o in run.overrides if not o.startswith("run.dir=")) + (f"run.dir={run_dir}",)
    return run


def plan_sweep(grid: Grid, out: str, shard: tuple[int, int] = (0, 1)) -> SweepPlan:
    """Build and validate every run's config; nothing is read beyond the configs, nothing written.

    Raises:
        ConfigError: the grid is bad (one line): a key or value that no run of the grid can use
            (the first run's error is reported), or two runs that are the same experiment.
    """
    if not out:
        raise ConfigError("--out must name the sweep's folder, e.g. --out runs/sweep_lr")
    i, n = shard
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {i}/{n}: write I/N with 0 <= I < N, e.g. --shard 0/4")
    combos = grid.runs()
    built: list[tuple[Optional[Config], Optional[str]]] = []
    for combo in combos:
        texts = [f"{k}={v}" for k, v in combo]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # deprecation notes: once below, not once per run
                built.append((load_config(grid.config, grid.fixed + texts + list(RUN_OVERRIDES)), None))
        except ConfigError as err:
            built.append((None, _first_line(err)))
    # A value is bad input when every run holding it is refused; a refused combination is a run
    # that fails. (Without swept keys the one run's refusal is the grid's.)
    if all(cfg is None for cfg, _ in built):
        raise ConfigError(built[0][1])
    for axis in grid.axes:
        for value in axis.values:
            holding = [b for combo, b in zip(combos, built) if (axis.key, value) in combo]
            if all(cfg is None for cfg, _ in holding):
                raise ConfigError(f"{escape_controls(axis.key)}={escape_controls(value)} is refused in every run: "
                                  f"{holding[0][1]}")
    keys = [a.key for a in grid.axes]
    values, texts = [], []
    for combo, (cfg, _) in zip(combos, built):
        flat = flat_config(cfg.to_dict()) if cfg is not None else {}
        values.append([flat.get(k, v) for k, v in combo])
        texts.append(" ".join(f"{k}={v}" for k, v in combo))
    seen: dict = {}
    for combo, vals, text in zip(combos, values, texts):
        canon = repr(vals)
        if canon in seen:
            raise ConfigError(f"runs '{escape_controls(seen[canon])}' and '{escape_controls(text)}' are the same "
                              f"experiment; remove the repeated value")
        seen[canon] = text
    names = run_names(keys, values, texts)
    runs = []
    for index, (combo, (cfg, refused), name) in enumerate(zip(combos, built, names)):
        run_dir = os.path.join(out, name)
        overrides = tuple(grid.fixed + [f"{k}={v}" for k, v in combo] + list(RUN_OVERRIDES) + [f"run.dir={run_dir}"])
        if cfg is not None:
            cfg.run.dir = run_dir
        runs.append(RunSpec(index, name, tuple(combo), overrides, cfg, refused))
    return SweepPlan(out, grid, runs, shard)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` as (I, N); raises ConfigError unless 0 <= I < N."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard '{escape_controls(text)}' must be I/N with 0 <= I < N, e.g. --shard 0/4 "
                          f"(in a SLURM array: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {i}/{n}: I must be in [0, N), e.g. --shard 0/{max(n, 1)}")
    return i, n


# ----------------------------------------------------------------------------- evaluation
class Evaluator:
    """Classifier metrics (MNIST) and FID (when an Inception network is found) of finished runs.

    One ``TrainingMetrics`` per (dataset, root, device, Inception file), so reference statistics
    are computed (or read from the cache) once per sweep. The samples are the trainer's
    evaluation samples: ``n`` images from latents seeded ``train.seed + 3`` of the final
    checkpoint's sampling generator (the weight average when ``train.ema`` is on).
    """

    def __init__(self, n_samples: int = 2000, cache_dir: Optional[str] = None,
                 echo: Callable[[str], None] = print):
        self.n_samples, self.cache_dir, self.echo = n_samples, cache_dir, echo
        self._suites: dict = {}

    def supports(self, cfg: Config) -> bool:
        from .metrics.reference import REFERENCE_DATASETS
        return cfg.data.name in REFERENCE_DATASETS

    def __call__(self, run: RunSpec, step: int) -> dict:
        from . import sampling
        from .devices import resolve_device
        from .export import load_generator
        from .metrics.training import TrainingMetrics, fid_key

        cfg = run.cfg
        if not self.supports(cfg):
            return {}
        device = resolve_device(cfg.system.device)
        key = (cfg.data.name, cfg.data.root, str(device), cfg.log.inception)
        if key not in self._suites:
            self._suites[key] = TrainingMetrics(cfg.data.name, cfg.data.root, device, self.n_samples,
                                                inception_path=cfg.log.inception, cache_dir=self.cache_dir,
                                                log=self.echo)
        metrics = self._suites[key]
        generator = load_generator(RunDir(run.run_dir).checkpoint(step), device)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            values = metrics(lambda n: sampling.generate(generator, n, cfg.train.seed + EVAL_SEED_OFFSET))
        for w in caught:
            text = str(w.message)
            if "FID is skipped" in text:
                why = text.split(": ", 1)[-1]
                self.echo(f"note: the summary's fid column stays blank: {escape_controls(why.splitlines()[0])}")
        out = {"fid": values.get(fid_key(self.n_samples))}
        out.update({k: values.get(k) for k in METRIC_COLUMNS if k != "fid"})
        return {k: v for k, v in out.items() if v is not None}


def final_em(run: RunSpec, step: int) -> Optional[float]:
    """The last EM estimate logged at or before ``step`` (metrics.jsonl), None if none."""
    try:
        rows = RunDir(run.run_dir).read_metrics()
    except OSError:
        return None
    values = [r["em_distance"] for r in rows if "em_distance" in r and r.get("step", 0) <= step]
    return float(values[-1]) if values else None


# ----------------------------------------------------------------------------- the sweep
@dataclass
class SweepOptions:
    evaluate: bool = True                   # classifier metrics / FID of each finished run
    eval_samples: int = 2000
    cache_dir: Optional[str] = None         # reference statistics cache (None: ~/.cache/wgan)
    progress: Optional[bool] = None         # the sweep's bar: None = only on a terminal


@dataclass
class SweepResult:
    outcomes: dict[str, RunOutcome]
    summary: tuple[str, str]
    interrupted: Optional[int] = None       # the signal that stopped the sweep

    @property
    def exit_code(self) -> int:
        if self.interrupted is not None:
            return EXIT_INTERRUPTED
        return EXIT_RUNS_FAILED if any(o.status == "failed" for o in self.outcomes.values()) else 0


def _dataset_cache() -> Callable[[Config], ImageDataset]:
    cache: dict = {}

    def dataset(cfg: Config) -> ImageDataset:
        d = cfg.data
        key = (d.name, d.root, d.split, d.image_size if d.name == "folder" else None,
               (d.stacked_size, cfg.train.seed) if d.name == "stacked_mnist" else None)
        if key not in cache:
            try:
                cache[key] = load_dataset(cfg)
            except DatasetNotFound:
                raise
            except (OSError, ValueError, EOFError) as err:
                raise DatasetNotFound(f"data.name={d.name} in data.root={d.root} cannot be read "
                                      f"({_first_line(err)})") from None
        return cache[key]
    return dataset


def _status_line(k: int, total: int, run: RunSpec, o: RunOutcome) -> str:
    if run.cfg is None:
        return f"[{k}/{total}] {run.name}: {o.status}, config refused ({o.reason})"
    parts = [f"[{k}/{total}] {run.name}: {o.status} at step {o.step}/{run.steps}"]
    if o.em_distance is not None:
        parts.append(f"EM {o.em_distance:.4g}")
    if "classifier_fid" in o.metrics:
        parts.append(f"classifier FID {o.metrics['classifier_fid']:.4g}")
    if "fid" in o.metrics:
        parts.append(f"FID {o.metrics['fid']:.4g}")
    if o.wall_s is not None:
        parts.append(f"{o.wall_s:.1f} s")
    line = ", ".join(parts)
    return line + (f" ({o.reason})" if o.reason else "")


def run_sweep(plan: SweepPlan, options: Optional[SweepOptions] = None, executor=None,
              echo: Optional[Callable[[str], None]] = None) -> SweepResult:
    """Train this shard's runs of ``plan``; finished runs are skipped, unfinished ones resume.

    Raises:
        RunDirError: ``--out`` cannot be written (before anything is trained).
    """
    from tqdm import tqdm

    options = options or SweepOptions()
    RunDir(plan.out).check_writable()
    executor = executor or ConcurrentExecutor(parallel=None)
    runs = plan.mine
    csv_path, _ = plan.summary_paths()
    previous = {row.get("name"): row for row in read_summary(csv_path)}
    outcomes: dict[str, RunOutcome] = {}
    todo: list[RunSpec] = []
    done_at_start = {run.name: run.done_steps() for run in runs}
    total = sum(run.steps for run in runs)
    bar = tqdm(total=total, initial=sum(done_at_start.values()), unit="step", dynamic_ncols=True,
               file=sys.stderr, disable=(None if options.progress is None else not options.progress),
               desc=f"sweep {len(runs)} runs")
    say = echo or bar.write
    evaluator = Evaluator(options.eval_samples, options.cache_dir, echo=say) if options.evaluate else None
    count = {"done": 0}

    def conclude(run: RunSpec, outcome: RunOutcome, before: Optional[RunOutcome]) -> None:
        if outcome.status != "pending" and before is not None and before.wall_s is not None \
                and before.status != "finished" and outcome.wall_s is not None:
            outcome.wall_s += before.wall_s         # time spent by earlier, unfinished attempts
        if run.cfg is not None:
            outcome.em_distance = final_em(run, outcome.step)
        if outcome.status == "finished" and evaluator is not None and evaluator.supports(run.cfg):
            try:
                outcome.metrics = evaluator(run, outcome.step)
                outcome.eval_samples = options.eval_samples
            except (OSError, ValueError, RuntimeError) as err:   # e.g. no classifier file, a full cache disk
                say(f"note: {run.name}: final metrics skipped ({_first_line(err)}); the run is finished")
        outcomes[run.name] = outcome
        count["done"] += 1
        say(_status_line(count["done"], len(runs), run, outcome))
        write_summaries(plan, outcomes)

    for run in runs:
        before = previous_outcome(previous[run.name]) if run.name in previous else None
        outcomes[run.name] = RunOutcome(run.name, "pending", done_at_start[run.name],
                                        before.wall_s if before else None)
    # The first SIGINT/SIGTERM asks the executor to stop: every running run checkpoints at its
    # next generator step and no other starts; a second raises KeyboardInterrupt.
    signals = StopOnSignal(executor.request_stop)
    try:
        with signals:
            write_summaries(plan, outcomes)
            for run in runs:
                before = previous_outcome(previous[run.name]) if run.name in previous else None
                if run.cfg is None:
                    conclude(run, RunOutcome(run.name, "failed", reason=run.refused), None)
                elif run.finished():
                    step = run.done_steps()
                    reuse = (before is not None and before.status == "finished" and before.step == step
                             and (evaluator is None or before.eval_samples == options.eval_samples
                                  or not evaluator.supports(run.cfg)))
                    if reuse:
                        outcomes[run.name] = before
                        count["done"] += 1
                        say(_status_line(count["done"], len(runs), run, before) + " (already finished)")
                    else:
                        conclude(run, RunOutcome(run.name, "finished", step, before.wall_s if before else None), None)
                else:
                    todo.append(run)
            write_summaries(plan, outcomes)
            seen = dict(done_at_start)

            def on_step(run: RunSpec, step: int) -> None:
                bar.update(max(0, step - seen[run.name]))
                seen[run.name] = step

            hooks = RunHooks(_dataset_cache(), on_step, say)
            by_name = {run.name: run for run in todo}
            if signals.signum is None:
                for outcome in executor.train(todo, hooks):
                    run = by_name[outcome.name]
                    before = previous_outcome(previous[run.name]) if run.name in previous else None
                    conclude(run, outcome, before)
    except KeyboardInterrupt:
        write_summaries(plan, outcomes)
        raise
    finally:
        bar.close()
    stopped = signals.signum or getattr(executor, "_stop", None)
    if stopped is None and any(o.status == "interrupted" for o in outcomes.values()):
        stopped = signal.SIGINT
    return SweepResult(outcomes, plan.summary_paths(), stopped)


def parse_parallel(text: str) -> Optional[int]:
    """``--parallel``: None for auto, the number, or 0 for a refused value."""
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        return 0
    return max(value, 0)


def describe(plan: SweepPlan) -> list[str]:
    """The lines of ``--dry-run``: one per run of this shard (name, then its overrides)."""
    runs = plan.mine
    i, n = plan.shard
    head = f"{len(plan.runs)} runs in {plan.out}" + (f"; shard {i}/{n} takes {len(runs)}" if n > 1 else "")
    lines = [head]
    width = max((len(r.name) for r in runs), default=0)
    for run in runs:
        note = f"  (refused: {run.refused})" if run.refused else ""
        lines.append(f"  {run.name.ljust(width)}  {run.overrides_text() or '(no swept keys)'}{note}")
    return lines


def build_grid(config: Optional[str], sweep_file: Optional[str], overrides: Iterable[str]) -> Grid:
    """The grid of a command line: the sweep file's (if any), then the overrides' on top; ``--config``
    replaces the sweep file's base config."""
    grid = read_sweep_file(sweep_file) if sweep_file else Grid()
    grid = grid.merged(parse_grid(list(overrides)))
    if config:
        grid.config = config
    return grid


# ----------------------------------------------------------------------------- command line
class _Parser:
    """The sweep's arguments, with one-line errors (as wgan-train)."""

    @staticmethod
    def make():
        parser = OneLineParser(
            prog="sweep.py", description="Train a grid of runs, each an ordinary run directory under --out. "
            "Re-running the same command skips finished runs and resumes unfinished ones.",
            epilog="example: sweep.py --config configs/mnist.yaml --out runs/sweep_lr train.lr=5e-5,1e-4,2e-4 "
                   "train.n_critic=1,5 train.seed=0,1  (12 runs; exit 0 all finished, 2 bad input, "
                   "3 interrupted, 5 some runs failed)")
        parser.add_argument("--config", help="base config: a YAML file or a shipped config's name")
        parser.add_argument("--sweep", metavar="FILE", help="sweep YAML (configs/sweeps/*.yaml): config, overrides, "
                            "grid; command-line overrides are added on top")
        parser.add_argument("--out", required=True, help="the sweep's folder: one run directory per run, summaries")
        parser.add_argument("--shard", default="0/1", metavar="I/N",
                            help="take runs I, I+N, I+2N, ... (0-based), e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT")
        parser.add_argument("--eval-samples", type=int, default=2000,
                            help="generated images per run for the final metrics (default 2000)")
        parser.add_argument("--no-eval", action="store_true", help="no final metrics (classifier FID, class KL, FID)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (status lines stay)")
        parser.add_argument("--parallel", default="auto", metavar="K",
                            help="runs trained at once in this process (on CUDA each on its own stream); auto "
                                 "(default): 1 on CPU, on CUDA as many as free memory holds, at most "
                                 f"{ConcurrentExecutor.AUTO_PARALLEL}")
        parser.add_argument("--processes", metavar="N|gpus",
                            help="split the sweep over N processes of this host (gpus: one per GPU, each with its "
                                 "own GPU), each taking its shard (wgan/shards.py)")
        parser.add_argument("--dry-run", action="store_true", help="print the runs and their overrides, train nothing")
        parser.add_argument("overrides", nargs="*", metavar="key=v1,v2,...",
                            help="overrides; a comma list sweeps the key, [a,b] is one list value")
        return parser


def main(argv: Optional[list[str]] = None) -> int:
    """``wgan-sweep`` / ``python -m wgan sweep`` / ``scripts/sweep.py``; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _Parser.make()
    args, code = parse(parser, argv, "see sweep.py --help")
    if args is None:
        return code
    if args.eval_samples < 2:
        return fail(f"--eval-samples must be >= 2, got {args.eval_samples}")
    parallel = parse_parallel(args.parallel)
    if parallel == 0:
        return fail(f"--parallel must be auto or a whole number >= 1, got {escape_controls(args.parallel)!r}")
    try:
        shard = parse_shard(args.shard)
        grid = build_grid(args.config, args.sweep, args.overrides)
        plan = plan_sweep(grid, args.out, shard)
        processes = split_or_none(args.processes, args.shard)
    except ConfigError as err:
        return fail(str(err))
    if args.dry_run:
        print("\n".join(describe(plan)))
        return 0
    if processes:
        return run_processes("wgan.sweep", argv, processes, args.out)
    options = SweepOptions(evaluate=not args.no_eval, eval_samples=args.eval_samples,
                           progress=False if args.no_progress else None)
    try:
        result = run_sweep(plan, options, ConcurrentExecutor(parallel))
    except RunDirError as err:
        return fail(str(err))
    except OSError as err:      # e.g. the disk filled up writing a summary or a run's files
        where = f" writing {err.filename}" if getattr(err, "filename", None) else ""
        return fail(f"I/O error{where}: {err.strerror or err}; every run's newest complete checkpoint is intact; "
                     f"fix the problem and re-run the same command to resume")
    except KeyboardInterrupt:
        return fail("interrupted; every run's newest complete checkpoint is intact, re-run to resume", 130)
    statuses = [o.status for o in result.outcomes.values()]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in STATUSES if statuses.count(s))
    print(f"sweep: {len(statuses)} runs ({counts}); summary {result.summary[0]}")
    if result.exit_code == EXIT_INTERRUPTED:
        return fail(f"sweep stopped by signal {result.interrupted}; the interrupted run checkpointed; run the same "
                     f"command again to resume", EXIT_INTERRUPTED)
    if result.exit_code == EXIT_RUNS_FAILED:
        failed = [o.name for o in result.outcomes.values() if o.status == "failed"]
        return fail(f"{len(failed)} of {len(statuses)} runs failed ({', '.join(failed[:3])}"
                     f"{', ...' if len(failed) > 3 else ''}); their reasons are in {result.summary[0]}",
                     EXIT_RUNS_FAILED)
    return 0
