"""Shared test helpers: tiny-model overrides and runners for scripts/train.py in a subprocess.

Only generic helpers live here; each test module keeps its own specifics.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_SCRIPT = os.path.join(REPO, "scripts", "train.py")

# The test machines have few cores shared by several processes: one intra-op thread per process
# is several times faster than two contending ones, and makes CPU results identical in- and
# out-of-process (the subprocess runners below set the same).
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

# A model and data small enough that a generator step takes milliseconds on one CPU core:
# MNIST's test split (10,000 images, shipped in data/MNIST/raw) at 16x16, widths 4, batch 8.
TINY_ARGS = ["data.image_size=16", "model.g_width=4", "model.c_width=4", "model.z_dim=8", "train.batch_size=8",
             "system.device=cpu", "data.split=test", f"data.root={os.path.join(REPO, 'data')}",
             "log.progress=false"]


@pytest.fixture(scope="session")
def tiny_args() -> list[str]:
    """Overrides for a tiny CPU run, without run.dir."""
    return list(TINY_ARGS)


@pytest.fixture(scope="session")
def mnist_test():
    """The bundled MNIST test split (10,000 images), loaded once per test session."""
    from wgan.data import load_mnist
    return load_mnist(os.path.join(REPO, "data"), "test")


@pytest.fixture
def tiny_overrides(tmp_path) -> list[str]:
    """Overrides for a tiny CPU run in ``tmp_path/run``."""
    return TINY_ARGS + [f"run.dir={tmp_path / 'run'}"]


def subprocess_env(**extra: str) -> dict:
    """The environment for a child Python: one thread, unbuffered output, the package importable."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def _train_command(args: list[str], code: str | None) -> list[str]:
    if code is None:
        return [sys.executable, TRAIN_SCRIPT, *args]
    return [sys.executable, "-c", code, *args]


def run_train_process(args: list[str], *, cwd: str = REPO, timeout: float = 180, code: str | None = None,
                      env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``scripts/train.py ARGS`` to completion; returns the CompletedProcess (text stdout/stderr).

    ``code`` replaces the script by ``python -c CODE ARGS`` (e.g. a driver that injects a fault and
    then calls wgan.cli.train_main(sys.argv[1:])).
    """
    return subprocess.run(_train_command(args, code), cwd=cwd, env=env or subprocess_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def start_train_process(args: list[str], *, cwd: str = REPO, code: str | None = None,
                        env: dict | None = None) -> subprocess.Popen:
    """Start ``scripts/train.py ARGS`` in the background (stdout and stderr piped, text mode)."""
    return subprocess.Popen(_train_command(args, code), cwd=cwd, env=env or subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def child_env():
    """``child_env(**extra)``: the environment for a child Python (see subprocess_env)."""
    return subprocess_env


@pytest.fixture(scope="session")
def run_train():
    """``run_train(args, cwd=..., timeout=..., code=..., env=...)``: see run_train_process."""
    return run_train_process


@pytest.fixture(scope="session")
def start_train():
    """``start_train(args, cwd=..., code=..., env=...)``: see start_train_process."""
    return start_train_process


# ------------------------------------------------------------------ runs for the fault tests
@pytest.fixture
def make_trainer(tiny_args, mnist_test):
    """make_trainer(run_dir, *overrides) -> (Trainer, echoed lines), on MNIST's test split."""
    from wgan.config import load_config
    from wgan.trainer import Trainer

    def make(run_dir, *extra):
        lines = []
        cfg = load_config(None, tiny_args + [f"run.dir={run_dir}", *extra])
        return Trainer(cfg, mnist_test, echo=lines.append), lines
    return make


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, tiny_args, mnist_test):
    """A finished 6-step run with checkpoints at steps 2, 4 and 6; copy it before changing it."""
    from helpers import SHORT

    from wgan.checkpoint import list_checkpoints
    from wgan.config import load_config
    from wgan.trainer import Trainer
    run_dir = tmp_path_factory.mktemp("base") / "run"
    cfg = load_config(None, tiny_args + [f"run.dir={run_dir}", *SHORT])
    Trainer(cfg, mnist_test, echo=lambda _: None).run()
    assert [s for s, _ in list_checkpoints(str(run_dir))] == [2, 4, 6]
    return run_dir


@pytest.fixture
def run_copy(base_run, tmp_path):
    """A copy of base_run in tmp_path/run, free to damage."""
    import shutil
    target = tmp_path / "run"
    shutil.copytree(base_run, target)
    return target


@pytest.fixture
def disk(tmp_path):
    """A real 2 MiB tmpfs at ``tmp_path/disk`` (a helpers.SmallDisk), unmounted afterwards; the test
    is skipped, with the reason, where mounting is not permitted."""
    from helpers import small_disk
    with small_disk(str(tmp_path / "disk")) as mounted:
        yield mounted
