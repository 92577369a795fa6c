"""Pilot of issue 14's MNIST clipping recipe levers: named variants of configs/mnist.yaml trained
concurrently in one sweep (one H200), then FID 10k / classifier metrics of each (scripts/evaluate.py).

    python results/recipes/gpu_mnist_pilot.py --steps 16000 --inception FILE --out OUT

Every variant keeps weight clipping (objective wgan), the weight average and the 32x32 shape. The
n_critic 1 variants get 3x the generator steps: a generator step with n_critic 1 costs about a
third of one with n_critic 5, so the variants cost about the same. The numbers compare variants
at a short budget; the recipe is then trained at full length alone.
"""

import argparse
import os
import subprocess
import sys

from wgan.executor import RunSpec
from wgan.sweep import Axis, ConcurrentExecutor, Grid, SweepOptions, SweepPlan, plan_sweep, rename_run, run_sweep

VARIANTS = {
    "base": [],
    "decay_generator_only": ["train.lr_decay=linear-generator"],
    "critic_without_batchnorm": ["model.c_norm=none"],
    "width128": ["model.g_width=128", "model.c_width=128"],
    "n_critic1": ["train.n_critic=1"],
    "n_critic1_lr2e-4": ["train.n_critic=1", "train.lr=2e-4"],
}
COMMON = ["log.log_every=500", "log.sample_every=1000000", "log.checkpoint_every=1000000", "log.progress=false"]


def plan_variants(out: str, steps: int) -> SweepPlan:
    runs: list[RunSpec] = []
    for name, overrides in VARIANTS.items():
        n = steps * 3 if "train.n_critic=1" in overrides else steps
        grid = Grid(config="configs/mnist.yaml", fixed=[*COMMON, f"train.steps={n}", *overrides])
        run = rename_run(plan_sweep(grid, os.path.join(out, "_"), (0, 1)).runs[0], out, name)
        run.index, run.swept = len(runs), (("variant", name),)
        runs.append(run)
    # the summary has a column per axis of the plan's grid: "variant" labels the runs
    return SweepPlan(out, Grid(config="configs/mnist.yaml", axes=[Axis("variant", tuple(VARIANTS))]), runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=16000)
    parser.add_argument("--inception", required=True)
    parser.add_argument("--out", required=True, help="folder of the result files")
    parser.add_argument("--root", default="runs/pilot")
    args = parser.parse_args()
    plan = plan_variants(args.root, args.steps)
    result = run_sweep(plan, SweepOptions(evaluate=False, progress=False), ConcurrentExecutor(len(VARIANTS)))
    for o in result.outcomes.values():
        print(f"{o.name}: {o.status} at step {o.step}, {o.wall_s or 0:.0f} s concurrently, EM {o.em_distance}", flush=True)
    subprocess.run([sys.executable, "scripts/evaluate.py", *(r.run_dir for r in plan.runs), "--metrics",
                    "fid,modes,cfid", "--n", "10000", "--inception", args.inception, "--device", "cuda",
                    "--out", os.path.join(args.out, "pilot_eval.json")], check=True)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
