"""Speed and sameness of the sweep's ConcurrentExecutor (K runs, one process, one stream each).

Everything goes through ``run_sweep``, as ``scripts/sweep.py`` runs it: real run directories,
logging every 100 steps, a checkpoint and a sample grid at the end, no final metrics.

speed: for each recipe (configs/mnist.yaml: 32x32, width 96; configs/mnist_paper.yaml: 64x64,
  width 64) and precision (tf32, bf16, NHWC both), K runs that differ in lr, clip and seed (the
  recipe as shipped otherwise, weight average included) for ``--steps`` generator steps each.
  The rate is taken while every run trains: from the moment the last run to start has done
  ``--steps // 4`` steps to the moment the first run reaches ``3 * --steps // 4``, in generator
  steps summed over runs per second. K=1 is the run alone, measured the same way.
same: 4 runs for 20 generator steps, logged at every step, trained concurrently and alone:
  the largest difference of any logged loss per step, whether the final weights, the data
  sampler and the noise generator's states are bitwise equal. In fp32 with cuDNN autotuning (the
  default) and with system.deterministic=true.

spread: one sweep of 32 runs (configs/mnist.yaml, tf32; lr x clip x seed) for ``--steps`` steps,
  as a command line (``python -m wgan sweep``, start-up included), once in one process on one
  GPU and once with ``--processes gpus`` (one process per GPU of the host): the summed generator
  steps/s of each and their ratio. Then sameness across processes: 4 runs of 20 steps with
  system.deterministic=true spread over the GPUs against each run trained alone; final weights,
  optimiser states and weight average compared bitwise.

    python scripts/sweep_speed.py speed --k 1,16 --out results/sweep/speed.json
    python scripts/sweep_speed.py same --out results/sweep/same.json
    python scripts/sweep_speed.py spread --steps 1000 --out results/sweep/spread.json
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import time

import torch

from wgan.checkpoint import read_checkpoint
from wgan.files import write_json
from wgan.rundir import RunDir
from wgan.sweep import ConcurrentExecutor, SweepOptions, parse_grid, plan_sweep, run_sweep

from loss_diff import relative_differences, training_rows   # scripts/loss_diff.py, beside this script

RECIPES = {"mnist": "configs/mnist.yaml", "mnist_paper": "configs/mnist_paper.yaml"}
QUIET = SweepOptions(evaluate=False, progress=False)
SETTINGS = list(itertools.product(["5e-5", "1e-4", "2e-4", "4e-4"], ["0.01", "0.02"], range(4)))


class TimedExecutor(ConcurrentExecutor):
    """Records (host time, run, step) after every generator step it drives."""

    def __init__(self, parallel):
        super().__init__(parallel)
        self.marks: list[tuple[float, str, int]] = []

    def _advance(self, slot, hooks):
        outcome = super()._advance(slot, hooks)
        if outcome is None:
            self.marks.append((time.perf_counter(), slot.run.name, slot.trainer.step))
        return outcome


def steady_rate(marks, k: int, steps: int) -> float:
    """Summed generator steps/s while all K runs train (see the module docstring)."""
    lo, hi = steps // 4, 3 * steps // 4
    start = max(t for t, _, s in marks if s == lo)
    end = min(t for t, _, s in marks if s == hi)
    done = sum(1 for t, _, _ in marks if start < t <= end)
    if end <= start or done < k:
        raise RuntimeError(f"no window where all {k} runs train; raise --steps")
    return done / (end - start)


def speed(ks: list[int], steps: int, recipes: list[str], precisions: list[str], root: str) -> list[dict]:
    rows = []
    for recipe, precision in itertools.product(recipes, precisions):
        solo = None
        for k in ks:
            lrs = ",".join(sorted({lr for lr, _, _ in SETTINGS[:k]}, key=float))
            clips = ",".join(sorted({c for _, c, _ in SETTINGS[:k]}))
            seeds = ",".join(str(s) for s in sorted({s for _, _, s in SETTINGS[:k]}))
            grid = parse_grid([f"system.precision={precision}", "system.channels_last=true", f"train.steps={steps}",
                               "log.log_every=100", "log.sample_every=100000", "log.checkpoint_every=100000",
                               f"train.lr={lrs}", f"train.clip={clips}", f"train.seed={seeds}"])
            grid.config = RECIPES[recipe]
            out = os.path.join(root, f"{recipe}_{precision}_k{k}")
            shutil.rmtree(out, ignore_errors=True)
            plan = plan_sweep(grid, out)
            plan.runs = plan.runs[:k]
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            executor = TimedExecutor(k)
            begin = time.perf_counter()
            result = run_sweep(plan, QUIET, executor, echo=lambda _: None)
            wall = time.perf_counter() - begin
            bad = [o for o in result.outcomes.values() if o.status != "finished"]
            if bad:
                raise RuntimeError(f"{recipe} {precision} K={k}: {bad[0].name} {bad[0].status}: {bad[0].reason}")
            rate = steady_rate(executor.marks, k, steps)
            solo = rate if k == 1 else solo
            row = {"recipe": recipe, "precision": precision, "k": k, "steps_per_run": steps,
                   "aggregate_steps_s": rate, "per_run_steps_s": rate / k,
                   "ratio_vs_alone": rate / solo if solo else None,
                   "peak_gib": torch.cuda.max_memory_allocated() / 2**30, "wall_s": wall}
            rows.append(row)
            ratio = f"{row['ratio_vs_alone']:.2f}x alone" if solo else "-"
            print(f"{recipe:<12} {precision:<5} K={k:<3} {rate:8.1f} run-steps/s | {ratio} | each run "
                  f"{rate / k:6.1f} steps/s | peak {row['peak_gib']:.2f} GiB | sweep wall {wall:.1f} s", flush=True)
            shutil.rmtree(out, ignore_errors=True)
    return rows


def _tensors_equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_tensors_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return a == b


FINAL_STATE = ("generator", "generator_ema", "critic", "opt_g", "opt_c")


def final_states_equal(a: dict, b: dict) -> bool:
    """Two runs' checkpoints hold bitwise the same weights, weight average and optimiser states."""
    return all(_tensors_equal(a.get(key), b.get(key)) for key in FINAL_STATE)


def same(root: str, steps: int = 20, extra: tuple = (), modes: tuple = ("false", "true")) -> list[dict]:
    checks = []
    for deterministic in modes:
        grid = parse_grid([*extra, "system.precision=fp32", "system.channels_last=true", f"system.deterministic={deterministic}",
                           f"train.steps={steps}", "log.log_every=1", "log.sample_every=100000",
                           "log.checkpoint_every=100000", "train.lr=5e-5,2e-4", "train.seed=0,1"])
        grid.config = RECIPES["mnist"]
        dirs = {}
        for k in (4, 1):
            out = os.path.join(root, f"same_det{deterministic}_k{k}")
            shutil.rmtree(out, ignore_errors=True)
            plan = plan_sweep(grid, out)
            result = run_sweep(plan, QUIET, ConcurrentExecutor(k), echo=lambda _: None)
            assert all(o.status == "finished" for o in result.outcomes.values()), result.outcomes
            dirs[k] = {r.name: r.run_dir for r in plan.runs}
        worst, per_step, bitwise, streams = 0.0, [0.0] * steps, True, True
        for name, together in dirs[4].items():
            alone = dirs[1][name]
            for i, diff in enumerate(relative_differences(training_rows(alone), training_rows(together))):
                per_step[i] = max(per_step[i], diff)
                worst = max(worst, diff)
            ca = read_checkpoint(RunDir(together).checkpoint(steps))
            cb = read_checkpoint(RunDir(alone).checkpoint(steps))
            bitwise &= final_states_equal(ca, cb)
            streams &= all(_tensors_equal(ca["rng"][key], cb["rng"][key]) for key in ("noise", "sampler"))
        check = {"overrides": list(extra), "deterministic": deterministic == "true", "runs": 4, "steps": steps,
                 "max_relative_loss_diff": worst, "per_step": per_step,
                 "final_weights_bitwise_equal": bitwise, "data_and_noise_states_equal": streams}
        checks.append(check)
        print(f"{' '.join(extra) or 'configs/mnist.yaml'}: fp32, deterministic={deterministic}: 4 concurrent runs vs alone, {steps} steps: largest relative "
              f"loss difference {worst:.2e}; final weights bitwise equal: {bitwise}; data sampler and noise "
              f"states equal: {streams}", flush=True)
    return checks


SPREAD_GRID = ("train.lr=5e-5,1e-4,2e-4,4e-4", "train.clip=0.01,0.02", "train.seed=0,1,2,3")


def _sweep_cli(out: str, *args: str, gpu: str | None = None) -> float:
    """Run ``python -m wgan sweep`` as a user would; its wall time in seconds."""
    env = dict(os.environ, **({"CUDA_VISIBLE_DEVICES": gpu} if gpu is not None else {}))
    shutil.rmtree(out, ignore_errors=True)
    begin = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "wgan", "sweep", "--config", RECIPES["mnist"], "--out", out,
                           "--no-eval", "--no-progress", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - begin
    if done.returncode != 0:
        raise RuntimeError(f"sweep {out} exited {done.returncode}: {done.stderr[-2000:]}")
    return wall


def spread(steps: int, root: str) -> list[dict]:
    gpus = torch.cuda.device_count()
    common = ["system.precision=tf32", "system.channels_last=true", f"train.steps={steps}", "log.log_every=100",
              "log.sample_every=100000", "log.checkpoint_every=100000", *SPREAD_GRID]
    runs = len(parse_grid(SPREAD_GRID).runs())
    one = _sweep_cli(os.path.join(root, "one_gpu"), "--parallel", "16", *common, gpu="0")
    many = _sweep_cli(os.path.join(root, "all_gpus"), "--processes", "gpus", "--parallel", "16", *common)
    rows = [{"what": "speed", "gpus": 1, "runs": runs, "steps_per_run": steps, "wall_s": one,
             "aggregate_steps_s": runs * steps / one},
            {"what": "speed", "gpus": gpus, "runs": runs, "steps_per_run": steps, "wall_s": many,
             "aggregate_steps_s": runs * steps / many, "ratio_vs_one_gpu": one / many}]
    for row in rows:
        print(f"{runs} runs x {steps} steps on {row['gpus']} GPU(s): {row['wall_s']:.1f} s, "
              f"{row['aggregate_steps_s']:.1f} run-steps/s" +
              (f", {row['ratio_vs_one_gpu']:.2f}x one GPU" if "ratio_vs_one_gpu" in row else ""), flush=True)
    same_args = ["system.precision=fp32", "system.deterministic=true", "train.steps=20", "log.log_every=1",
                 "log.sample_every=100000", "log.checkpoint_every=100000", "train.lr=5e-5,2e-4", "train.seed=0,1"]
    _sweep_cli(os.path.join(root, "same_spread"), "--processes", "gpus", *same_args)
    _sweep_cli(os.path.join(root, "same_alone"), "--parallel", "1", *same_args, gpu="0")
    equal = True
    for name in sorted(os.listdir(os.path.join(root, "same_alone"))):
        alone = os.path.join(root, "same_alone", name)
        if not os.path.isdir(alone):
            continue
        a = read_checkpoint(RunDir(os.path.join(root, "same_spread", name)).checkpoint(20))
        b = read_checkpoint(RunDir(alone).checkpoint(20))
        equal &= final_states_equal(a, b)
    rows.append({"what": "same", "gpus": gpus, "runs": 4, "steps": 20, "deterministic": True,
                 "final_weights_bitwise_equal": equal})
    print(f"4 runs spread over {gpus} GPU(s) vs each alone on GPU 0 (fp32, deterministic, 20 steps): final weights, "
          f"optimiser states and weight average bitwise equal: {equal}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("speed", "same", "spread"))
    parser.add_argument("--k", default="1,16", help="comma list of runs at once; 1 (alone) first")
    parser.add_argument("--steps", type=int, default=400, help="generator steps per run")
    parser.add_argument("--recipes", default="mnist,mnist_paper")
    parser.add_argument("--precisions", default="tf32,bf16")
    parser.add_argument("--root", default="runs/sweep_speed", help="scratch folder for the run directories")
    parser.add_argument("--out", help="write the rows as JSON here")
    parser.add_argument("--modes", default="false,true", help="same: system.deterministic values to check")
    parser.add_argument("overrides", nargs="*", help="same: overrides for every run (e.g. another objective)")
    args = parser.parse_intermixed_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark measures the GPU path", file=sys.stderr)
        return 2
    card = torch.cuda.get_device_name(0)
    print(f"card: {card} | torch {torch.__version__}", flush=True)
    if args.what == "spread":
        result = spread(args.steps, args.root)
    elif args.what == "speed":
        result = speed([int(k) for k in args.k.split(",")], args.steps, args.recipes.split(","),
                       args.precisions.split(","), args.root)
    else:
        result = same(args.root, extra=tuple(args.overrides), modes=tuple(args.modes.split(",")))
    if args.out:
        write_json(args.out, {"card": card, "torch": torch.__version__, "what": args.what, "rows": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
