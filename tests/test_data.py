"""Bundled MNIST, IDX parsing, stacked MNIST and the real-batch sampler."""

import gzip
import os

import numpy as np
import pytest
import torch

from wgan.data import (
    DatasetNotFound,
    RealSampler,
    load_mnist,
    make_stacked_mnist,
    read_idx,
    resize_uint8,
    to_uint8,
    to_unit_range,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "data")


def test_bundled_mnist_is_complete():
    train, test = load_mnist(DATA, "train"), load_mnist(DATA, "test")
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(train.labels).tolist()[:2] == [5923, 6742]   # published class counts


def test_missing_dataset_names_paths_and_remedy(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        load_mnist(str(tmp_path), "train")
    assert str(tmp_path) in str(err.value) and "data.root" in str(err.value)


def test_truncated_idx_is_rejected(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (2).to_bytes(4, "big") * 2 + bytes(7))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(str(path))


def test_stacked_mnist_labels_follow_the_channel_digits():
    mnist = load_mnist(DATA, "test")
    stacked = make_stacked_mnist(mnist, 50, seed=1)
    assert stacked.images.shape == (50, 3, 28, 28)
    assert int(stacked.labels.max()) < 1000


def test_sampler_covers_an_epoch_without_repeats_and_resumes_exactly():
    images = torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 1, 16, 16).contiguous()
    sampler = RealSampler(images, 16, 5, torch.device("cpu"), seed=0)
    epoch = torch.cat([to_uint8(sampler.next())[:, 0, 0, 0] for _ in range(4)])
    assert sorted(epoch.tolist()) == list(range(20))
    state = sampler.state_dict()
    ahead = [sampler.next() for _ in range(6)]
    other = RealSampler(images, 16, 5, torch.device("cpu"), seed=99)
    other.load_state_dict(state)
    for expected in ahead:
        assert torch.equal(other.next(), expected)


def test_range_conversions_and_resize():
    x = torch.tensor([0, 128, 255], dtype=torch.uint8)
    assert to_unit_range(x).tolist() == [-1.0, pytest.approx(0.00392, abs=1e-4), 1.0]
    assert torch.equal(to_uint8(to_unit_range(x)), x)
    up = resize_uint8(torch.full((2, 1, 28, 28), 200, dtype=torch.uint8), 64)
    assert up.shape == (2, 1, 64, 64) and int(up.min()) == int(up.max()) == 200


def _write_cifar(folder, counts):
    import pickle
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in counts.items():
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle)


def test_cifar10_on_disk_format_is_read_without_torchvision_checks(tmp_path):
    from wgan.data import load_cifar10
    _write_cifar(tmp_path / "cifar-10-batches-py", {**{f"data_batch_{i}": 3 for i in range(1, 6)}, "test_batch": 4})
    train = load_cifar10(str(tmp_path), "train")
    assert train.images.shape == (15, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.tolist()[:4] == [0, 1, 2, 0]
    assert load_cifar10(str(tmp_path), "test").images.shape == (4, 3, 32, 32)


def test_cifar10_batch_that_would_run_code_is_refused(tmp_path):
    import pickle

    from wgan.data import load_cifar10
    _write_cifar(tmp_path / "cifar-10-batches-py", {f"data_batch_{i}": 2 for i in range(2, 6)})
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": Evil(), b"labels": []}, handle)
    with pytest.raises(DatasetNotFound, match="corrupt or not a CIFAR-10 batch"):
        load_cifar10(str(tmp_path), "train")
    assert not marker.exists()


def test_image_folder_is_center_cropped_and_resized(tmp_path):
    from PIL import Image

    from wgan.data import load_image_folder
    (tmp_path / "sub").mkdir()
    wide = np.zeros((20, 60, 3), dtype=np.uint8)
    wide[:, 20:40] = 255                                   # a white centre square in a wide image
    Image.fromarray(wide).save(tmp_path / "sub" / "a.png")
    Image.fromarray(np.full((40, 30), 128, dtype=np.uint8)).save(tmp_path / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    ds = load_image_folder(str(tmp_path), 16)
    assert ds.images.shape == (2, 3, 16, 16)
    assert int(ds.images[1].float().mean()) == 255        # sorted paths: b.jpg, sub/a.png -> centre kept
    with pytest.raises(DatasetNotFound, match="no images"):
        load_image_folder(str(tmp_path / "sub" / "nothing"), 16)


def test_fashion_mnist_is_read_from_its_raw_folder(tmp_path):
    from wgan.data import load_fashion_mnist
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(2 * 784))
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([3, 7]))
    ds = load_fashion_mnist(str(tmp_path), "test")
    assert ds.images.shape == (2, 1, 28, 28) and ds.labels.tolist() == [3, 7]


# ------------------------------------------------------------------ hostile image folders (issue 16, class 8)
def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (valid CRC) claiming ``width`` x ``height`` RGB pixels, then a
    tiny IDAT and IEND: PIL reads the size from the header alone."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def _folder_with(tmp_path, name: str, make) -> str:
    from PIL import Image
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.full((20, 20, 3), 200, dtype=np.uint8)).save(folder / "a_good.png")
    make(str(folder / name))
    return str(folder)


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (10_000, 10_000)])   # error / warning level
def test_png_claiming_a_huge_size_is_named_not_a_decompression_bomb_traceback(tmp_path, recwarn, width, height):
    from wgan.data import load_image_folder

    folder = _folder_with(tmp_path, "bomb.png", lambda p: open(p, "wb").write(_png_header(width, height)))
    with pytest.raises(DatasetNotFound) as err:
        load_image_folder(folder, 16)
    message = str(err.value)
    assert message.startswith(f"image {folder}/bomb.png claims to be larger than ") and "\n" not in message
    assert f"({width * height:,} pixels)" in message and "remove it from data.root" in message
    assert not [w for w in recwarn if "DecompressionBomb" in w.category.__name__]   # no raw PIL warning


def test_fifo_named_like_an_image_is_refused_not_waited_on(tmp_path):
    from wgan.data import load_image_folder

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    folder = _folder_with(tmp_path, "pipe.png", os.mkfifo)
    with pytest.raises(DatasetNotFound, match=r"image .*pipe\.png is a FIFO, not a regular file; remove it"):
        load_image_folder(folder, 16)               # before the fix: blocked in open() forever


def test_damaged_and_dangling_images_are_named(tmp_path):
    from wgan.data import load_image_folder

    folder = _folder_with(tmp_path, "cut.png", lambda p: open(p, "wb").write(_png_header(20, 20)[:30]))
    with pytest.raises(DatasetNotFound, match=r"image .*cut\.png cannot be read"):
        load_image_folder(folder, 16)
    os.unlink(os.path.join(folder, "cut.png"))
    os.symlink(os.path.join(folder, "absent.png"), os.path.join(folder, "link.png"))
    with pytest.raises(DatasetNotFound, match=r"image .*link\.png cannot be opened \(No such file"):
        load_image_folder(folder, 16)


@pytest.mark.parametrize("case", ["bomb", "fifo"])
def test_hostile_image_folder_in_a_train_process_is_one_line_exit_2(tmp_path, tiny_args, run_train, case):
    make = (lambda p: open(p, "wb").write(_png_header(100_000, 100_000))) if case == "bomb" else os.mkfifo
    folder = _folder_with(tmp_path, "x.png", make)
    args = [a for a in tiny_args if not a.startswith(("data.root", "data.split"))]
    done = run_train(args + ["data.name=folder", f"data.root={folder}", f"run.dir={tmp_path / 'run'}",
                             "train.batch_size=2", "train.steps=1"], timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: image {folder}/x.png "), done.stderr
