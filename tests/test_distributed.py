"""torchrun with 2 gloo processes on CPU: identical replicas, one writer, resume (same and other world size)."""

import os
import re
import subprocess
import sys

import torch

from wgan.checkpoint import list_checkpoints, read_checkpoint
from wgan.data import RealSampler

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["data.image_size=16", "model.g_width=4", "model.c_width=4", "model.z_dim=8", "train.batch_size=8",
        "train.device=cpu", "train.n_critic=3", "log.progress=false", "log.log_every=2", "log.checkpoint_every=4",
        "log.sample_every=4", "train.check_replicas=true", f"data.root={os.path.join(REPO, 'data')}"]


def torchrun(nproc, run_dir, steps):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           os.path.join(REPO, "scripts", "train.py"), *TINY, f"train.steps={steps}", f"run.dir={run_dir}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=240)


def test_two_gloo_ranks_train_identically_and_resume(tmp_path):
    run_dir = tmp_path / "run"
    first = torchrun(2, run_dir, 4)
    assert first.returncode == 0, first.stderr[-2000:]
    # check_replicas compared parameter checksums of both ranks at steps 2 and 4 (it raises otherwise)
    assert re.search(r"all-reduces per generator step: 4\.0", first.stdout), first.stdout[-1000:]
    assert first.stdout.count("resolved config") == 1               # only rank 0 speaks
    assert [s for s, _ in list_checkpoints(run_dir)] == [4]
    state = read_checkpoint(list_checkpoints(run_dir)[-1][1])
    assert state["world_size"] == 2 and len(state["rng"]["ranks"]) == 2
    assert not torch.equal(state["rng"]["ranks"][0]["noise"], state["rng"]["ranks"][1]["noise"])

    again = torchrun(2, run_dir, 8)                                   # same world size: exact resume
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming" in again.stdout and "generator step 4" in again.stdout
    assert [s for s, _ in list_checkpoints(run_dir)] == [4, 8]

    single = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train.py"), *TINY, "train.steps=10",
                             f"run.dir={run_dir}"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert single.returncode == 0, single.stderr[-2000:]
    assert "resuming with 1" in single.stdout                        # world size changed: noise re-derived
    assert read_checkpoint(list_checkpoints(run_dir)[-1][1])["step"] == 10


def test_ranks_take_disjoint_slices_of_one_permutation():
    images = torch.arange(24, dtype=torch.uint8).view(24, 1, 1, 1).expand(24, 1, 16, 16).contiguous()
    seen = []
    for rank in range(2):
        sampler = RealSampler(images, 16, 4, torch.device("cpu"), seed=3, rank=rank, world_size=2)
        seen.append(torch.cat([sampler.next_indices() for _ in range(3)]))
    assert sorted(torch.cat(seen).tolist()) == list(range(24))       # one epoch, split between ranks


def _averager_worker(rank: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    from wgan.distributed import DistContext, GradientAverager
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)                       # same weights on both ranks
        net = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                  torch.nn.ReLU(), torch.nn.Linear(32, 1))
        unused = torch.nn.Parameter(torch.ones(3))  # never gets a gradient: its bucket starts late
        params = [unused, *net.parameters()]
        averager = GradientAverager(params, DistContext(rank=rank, world_size=2), bucket_bytes=512)
        results = {"buckets": [len(b) for b in averager.buckets]}
        for step in range(2):
            torch.manual_seed(100 + rank * 10 + step)   # different data per rank
            for p in params:
                p.grad = None if step == 0 else torch.zeros_like(p)
            net(torch.randn(16, 6)).pow(2).mean().backward()
            results[f"started_during_backward_{step}"] = len(averager._works)
            own = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]
            averager()
            mine = torch.cat([g.reshape(-1) for g in own])
            both = [torch.empty_like(mine) for _ in range(2)]
            dist.all_gather(both, mine)
            results[f"expected_{step}"] = (both[0] + both[1]) / 2
            results[f"averaged_{step}"] = torch.cat([p.grad.reshape(-1) for p in params])
        results["calls"] = averager.calls
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_bucketed_averaging_starts_during_backward_and_gives_the_mean(tmp_path):
    import torch.multiprocessing as mp
    mp.spawn(_averager_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    first = ranks[0]
    assert len(first["buckets"]) >= 3                   # 512-byte buckets split this net
    n_buckets = len(first["buckets"])
    for step in range(2):
        # every bucket but the one holding the gradient-less parameter started inside backward()
        assert first[f"started_during_backward_{step}"] == n_buckets - 1
        for r in ranks:
            torch.testing.assert_close(r[f"averaged_{step}"], r[f"expected_{step}"], rtol=1e-6, atol=1e-7)
        assert torch.equal(ranks[0][f"averaged_{step}"], ranks[1][f"averaged_{step}"])   # bitwise replicas
    assert first["calls"] == 2 * n_buckets
