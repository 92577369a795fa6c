"""Bundled MNIST, IDX parsing, stacked MNIST and the real-batch sampler."""

import gzip
import os

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
