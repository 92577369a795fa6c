"""The study of the write-up's claims as one sweep plan (docs/study.md).

Lucic et al. (2018) compare GAN objectives by the distribution of their results over a grid of
settings, not by one tuned run each. The grid here, on 32x32 MNIST (``configs/mnist.yaml``
otherwise: weight average, linear decay of the rates; width 64, DCGAN's and the paper's, instead
of the shipped recipe's 96, which halves the cost of 216 runs):

- objectives: wgan (clipping), wgan-gp, wgan-lp, wgan-sn, hinge, gan (non-saturating), each
  with its published optimiser and critic normalisation (``wgan.objectives``);
- architectures: ``dcgan`` (BatchNorm in the generator, the objective's critic norm),
  ``nonorm`` (no normalisation anywhere: the paper's section 4.3), ``mlp`` (the paper's 4-layer
  ReLU MLP generator, 512 units, with the DCGAN critic);
- learning rates 0.5x, 1x and 2x the objective's published default; n_critic 1 and 5; seeds.

A learning rate relative to each objective's default is not a cross product of config values,
so the plan is the union of one grid per (objective, architecture); each run's name and its
summary columns carry the labels ``objective``, ``arch`` and ``lr_scale`` that
``wgan.study_report`` groups by. Every run is an ordinary run directory under ``--out``.
"""

from __future__ import annotations

import itertools
import os
from typing import Optional, Sequence

from .objectives import OBJECTIVES
from .sweep import Axis, Grid, SweepPlan, plan_sweep, rename_run

OBJECTIVE_NAMES = ("wgan", "wgan-gp", "wgan-lp", "wgan-sn", "hinge", "gan")
ARCHITECTURES = {
    "dcgan": ("model.g_arch=dcgan", "model.g_norm=batch", "model.c_norm="),
    "nonorm": ("model.g_arch=dcgan", "model.g_norm=none", "model.c_norm=none"),
    "mlp": ("model.g_arch=mlp", "model.g_norm=none", "model.c_norm="),
}
LR_SCALES = (0.5, 1.0, 2.0)
N_CRITIC = (1, 5)
SEEDS = (0, 1)
STEPS = 3000                    # 1,000 left every run of a first attempt above classifier FID 39
EVAL_EVERY = 300                # classifier metrics during training (10 points): the EM-vs-FID correlation
WIDTH = 64
BASE_CONFIG = "mnist"
# The shipped recipe's optimiser choices are the clipping objective's; every objective gets its own.
BASE_OVERRIDES = ("train.optimizer=", "train.lr=", "train.betas=", f"model.g_width={WIDTH}", f"model.c_width={WIDTH}",
                  "log.log_every=50", f"log.eval_every={EVAL_EVERY}",
                  "log.eval_samples=1000", "log.keep_checkpoints=1")
LABELS = ("objective", "arch", "lr_scale")
STACKED_EVAL_SAMPLES = 26000    # 1000 (1 - (1 - 1/1000)^26000) = 1000.0 modes for a perfect generator
STACKED_OVERRIDES = ("data.name=stacked_mnist",)


def plan_study(out: str, steps: int = STEPS, shard: tuple[int, int] = (0, 1), extra: Sequence[str] = (),
               objectives: Sequence[str] = OBJECTIVE_NAMES, archs: Sequence[str] = tuple(ARCHITECTURES),
               lr_scales: Sequence[float] = LR_SCALES, n_critic: Sequence[int] = N_CRITIC,
               seeds: Sequence[int] = SEEDS, config: Optional[str] = None) -> SweepPlan:
    """The study as one SweepPlan (``run_sweep`` trains, skips and resumes it as any sweep).

    ``extra`` overrides go to every run after the study's own (tests shrink the models with it).

    Raises:
        ConfigError: an unknown objective or architecture, or overrides a run cannot use.
    """
    from .config import ConfigError

    for name in objectives:
        if name not in OBJECTIVES:
            raise ConfigError(f"study: unknown objective {name!r}; choose from {', '.join(OBJECTIVES)}")
    for arch in archs:
        if arch not in ARCHITECTURES:
            raise ConfigError(f"study: unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    runs = []
    for objective, arch, scale in itertools.product(objectives, archs, lr_scales):
        lr = scale * OBJECTIVES[objective].defaults["lr"]
        grid = Grid(config=config or BASE_CONFIG,
                    fixed=[*BASE_OVERRIDES, f"train.objective={objective}", *ARCHITECTURES[arch],
                           f"train.lr={lr:.6g}", f"train.steps={steps}", *extra],
                    axes=[Axis("train.n_critic", tuple(str(n) for n in n_critic)),
                          Axis("train.seed", tuple(str(s) for s in seeds))])
        cell = f"{objective},{arch},lr_scale={scale:g}"
        for run in plan_sweep(grid, os.path.join(out, "_"), (0, 1)).runs:
            run.swept = (("objective", objective), ("arch", arch), ("lr_scale", f"{scale:g}"),
                         ("train.lr", f"{lr:.6g}"), *run.swept)
            runs.append(rename_run(run, out, f"{cell},{run.name}"))
    # Seed slowest, then n_critic, rate, objective, architecture: a study stopped part-way (or one
    # shard of it) holds every objective and architecture, its first seed before the second.
    place = {k: {v: i for i, v in enumerate(vals)} for k, vals in (
        ("objective", objectives), ("arch", archs), ("lr_scale", [f"{x:g}" for x in lr_scales]),
        ("train.n_critic", [str(n) for n in n_critic]), ("train.seed", [str(x) for x in seeds]))}
    order = ("train.seed", "train.n_critic", "lr_scale", "objective", "arch")
    runs.sort(key=lambda r: tuple(place[k][dict(r.swept)[k]] for k in order))
    for index, run in enumerate(runs):
        run.index = index
    return SweepPlan(out, study_grid(config, objectives, archs, lr_scales, n_critic, seeds), runs, shard)


def study_grid(config: Optional[str], objectives: Sequence[str], archs: Sequence[str], lr_scales: Sequence[float],
               n_critic: Sequence[int], seeds: Sequence[int]) -> Grid:
    """The labels a study plan's summary carries, as a Grid's axes (the runs are planned per cell)."""
    axes = [Axis("objective", tuple(objectives)), Axis("arch", tuple(archs)),
            Axis("lr_scale", tuple(f"{s:g}" for s in lr_scales)), Axis("train.lr", ()),
            Axis("train.n_critic", tuple(str(n) for n in n_critic)), Axis("train.seed", tuple(str(s) for s in seeds))]
    return Grid(config=config or BASE_CONFIG, axes=axes)


def best_study_settings(study_dir: str) -> dict[str, tuple[str, float, int]]:
    """{objective: (arch, lr_scale, n_critic)} of each objective's best run in a trained study
    (``wgan.study_report.best_settings``: the lowest final classifier FID of a run that did not
    diverge).

    Raises:
        ConfigError: the folder holds no study, or no objective has a usable run.
    """
    from .config import ConfigError
    from .study_report import StudyError, best_settings, collect_runs

    try:
        best = best_settings(collect_runs(study_dir))
    except StudyError as err:
        raise ConfigError(f"--stacked-from: {err}") from None
    if not best:
        raise ConfigError(f"--stacked-from {study_dir}: no finished run that did not diverge")
    return {o: (r.arch, float(r.lr_scale), int(r.n_critic)) for o, r in best.items()}


def plan_stacked(out: str, settings: dict[str, tuple[str, float, int]], steps: int = STEPS,
                 seeds: Sequence[int] = SEEDS, extra: Sequence[str] = (), config: Optional[str] = None) -> SweepPlan:
    """Each objective's best study setting trained on Stacked MNIST (1,000 modes) for ``seeds``,
    as one sweep plan. Train it with ``SweepOptions(eval_samples=STACKED_EVAL_SAMPLES)``: the
    final mode coverage and KL are then measured on as many samples as a perfect generator needs
    to cover all 1,000 modes (``main`` does)."""
    runs = [run for objective, (arch, scale, n_critic) in settings.items()
            for run in plan_study(out, steps, extra=[*STACKED_OVERRIDES, *extra], objectives=[objective],
                                  archs=[arch], lr_scales=[scale], n_critic=[n_critic], seeds=seeds,
                                  config=config).runs]
    for index, run in enumerate(runs):
        run.index = index
    archs, scales, n_critics = (list(dict.fromkeys(column)) for column in zip(*settings.values()))
    grid = study_grid(config, list(settings), archs, scales, n_critics, seeds)
    return SweepPlan(out, grid, runs)


def main(argv: Optional[list[str]] = None) -> int:
    """``scripts/study.py``: train (or resume) the study; the report is scripts/study_report.py."""
    import sys

    from .commandline import OneLineParser, fail, parse
    from .config import ConfigError
    from .rundir import RunDirError
    from .shards import run_processes, split_or_none
    from .sweep import ConcurrentExecutor, SweepOptions, describe, parse_parallel, parse_shard, run_sweep

    parser = OneLineParser(prog="study.py", description="Train the study's grid (docs/study.md): every objective x "
                           "architecture x learning rate x n_critic x seed, as one sweep under --out. Re-running the "
                           "same command skips finished runs and resumes unfinished ones.")
    parser.add_argument("--out", default="runs/study", help="the study's folder (default runs/study)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"generator steps per run (default {STEPS})")
    parser.add_argument("--objectives", default=",".join(OBJECTIVE_NAMES))
    parser.add_argument("--archs", default=",".join(ARCHITECTURES))
    parser.add_argument("--shard", default="0/1", metavar="I/N", help="take runs I, I+N, ... (as sweep.py)")
    parser.add_argument("--parallel", default="auto", metavar="K", help="runs at once (as sweep.py)")
    parser.add_argument("--processes", metavar="N|gpus", help="split over N processes, gpus: one per GPU (as sweep.py)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--stacked-from", metavar="STUDY_DIR", help="instead of the grid: each objective's best "
                        "setting in this trained study, on Stacked MNIST, for both seeds (docs/study.md)")
    parser.add_argument("--dry-run", action="store_true", help="print the runs, train nothing")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="added to every run")
    argv = sys.argv[1:] if argv is None else list(argv)
    args, code = parse(parser, argv, "see study.py --help")
    if args is None:
        return code
    parallel = parse_parallel(args.parallel)
    if parallel == 0 or args.steps < 1:
        return fail("--parallel must be auto or a whole number >= 1 and --steps >= 1")
    try:
        if args.stacked_from:
            plan = plan_stacked(args.out, best_study_settings(args.stacked_from), args.steps, extra=args.overrides)
        else:
            plan = plan_study(args.out, args.steps, parse_shard(args.shard), args.overrides,
                              args.objectives.split(","), args.archs.split(","))
        processes = split_or_none(args.processes, args.shard)
    except ConfigError as err:
        return fail(str(err))
    if args.dry_run:
        print("\n".join(describe(plan)))
        return 0
    if processes:
        return run_processes("wgan.study", argv, processes, args.out)
    try:
        options = SweepOptions(progress=False if args.no_progress else None,
                               eval_samples=STACKED_EVAL_SAMPLES if args.stacked_from else SweepOptions.eval_samples)
        result = run_sweep(plan, options, ConcurrentExecutor(parallel))
    except RunDirError as err:
        return fail(str(err))
    statuses = [o.status for o in result.outcomes.values()]
    print(f"study: {len(statuses)} runs ({statuses.count('finished')} finished, {statuses.count('failed')} failed, "
          f"{statuses.count('interrupted')} interrupted); summary {result.summary[0]}")
    return result.exit_code
