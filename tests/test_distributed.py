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
        "system.device=cpu", "train.n_critic=3", "log.progress=false", "log.log_every=2", "log.checkpoint_every=4",
        "log.sample_every=4", "system.check_replicas=true", f"data.root={os.path.join(REPO, 'data')}"]


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
    assert "2 processes x batch 8 = global batch 16" in first.stdout
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
