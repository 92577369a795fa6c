"""wgan.files: the one atomic writer keeps the old file on failure and leaves no temporary file."""

import errno
import json
import math
import os
import stat

import pytest

from wgan import files
from wgan.files import TEMP_PREFIX, atomic_write, write_bytes, write_json, write_text


def leftovers(folder) -> list:
    return sorted(n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX))


class OsProxy:
    """Stands in for ``os`` inside wgan.files, overriding a few functions."""

    def __init__(self, **overrides):
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(os, name)


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("durable", [True, False])
def test_write_replaces_the_file_and_leaves_no_temp_file(tmp_path, durable):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    assert atomic_write(path, lambda handle: handle.write(b"new contents"), durable=durable) == str(path)
    assert path.read_bytes() == b"new contents"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("durable", [True, False])
def test_old_file_survives_a_failing_write(tmp_path, durable):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def torn(handle):
        handle.write(b"half of the new")
        full_disk()

    with pytest.raises(OSError) as err:
        atomic_write(path, torn, durable=durable)
    assert err.value.errno == errno.ENOSPC               # surfaces unchanged, for callers to word
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_old_file_survives_a_failing_fsync_and_rename(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old")
    for proxy in (OsProxy(fsync=full_disk), OsProxy(replace=full_disk)):
        monkeypatch.setattr(files, "os", proxy)
        with pytest.raises(OSError):
            write_text(path, "new")
        assert path.read_text() == "old"
        assert leftovers(tmp_path) == []


def test_not_durable_skips_every_fsync_but_still_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "os", OsProxy(fsync=lambda fd: pytest.fail("fsync with durable=False")))
    path = tmp_path / "grid.png"
    write_bytes(path, b"png", durable=False)
    assert path.read_bytes() == b"png"
    assert leftovers(tmp_path) == []


def test_durable_write_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real(fd)

    monkeypatch.setattr(files, "os", OsProxy(fsync=fsync))
    write_text(tmp_path / "config.yaml", "a: 1\n")
    assert synced == [False, True]                      # the file, then the folder holding the rename


def test_temp_file_sits_next_to_the_target_with_its_suffix(tmp_path):
    seen = []

    def write(handle):
        seen.extend(os.listdir(tmp_path / "ckpt"))       # while writing: only the temporary file
        handle.write(b"x")

    atomic_write(tmp_path / "ckpt" / "step_00000002.pt", write)         # the folder is created
    assert len(seen) == 1 and seen[0].startswith(TEMP_PREFIX) and seen[0].endswith(".pt")
    assert os.listdir(tmp_path / "ckpt") == ["step_00000002.pt"]


def test_files_get_the_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    write_text(tmp_path / "atomic", "x")
    assert stat.S_IMODE(os.stat(tmp_path / "atomic").st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_write_text_is_utf8_and_keeps_newlines(tmp_path):
    write_text(tmp_path / "t.txt", "é\nb\r\n")
    assert (tmp_path / "t.txt").read_bytes() == "é\nb\r\n".encode("utf-8")


def test_write_json_indents_and_ends_with_a_newline(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"fid": 6.5, "rows": [1, 2]})
    text = path.read_text()
    assert text == json.dumps({"fid": 6.5, "rows": [1, 2]}, indent=2) + "\n"
    write_json(path, [1], indent=1)
    assert path.read_text() == "[\n 1\n]\n"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_write_json_refuses_nan_and_keeps_the_old_file(tmp_path, bad):
    path = tmp_path / "r.json"
    write_json(path, {"fid": 1.0})
    with pytest.raises(ValueError):
        write_json(path, {"fid": bad})
    assert json.loads(path.read_text()) == {"fid": 1.0}
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------ a real full disk (issue 16, class 1)
# torch's zip writer swallows the ENOSPC of its write callback and raises RuntimeError("unexpected
# pos ...") from its close; atomic_write gives the caller the OSError back, naming the file.
FREE_LEVELS = [0, 4096, 40_000, 150_000]


@pytest.mark.parametrize("free", FREE_LEVELS)
def test_real_disk_full_inside_torch_save_is_enospc_naming_the_file(disk, free):
    import torch

    path = os.path.join(disk.path, "state.pt")
    atomic_write(path, lambda handle: torch.save({"w": torch.zeros(10)}, handle))
    old = open(path, "rb").read()
    disk.leave(free)
    with pytest.raises(OSError) as err:        # 400 kB: more than any level leaves
        atomic_write(path, lambda handle: torch.save({"w": torch.randn(100_000)}, handle))
    assert err.value.errno == errno.ENOSPC and err.value.filename == path
    assert open(path, "rb").read() == old
    assert leftovers(disk.path) == []


def test_the_raw_torch_error_is_a_runtime_error_control(disk):
    """The fault being fixed: torch.save straight into a file on a full disk does not raise OSError."""
    import torch

    disk.leave(4096)
    with pytest.raises(RuntimeError, match="unexpected pos|PytorchStreamWriter") as err:
        with open(os.path.join(disk.path, "raw.pt"), "wb") as handle:
            torch.save({"w": torch.randn(100_000)}, handle)
    assert not isinstance(err.value, OSError)


@pytest.mark.parametrize("free", FREE_LEVELS)
def test_real_disk_full_in_plain_writes_names_the_file(disk, free):
    path = os.path.join(disk.path, "data.bin")
    disk.leave(free)
    with pytest.raises(OSError) as err:
        write_bytes(path, os.urandom(300_000))
    assert err.value.errno == errno.ENOSPC and err.value.filename == path
    assert not os.path.exists(path) and leftovers(disk.path) == []


def test_write_failure_names_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as err:
        write_bytes(tmp_path / "file" / "x.png", b"png")
    line = files.write_failure(err.value, str(tmp_path / "file" / "x.png"), "--out")
    assert line == f"cannot write {tmp_path / 'file' / 'x.png'}: {tmp_path / 'file'} is a file, not a folder; " \
                   f"choose another --out"
