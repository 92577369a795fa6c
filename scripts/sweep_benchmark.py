"""Aggregate speed of K runs trained as one grouped network (wgan/grouped.py) vs one run alone.

For each recipe (configs/mnist.yaml: 32x32, width 96; configs/mnist_paper.yaml: 64x64, width 64)
and precision (tf32, bf16): generator steps/s of one run alone (the package's trainer, CUDA graphs,
channels_last), then of K runs that differ in learning rate, clip value and seed trained
together, reported as aggregate run-steps/s (K x group steps/s) and the ratio. Then, in fp32 with
deterministic cuDNN, K=4 grouped runs against the same 4 configs trained alone for 20 generator
steps: each run's data order and noise streams must match exactly, its weights within float
tolerance (the largest relative difference is printed). The weight average (train.ema) is off in
both, so the ratio compares the training steps themselves.

    python scripts/sweep_benchmark.py --k 16 --steps 100
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import torch

from wgan.config import load_config
from wgan.data import load_mnist
from wgan.files import write_json
from wgan.grouped import GroupedRuns
from wgan.trainer import GRAPH_WARMUP_STEPS, Trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "data")
RECIPES = {"mnist": "configs/mnist.yaml", "mnist_paper": "configs/mnist_paper.yaml"}


def configs(recipe: str, k: int, precision: str, extra=()) -> list:
    """K configs of ``recipe`` with different lr, clip and seed (the grid a sweep would make)."""
    grid = itertools.product([5e-5, 1e-4, 2e-4, 4e-4], [0.01, 0.02], range(max(1, k // 8)))
    out = []
    for lr, clip, seed in itertools.islice(grid, k):
        out.append(load_config(os.path.join(REPO, RECIPES[recipe]), [
            f"train.lr={lr}", f"train.clip={clip}", f"train.seed={seed}", "train.ema=0", "train.steps=100000",
            f"system.precision={precision}", "system.channels_last=true", "log.progress=false",
            f"run.dir=runs/sweep_bench/{lr}_{clip}_{seed}", *extra]))
    return out


def sync() -> None:
    torch.cuda.synchronize()


def solo_rate(cfg, mnist, steps: int) -> float:
    trainer = Trainer(cfg, mnist, echo=lambda _: None)
    for _ in range(GRAPH_WARMUP_STEPS):
        trainer._eager_warmup_step()
    trainer.capture_graphs()
    for _ in range(10):
        trainer.train_step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync()
    return steps / (time.perf_counter() - start)


def group_rate(cfgs, mnist, steps: int) -> tuple[float, float]:
    torch.cuda.reset_peak_memory_stats()
    group = GroupedRuns(cfgs, mnist)
    for _ in range(13):                 # 3 eager warm-up steps, capture, 10 replayed
        group.train_step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        group.train_step()
    sync()
    rate = steps / (time.perf_counter() - start)
    return rate, torch.cuda.max_memory_allocated() / 2**20


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30))


def equality(mnist, steps: int = 20, layout: str = "channels_last") -> dict:
    """K=4 grouped runs and the same 4 configs alone, stepped side by side: data order and noise
    must be identical; the largest relative weight difference over all runs is kept per step, to
    tell rounding that RMSprop amplifies (it starts near 1e-7 and grows) from a wrong update."""
    nhwc = str(layout == "channels_last").lower()
    cfgs = configs("mnist", 4, "fp32", extra=("system.deterministic=true", f"system.channels_last={nhwc}"))
    group = GroupedRuns(cfgs, mnist)
    solos = [Trainer(cfg, mnist, echo=lambda _: None) for cfg in cfgs]
    per_step, same_data = [], True
    for step in range(steps):
        group.train_step()
        for solo in solos:
            if step < GRAPH_WARMUP_STEPS:
                solo._eager_warmup_step()
            else:
                if solo._graphs is None:
                    solo.capture_graphs()
                solo.train_step()
        worst = 0.0
        for run, solo in enumerate(solos):
            gen, critic = group.run_weights(run)
            for ours, theirs in ((gen, solo.generator.state_dict()), (critic, solo.critic.state_dict())):
                for key, value in theirs.items():
                    if value.is_floating_point():
                        worst = max(worst, relative(ours[key].cpu(), value.cpu()))
        per_step.append(worst)
    for run, solo in enumerate(solos):
        same_data &= bool(torch.equal(group.samplers[run].perm, solo.sampler.perm)
                          and group.samplers[run].cursor == solo.sampler.cursor
                          and torch.equal(group.noise[run].get_state(), solo.noise.get_state()))
    return {"runs": len(cfgs), "steps": steps, "layout": layout, "data_and_noise_identical": same_data,
            "max_relative_weight_diff": per_step[-1], "max_relative_weight_diff_per_step": per_step}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=16, help="runs trained together")
    parser.add_argument("--steps", type=int, default=100, help="timed group steps (the solo run times 2x as many)")
    parser.add_argument("--out", help="write the table as JSON here")
    parser.add_argument("--equality-only", action="store_true", help="only the grouped-vs-alone check")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark measures the GPU path", file=sys.stderr)
        return 2
    mnist = load_mnist(DATA, "train")
    card = torch.cuda.get_device_name(0)
    print(f"card: {card} | torch {torch.__version__} | K = {args.k} runs (lr x clip x seed), train.ema=0")
    rows = []
    for recipe in () if args.equality_only else ("mnist", "mnist_paper"):
        for precision in ("tf32", "bf16"):
            cfgs = configs(recipe, args.k, precision)
            solo = solo_rate(cfgs[0], mnist, 2 * args.steps)
            rate, mib = group_rate(cfgs, mnist, args.steps)
            rows.append({"recipe": recipe, "precision": precision, "k": args.k, "solo_steps_s": solo,
                         "group_steps_s": rate, "aggregate_steps_s": rate * args.k,
                         "ratio": rate * args.k / solo, "per_run_vs_alone": rate / solo, "peak_mib": mib})
            r = rows[-1]
            print(f"{recipe:<12} {precision:<5} alone {solo:7.1f} steps/s | {args.k} grouped: {rate:6.1f} group "
                  f"steps/s = {r['aggregate_steps_s']:7.1f} run-steps/s = {r['ratio']:.2f}x | each run at "
                  f"{r['per_run_vs_alone']:.2f}x its solo speed | peak {mib:,.0f} MiB", flush=True)
    checks = [equality(mnist, layout=layout) for layout in ("channels_last", "contiguous")]
    for check in checks:
        print(f"fp32, deterministic cuDNN, {check['layout']}, {check['runs']} grouped runs vs alone, {check['steps']} "
              f"steps: data order and noise identical: {check['data_and_noise_identical']}; max relative weight "
              f"difference {check['max_relative_weight_diff']:.2e}; per step: "
              + " ".join(f"{v:.1e}" for v in check["max_relative_weight_diff_per_step"]))
    if args.out:
        write_json(args.out, {"card": card, "torch": torch.__version__, "rows": rows, "equality": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
