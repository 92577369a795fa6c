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


# ------------------------------------------------------------------ malformed exports (issue 16, class 6)
def write_export_file(path, tensors, *, raw: dict | None = None, **meta) -> str:
    """A safetensors file with wgan-export metadata ``meta`` (JSON-encoded) plus ``raw`` values as given."""
    import json

    from safetensors.torch import save
    md = {key: json.dumps(value) for key, value in meta.items()}
    md.update(raw or {})
    with open(path, "wb") as handle:
        handle.write(save(tensors, md))
    return str(path)


def malformed_exports(folder) -> dict:
    """case -> (path, text its one-line error must hold): exports that parse but lie, built for real."""
    gen = Generator(16, 1, Z_DIM, 4)
    sd = {k: v.contiguous() for k, v in gen.state_dict().items()}
    kwargs = gen.describe()
    meta = {"format": "wgan-generator", "format_version": 1, "generator": kwargs, "step": 5, "dataset": "mnist",
            "objective": "wgan", "dtype": "float32", "wgan_version": "0.1.0"}
    deep = "[" * 100_000 + "]" * 100_000

    def make(name, tensors=sd, raw=None, **changes):
        return write_export_file(os.path.join(str(folder), f"{name}.safetensors"), tensors, raw=raw,
                                 **dict(meta, **changes))
    return {
        "int64 weights": (make("int", {k: v.to(torch.int64) for k, v in sd.items()}), "holds int64 values"),
        "bool weights": (make("bool", {k: v > 0 for k, v in sd.items()}), "holds bool values"),
        "complex weights": (make("complex", {k: v.to(torch.complex64) if v.is_floating_point() else v
                                             for k, v in sd.items()}), "holds complex64 values"),
        "generator nested 100000 deep": (make("deep_gen", raw={"generator": deep}), "nested too deeply"),
        "step nested 100000 deep": (make("deep_step", raw={"step": deep}), "nested too deeply"),
        "format nested 100000 deep": (make("deep_format", raw={"format": deep}), "not a wgan generator export"),
        "image_size 2**1000": (make("huge", generator=dict(kwargs, image_size=2**1000)),
                               "image_size must be an integer from 16 to 4096"),
        "image_size 2**40": (make("huge40", generator=dict(kwargs, image_size=2**40)), "image_size must be"),
        "width 2**62": (make("wide", generator=dict(kwargs, width=2**62)), "width must be an integer"),
        "width 2**31-1 at 4096 px": (make("wide2", generator=dict(kwargs, width=2**31 - 1, image_size=4096)),
                                     "cannot build a generator"),
        "norm a number": (make("norm", generator=dict(kwargs, norm=5)), "norm must be a string"),
        "step a string": (make("step_str", step="abc"), "its step must be a whole number"),
        "step negative": (make("step_neg", step=-5), "its step must be a whole number"),
        "step NaN": (make("step_nan", raw={"step": "NaN"}), "its step must be a whole number"),
        "step of 5000 digits": (make("step_digits", raw={"step": "1" * 5000}), "is not valid JSON"),
        "dataset a list": (make("dataset", dataset=["mnist"]), "its dataset must be a short string"),
        "objective a mapping": (make("objective", objective={"a": 1}), "its objective must be a short string"),
        "dtype a list": (make("dtype", dtype=[1]), "its dtype must be one of"),
        "format_version true": (make("version", format_version=True), "not a version number"),
        "step not JSON": (make("step_text", raw={"step": "{bad"}), "is not valid JSON"),
    }
