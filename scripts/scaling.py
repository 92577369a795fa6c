#!/usr/bin/env python3
"""Weak scaling under torchrun: critic images/s at a fixed per-GPU batch for 1..N GPUs.

    python scripts/scaling.py --gpus 1 2 4 [--batch 256] [--steps 300] [--out scaling.json]

Each world size trains configs/mnist.yaml (64x64 MNIST) for --steps generator steps with
`torchrun --standalone --nproc_per_node=N`, CUDA graphs off in every row (they are off under
torchrun), and reports the median of the logged `images_per_sec` (all ranks together) after
the first third of the run. NCCL settings are whatever the environment holds (printed).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(nproc: int, batch: int, steps: int) -> float:
    run_dir = tempfile.mkdtemp(prefix=f"scale{nproc}-")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           os.path.join(REPO, "scripts", "train.py"), "--config", os.path.join(REPO, "configs", "mnist.yaml"),
           f"train.batch_size={batch}", f"train.steps={steps}", "train.cuda_graphs=false", "log.progress=false",
           f"log.log_every={max(1, steps // 15)}", f"log.checkpoint_every={steps}", f"log.sample_every={steps}",
           f"run.dir={run_dir}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{nproc} GPUs failed:\n{done.stderr[-3000:]}")
    with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
        rows = [json.loads(line) for line in handle]
    rates = [r["images_per_sec"] for r in rows if "images_per_sec" in r and r["step"] > steps // 3]
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch", type=int, default=256, help="per-GPU batch")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out")
    args = parser.parse_args()
    nccl = {k: v for k, v in os.environ.items() if k.startswith(("NCCL_", "TORCH_SYMM", "NVSHMEM"))}
    print("NCCL environment:", nccl)
    results = {n: run(n, args.batch, args.steps) for n in args.gpus}
    base = results[args.gpus[0]] / args.gpus[0]
    print(f"{'GPUs':>4} {'critic images/s':>16} {'speed-up':>9} {'efficiency':>10}")
    for n, rate in results.items():
        print(f"{n:>4} {rate:>16,.0f} {rate / base:>9.2f} {rate / base / n:>10.2f}")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"per_gpu_batch": args.batch, "steps": args.steps, "nccl_env": nccl, "images_per_sec": results},
                      handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
