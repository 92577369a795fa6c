"""Small builders shared by several test modules (imported as ``helpers``: tests/ is on sys.path)."""

import contextlib
import errno
import io
import os
import time

import pytest
import torch

from wgan import files
from wgan.checkpoint import list_checkpoints, read_checkpoint
from wgan.models import Generator

Z_DIM = 8


def tiny_generator(channels=1, size=16, seed=0):
    """A random generator whose images have contrast (DCGAN init alone gives flat grey)."""
    torch.manual_seed(seed)
    gen = Generator(size, channels, Z_DIM, 4)
    norms = [m for m in gen.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        gen.net[-2].weight.normal_(0.0, 0.3)
        for norm in norms:              # running stats = this batch's statistics exactly
            norm.momentum = None
        gen(torch.randn(64, Z_DIM))
        for norm in norms:
            norm.momentum = 0.1
    return gen.eval()


# ------------------------------------------------------------------ fault tests (runs, checkpoints)
# In-process runs: 6 generator steps, a checkpoint every 2 (so step_2, step_4, step_6 on disk).
SHORT = ["train.steps=6", "log.checkpoint_every=2", "log.log_every=2", "log.sample_every=1000",
         "log.keep_checkpoints=3"]


def newest_step(run_dir) -> int:
    found = list_checkpoints(str(run_dir))
    return found[-1][0] if found else 0


def temp_files(run_dir) -> list:
    folder = os.path.join(str(run_dir), "checkpoints")
    return sorted(n for n in os.listdir(folder) if n.startswith(".tmp_")) if os.path.isdir(folder) else []


def snapshot(run_dir) -> dict:
    """Every file of a run directory with its size and modification time."""
    out = {}
    for folder, _, names in os.walk(str(run_dir)):
        for name in names:
            path = os.path.join(folder, name)
            info = os.stat(path)
            out[os.path.relpath(path, str(run_dir))] = (info.st_size, info.st_mtime_ns)
    return out


def wait_until(predicate, proc=None, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"training exited ({proc.returncode}) before {what}:\n{out[-2000:]}\n{err[-2000:]}")
        time.sleep(0.005)
    pytest.fail(f"timed out waiting for {what}")


def tensors_equal(a, b) -> bool:
    """Bitwise equality of nested state dicts."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(tensors_equal(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_weights(path_a, path_b):
    a, b = read_checkpoint(str(path_a)), read_checkpoint(str(path_b))
    assert a["step"] == b["step"]
    for key in ("generator", "critic", "opt_g", "opt_c"):
        assert tensors_equal(a[key], b[key]), f"{key} differs between {path_a} and {path_b}"


def all_finite(state) -> bool:
    return all(bool(torch.isfinite(t).all()) for part in ("generator", "critic")
               for t in state[part].values() if t.is_floating_point())


@contextlib.contextmanager
def captured():
    """stdout and stderr of in-process train_main calls, as StringIO objects."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


class OsProxy:
    """Stands in for the ``os`` module inside one wgan module, overriding a few functions."""

    def __init__(self, **overrides):
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(os, name)


def fail_second_checkpoint(monkeypatch, where):
    """Make the second checkpoint write fail like a full disk at ``where``.

    The fsync and rename faults go into wgan.files, the writer that checkpoints share with the
    config and metrics files; they count checkpoint files (``.pt``) only.
    """
    calls = {"n": 0}
    real_save, real_fsync, real_replace = torch.save, os.fsync, os.replace

    def second():
        calls["n"] += 1
        return calls["n"] == 2

    def save(obj, f, *args, **kwargs):
        if second():
            f.write(b"\0" * 1000)                  # part of the file made it to disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *args, **kwargs)

    def fsync(fd):
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(".tmp_") and name.endswith(".pt") and second():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fsync(fd)

    def replace(src, dst):
        if dst.endswith(".pt") and second():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    if where == "torch.save":
        monkeypatch.setattr(torch, "save", save)
    elif where == "fsync":
        monkeypatch.setattr(files, "os", OsProxy(fsync=fsync))
    else:
        monkeypatch.setattr(files, "os", OsProxy(replace=replace))


# ------------------------------------------------------------------ a real small filesystem
class SmallDisk:
    """A real tmpfs mounted at ``path`` whose free space the test sets with ``leave(n)``.

    ``leave`` (re)writes a dummy file ``path/.fill`` so that about ``n`` bytes stay free: the
    writes that follow fail with the kernel's own ENOSPC, not a stub's.
    """

    FILL = ".fill"

    def __init__(self, path: str):
        self.path = path

    def free(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def leave(self, n: int) -> None:
        fill = os.path.join(self.path, self.FILL)
        if os.path.exists(fill):
            os.unlink(fill)
        size = max(0, self.free() - n)
        with open(fill, "wb") as handle:
            try:
                handle.write(b"\0" * size)
                handle.flush()
            except OSError:         # n == 0: the fill itself runs out of space, as intended
                pass

    def unfill(self) -> None:
        """Free the space the dummy file took ("the user freed some disk space")."""
        fill = os.path.join(self.path, self.FILL)
        if os.path.exists(fill):
            os.unlink(fill)


@contextlib.contextmanager
def small_disk(folder: str, size: str = "2m"):
    """Mount a tmpfs of ``size`` at ``folder`` for the block; skip the test when mounting is not
    permitted (not root, a container without CAP_SYS_ADMIN, no ``mount``)."""
    import shutil
    import subprocess

    os.makedirs(folder, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the real disk-full tests need a small tmpfs")
    if os.geteuid() != 0:
        pytest.skip("not root: mounting a small tmpfs for the real disk-full tests needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", folder],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip() or done.returncode})")
    try:
        yield SmallDisk(folder)
    finally:
        subprocess.run(["umount", "-l", folder], capture_output=True)
