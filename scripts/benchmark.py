#!/usr/bin/env python3
"""Speed of the package trainer against a naive seed-style WGAN loop, in one process on one card.

    python scripts/benchmark.py [--steps 300] [--naive-steps 60] [--out bench.json] [--profile prof.txt]

Canonical config: MNIST 64x64, batch 64, n_critic 5, DCGAN width 64, z_dim 100, clip 0.01,
RMSprop 5e-5. Rows: the baseline (written here, labelled as such), the package trainer eager
and with CUDA graphs, each in fp32 and bf16, and critic throughput at batch 1024. Then a
correctness check: the same seed through the eager and the CUDA-graph path, losses compared
for 20 generator steps.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time

import torch

from wgan.config import load_config
from wgan.data import load_mnist
from wgan.files import write_json, write_text
from wgan.models import Critic, Generator
from wgan.trainer import GRAPH_WARMUP_STEPS, Trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "data")


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_mib() -> float:
    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else float("nan")


def reset_peak():
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# ----------------------------------------------------------------------------- the baseline
def torchvision_mnist_root() -> str:
    """torchvision's MNIST wants uncompressed IDX files in <root>/MNIST/raw (it cannot download here)."""
    root = tempfile.mkdtemp(prefix="bench-mnist-")
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(DATA, "MNIST", "raw", name + ".gz"), "rb") as src, \
                open(os.path.join(raw, name), "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def naive_loop(steps: int, warmup: int, device: torch.device, batch: int = 64, workers: int = 2) -> float:
    """The seed-style loop: DataLoader + PIL Resize, per-parameter clamp, fakes reused with
    retain_graph. Correct signs (critic minimises -EM, generator -C(G(z))). Returns gen steps/s."""
    import torchvision.transforms as T
    from torch.utils.data import DataLoader
    from torchvision.datasets import MNIST

    tf = T.Compose([T.Resize(64), T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    dataset = MNIST(torchvision_mnist_root(), train=True, download=False, transform=tf)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)
    netG, netD = Generator(64, 1, 100, 64).to(device), Critic(64, 1, 64, "batch").to(device)
    optG = torch.optim.RMSprop(netG.parameters(), lr=5e-5)
    optD = torch.optim.RMSprop(netD.parameters(), lr=5e-5)
    data_iter = iter(loader)

    def next_batch():
        nonlocal data_iter
        try:
            return next(data_iter)[0]
        except StopIteration:
            data_iter = iter(loader)
            return next(data_iter)[0]

    start = None
    for step in range(warmup + steps):
        if step == warmup:
            sync()
            start = time.perf_counter()
        for p in netD.parameters():
            p.requires_grad = True
        for _ in range(5):
            for p in netD.parameters():          # per-parameter Python clamp loop
                p.data.clamp_(-0.01, 0.01)
            real = next_batch().to(device)
            optD.zero_grad()
            noise = torch.randn(batch, 100, device=device)
            fake = netG(noise)
            err_real = netD(real).mean()
            err_fake = netD(fake.detach()).mean()
            loss_d = err_fake - err_real
            loss_d.backward(retain_graph=True)   # seed style: keeps the graph alive for reuse
            optD.step()
            em = -loss_d.item()                   # seed prints every iteration: a sync per step
        for p in netD.parameters():
            p.requires_grad = False
        optG.zero_grad()
        loss_g = -netD(fake).mean()              # reuses the last critic step's fakes
        loss_g.backward()
        optG.step()
        _ = loss_g.item() + em
    sync()
    return steps / (time.perf_counter() - start)


# ----------------------------------------------------------------------------- the package
def make_trainer(mnist, batch: int, precision: str, graphs: bool, seed: int = 0, nhwc: bool = False,
                 extra: tuple = ()) -> Trainer:
    cfg = load_config(os.path.join(REPO, "configs", "mnist_paper.yaml"),
                      [f"train.batch_size={batch}", f"system.precision={precision}",
                       f"system.cuda_graphs={str(graphs).lower()}", f"train.seed={seed}", "run.dir=runs/bench",
                       f"system.channels_last={str(nhwc).lower()}",
                       # The canonical recipe, which configs/mnist_paper.yaml also holds.
                       "train.lr=5e-5", "train.optimizer=rmsprop", "train.n_critic=5", "train.clip=0.01",
                       "data.image_size=64", "model.g_width=64", "model.c_width=64", "model.z_dim=100",
                       "train.ema=0", *extra])
    return Trainer(cfg, mnist, echo=lambda _: None)


def advance(trainer: Trainer, steps: int) -> None:
    """Train ``steps`` generator steps the way Trainer.run does (eager warm-up, then capture)."""
    for _ in range(steps):
        if trainer.use_graphs and trainer._graphs is None:
            if trainer.step >= GRAPH_WARMUP_STEPS:
                trainer.capture_graphs()
            else:
                trainer._eager_warmup_step()
                continue
        trainer.train_step()


def time_trainer(mnist, batch, precision, graphs, steps, warmup=10, nhwc=False, extra=()) -> tuple[float, float]:
    reset_peak()
    trainer = make_trainer(mnist, batch, precision, graphs, nhwc=nhwc, extra=extra)
    advance(trainer, warmup)
    sync()
    start = time.perf_counter()
    advance(trainer, steps)
    sync()
    rate = steps / (time.perf_counter() - start)
    mem = peak_mib()
    del trainer
    return rate, mem


def loss_trace(mnist, graphs: bool, steps: int = 20) -> tuple[list[list[float]], list[torch.Tensor]]:
    """Per-step loss sums of 20 generator steps and the final generator weight average, with
    cuDNN restricted to deterministic algorithms so that the comparison measures the two code
    paths, not run-to-run atomics."""
    # Through the config: the trainer sets cuDNN's flags from system.deterministic when it is built.
    trainer = make_trainer(mnist, 64, "fp32", graphs, seed=123, extra=("train.ema=0.999", "system.deterministic=true"))
    trace = []
    for _ in range(steps):
        advance(trainer, 1)
        values = trainer.acc_critic[:2].tolist() + trainer.acc_gen.tolist()   # em, critic loss, gen loss sums
        trainer.acc_critic.zero_()
        trainer.acc_gen.zero_()
        trace.append(values)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True
    return trace, [p.detach().cpu().clone() for p in trainer.ema.module.parameters()]


def profile_eager(mnist, path: str) -> None:
    from torch.profiler import ProfilerActivity, profile
    trainer = make_trainer(mnist, 64, "fp32", False)
    advance(trainer, 5)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        advance(trainer, 20)
        sync()
    graph = make_trainer(mnist, 64, "bf16", True, nhwc=True)
    advance(graph, 10)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof_g:
        advance(graph, 20)
        sync()
    write_text(path, "== eager fp32, 20 generator steps ==\n"
               + prof.key_averages().table(sort_by="cuda_time_total", row_limit=25)
               + "\n== eager fp32 by CPU time ==\n"
               + prof.key_averages().table(sort_by="cpu_time_total", row_limit=15)
               + "\n== CUDA graphs bf16 channels_last, 20 generator steps ==\n"
               + prof_g.key_averages().table(sort_by="cuda_time_total", row_limit=25))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="timed generator steps per package row")
    parser.add_argument("--naive-steps", type=int, default=60, help="timed generator steps of the baseline")
    parser.add_argument("--big-steps", type=int, default=40, help="timed generator steps at batch 1024")
    parser.add_argument("--workers", type=int, default=2, help="baseline DataLoader workers")
    parser.add_argument("--out", help="write the table as JSON here")
    parser.add_argument("--profile", help="write a torch.profiler table here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark measures the GPU path", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    card = torch.cuda.get_device_name(0)
    print(f"card: {card} | torch {torch.__version__} | fp32 = TF32 off, tf32 = TF32 convs/matmuls, "
          f"bf16 = autocast; the baseline runs with PyTorch's defaults (cuDNN TF32 on)")
    mnist = load_mnist(DATA, "train")
    rows = []

    bases = []
    for tf32 in (False, True):
        torch.backends.cudnn.allow_tf32 = tf32     # True is PyTorch's default for convolutions
        reset_peak()
        rate = naive_loop(args.naive_steps, 5, device, workers=args.workers)
        bases.append(rate)
        rows.append({"variant": f"baseline: seed-style loop (DataLoader, {args.workers} workers)",
                     "precision": "tf32" if tf32 else "fp32", "batch": 64, "gen_steps_s": rate, "peak_mib": peak_mib()})
    base = max(bases)    # ratios are taken against the faster baseline: the conservative choice
    variants = [(False, False), (True, False), (True, True)]       # (CUDA graphs, channels_last)
    for batch, steps, warmup in ((64, args.steps, 10), (1024, args.big_steps, 5)):
        for graphs, nhwc in variants if batch == 64 else variants[1:]:
            for precision in ("fp32", "tf32", "bf16"):
                rate, mem = time_trainer(mnist, batch, precision, graphs, steps, warmup, nhwc)
                name = f"wgan trainer, {'CUDA graphs' if graphs else 'eager'}{', channels_last' if nhwc else ''}"
                rows.append({"variant": name, "precision": precision, "batch": batch, "gen_steps_s": rate,
                             "peak_mib": mem})
    for precision in ("tf32", "bf16"):        # what the generator weight average costs
        rate, mem = time_trainer(mnist, 64, precision, True, args.steps, 10, True, extra=("train.ema=0.999",))
        rows.append({"variant": "wgan trainer, CUDA graphs, channels_last, ema", "precision": precision,
                     "batch": 64, "gen_steps_s": rate, "peak_mib": mem})
    for row in rows:
        row["critic_images_s"] = row["gen_steps_s"] * 5 * row["batch"]
        row["ratio"] = row["gen_steps_s"] / base

    (eager, eager_avg), (graph, graph_avg) = loss_trace(mnist, False), loss_trace(mnist, True)
    rel = max(abs(a - b) / max(abs(a), 1e-12) for ra, rb in zip(eager, graph) for a, b in zip(ra, rb))
    avg_diff = max(float((a - b).abs().max()) for a, b in zip(eager_avg, graph_avg))

    header = f"{'variant':<52} {'prec':<5} {'batch':>5} {'gen steps/s':>11} {'critic img/s':>12} {'peak MiB':>9} {'x base':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['variant']:<52} {r['precision']:<5} {r['batch']:>5} {r['gen_steps_s']:>11.1f} "
              f"{r['critic_images_s']:>12,.0f} {r['peak_mib']:>9.0f} {r['ratio']:>7.2f}")
    print(f"eager vs CUDA graphs, fp32, seed 123, 20 generator steps: max relative loss difference {rel:.2e}")
    print(f"  first step eager {eager[0]} graphs {graph[0]}")
    print(f"  last step  eager {eager[-1]} graphs {graph[-1]}")
    print(f"  generator weight average (train.ema=0.999) after 20 steps: max absolute difference {avg_diff:.2e}")
    if args.out:
        write_json(args.out, {"card": card, "torch": torch.__version__, "rows": rows, "max_rel_loss_diff": rel,
                              "max_abs_average_diff": avg_diff, "eager_trace": eager, "graph_trace": graph},
                   indent=1)
    if args.profile:
        profile_eager(mnist, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
