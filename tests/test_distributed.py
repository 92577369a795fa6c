"""torchrun with 2 gloo processes on CPU: identical replicas, one writer, resume (same and other world size)."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
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


@pytest.mark.parametrize("launcher", ["torch.distributed.run", "wgan.launch"])
def test_sigterm_to_the_launcher_is_one_line_from_rank_0_and_resumes(tmp_path, launcher):
    """The launcher forwards SIGTERM to its workers: both finish the step and agree on one
    checkpoint; only rank 0 prints the error line (rank 1 has no checkpoint path to name).
    torchrun itself then exits 1 with its own traceback; wgan.launch exits 3 without one."""
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", launcher, "--standalone", "--nproc_per_node=2",
           os.path.join(REPO, "scripts", "train.py"), *TINY, "train.steps=100000", "log.checkpoint_every=2",
           f"run.dir={run_dir}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    deadline = time.monotonic() + 120
    while not list_checkpoints(run_dir) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert list_checkpoints(run_dir), "no checkpoint before the deadline"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    lines = [line for line in (out + err).splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "stopped by signal" in lines[0] and "checkpoint None" not in lines[0], out + err
    if launcher == "wgan.launch":
        assert proc.returncode == 3 and "Traceback" not in err, err[-2000:]
    step = list_checkpoints(run_dir)[-1][0]
    again = torchrun(2, run_dir, step + 2)                           # the same command resumes
    assert again.returncode == 0 and f"generator step {step}" in again.stdout, again.stderr[-2000:]


def test_a_failing_worker_is_its_own_exit_code_through_wgan_launch(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "wgan.launch", "--standalone", "--nproc_per_node=2",
                          os.path.join(REPO, "scripts", "train.py"), *TINY, "train.lr=-1",
                          f"run.dir={tmp_path / 'run'}"], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr[-2000:]
    assert "train.lr must be > 0" in bad.stderr


def test_one_process_under_torchrun_leaves_no_process_group_behind(monkeypatch):
    """torchrun with --nproc_per_node=1 joins a group of one (nothing to all-reduce); shutdown must
    still destroy it, or NCCL warns at exit that destroy_process_group() was never called."""
    import socket

    import torch.distributed as dist

    from wgan.distributed import from_environment, shutdown

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(key, value)
    ctx = from_environment("cpu")
    try:
        assert dist.is_initialized() and not ctx.enabled and ctx.world_size == 1
        shutdown(ctx)
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
