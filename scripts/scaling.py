#!/usr/bin/env python3
"""Weak scaling under torchrun: critic images/s at a fixed per-GPU batch for 1..N GPUs.

    python scripts/scaling.py --gpus 1 2 4 [--batch 256] [--steps 300] [--modes graphs eager] [--out scaling.json]

Each world size trains configs/mnist_paper.yaml (64x64 MNIST) for --steps generator steps with
`torchrun --standalone --nproc_per_node=N`, once per mode (`graphs`: CUDA graphs with the NCCL
all-reduces captured in them, the default; `eager`: system.cuda_graphs=false), and reports the
median of the logged `images_per_sec` (all ranks together) after the first third of the run;
speed-ups are against one GPU in the same mode. NCCL settings are whatever the environment holds (printed).
``--comm`` first times a bare NCCL all-reduce of the 64x64 critic's and generator's flat
gradient buffers (10.5 and 13.6 MiB) at each world size: what the interconnect costs a step.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from wgan.files import write_json
from wgan.rundir import RunDir


def run(nproc: int, batch: int, steps: int, graphs: bool) -> float:
    run_dir = tempfile.mkdtemp(prefix=f"scale{nproc}-")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           os.path.join(REPO, "scripts", "train.py"), "--config", os.path.join(REPO, "configs", "mnist_paper.yaml"),
           f"train.batch_size={batch}", f"train.steps={steps}", f"system.cuda_graphs={str(graphs).lower()}",
           "log.progress=false", f"log.log_every={max(1, steps // 15)}", f"log.checkpoint_every={steps}",
           f"log.sample_every={steps}", f"run.dir={run_dir}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{nproc} GPUs ({'graphs' if graphs else 'eager'}) failed:\n{done.stderr[-3000:]}")
    rows = RunDir(run_dir).read_metrics()
    rates = [r["images_per_sec"] for r in rows if "images_per_sec" in r and r["step"] > steps // 3]
    return statistics.median(rates)


COMM_BUCKETS_MIB = (10.55, 13.64)   # one all-reduce per optimiser step: critic, generator (64x64, width 64)


def comm_worker() -> None:
    """Under torchrun: microseconds per all-reduce of each bucket size, printed by rank 0."""
    import torch
    import torch.distributed as dist
    rank = int(os.environ["RANK"])
    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl")
    out = {}
    for mib in COMM_BUCKETS_MIB:
        buf = torch.ones(int(mib * 2**20 / 4), device="cuda")
        for _ in range(10):
            dist.all_reduce(buf)
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(100):
            dist.all_reduce(buf)
        end.record()
        torch.cuda.synchronize()
        out[mib] = start.elapsed_time(end) * 1000 / 100
    if rank == 0:
        print("COMM " + json.dumps(out))
    dist.destroy_process_group()


def comm(nproc: int) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           os.path.abspath(__file__), "--comm-worker"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("COMM ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"all-reduce timing on {nproc} GPUs failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[0][5:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch", type=int, default=256, help="per-GPU batch")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--modes", nargs="+", choices=["graphs", "eager"], default=["graphs", "eager"])
    parser.add_argument("--out")
    parser.add_argument("--comm", action="store_true", help="also time bare all-reduces of the bucket sizes")
    parser.add_argument("--comm-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.comm_worker:
        comm_worker()
        return 0
    nccl = {k: v for k, v in os.environ.items() if k.startswith(("NCCL_", "TORCH_SYMM", "NVSHMEM"))}
    print("NCCL environment:", nccl)
    timings = {}
    if args.comm:
        for n in args.gpus:
            if n > 1:
                timings[n] = comm(n)
                print(f"{n} GPUs: all-reduce " + ", ".join(f"{mib} MiB {us:.0f} us" for mib, us in timings[n].items()))
    results = {mode: {n: run(n, args.batch, args.steps, mode == "graphs") for n in args.gpus} for mode in args.modes}
    print(f"{'mode':>6} {'GPUs':>4} {'critic images/s':>16} {'speed-up':>9} {'efficiency':>10}")
    for mode, rates in results.items():
        base = rates[args.gpus[0]] / args.gpus[0]
        for n, rate in rates.items():
            print(f"{mode:>6} {n:>4} {rate:>16,.0f} {rate / base:>9.2f} {rate / base / n:>10.2f}")
    if args.out:
        write_json(args.out, {"per_gpu_batch": args.batch, "steps": args.steps, "nccl_env": nccl,
                              "images_per_sec": results, "allreduce_us": timings}, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
