"""Reference image sets and their feature statistics, cached on disk.

The reference set of a dataset is one split of it (MNIST *test* by default, the protocol of
Lucic et al. 2018), resized to the generator's image size the way the training data is
(``wgan.data.resize_uint8``), so that a generator that matched its training data exactly would
score as well as the data itself. Statistics are cached per (dataset, split, image size,
feature network id) as ``<cache_dir>/<key>.npz`` (float64 mu and sigma, float32 features for
KID), written atomically and read back without pickle.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Callable, Optional

import numpy as np
import torch

from ..data import load_cifar10, load_fashion_mnist, load_image_folder, load_mnist, make_stacked_mnist, resize_uint8
from ..files import atomic_write
from .features import extract_features
from .fid import FeatureStats, feature_stats

STACKED_REFERENCE_SIZE = 10000   # Stacked MNIST reference images, built from the split with seed 0
REFERENCE_DATASETS = ("mnist", "fashion_mnist", "cifar10", "stacked_mnist", "folder")


def default_cache_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".cache", "wgan")


def reference_images(dataset: str, root: str = "data", split: str = "test",
                     image_size: Optional[int] = None) -> torch.Tensor:
    """uint8 N x C x H x W reference images of ``dataset``, resized to ``image_size`` if given."""
    if dataset == "mnist":
        images = load_mnist(root, split).images
    elif dataset == "fashion_mnist":
        images = load_fashion_mnist(root, split).images
    elif dataset == "cifar10":
        images = load_cifar10(root, split).images
    elif dataset == "stacked_mnist":
        images = make_stacked_mnist(load_mnist(root, split), STACKED_REFERENCE_SIZE, seed=0).images
    elif dataset == "folder":
        if image_size is None:
            raise ValueError("a folder reference set needs an image size")
        images = load_image_folder(root, image_size).images
    else:
        raise ValueError(f"unknown dataset '{dataset}'; choose one of {', '.join(REFERENCE_DATASETS)}")
    return images if image_size is None else resize_uint8(images, image_size)


def cache_key(dataset: str, root: str, split: str, image_size: Optional[int], feature_id: str) -> str:
    name = dataset
    if dataset == "folder":  # a folder is known by its path; there is no split
        name = "folder-" + hashlib.sha1(os.path.abspath(root).encode()).hexdigest()[:10]
        split = "all"
    size = f"{image_size}px" if image_size else "native"
    return f"{name}-{split}-{size}-{feature_id}"


def _read_cache(path: str) -> Optional[FeatureStats]:
    try:
        with np.load(path, allow_pickle=False) as data:
            stats = FeatureStats(data["mu"], data["sigma"], data["features"])
    except Exception as err:  # a torn or foreign file: recompute rather than fail
        warnings.warn(f"ignoring unreadable reference statistics {path} ({err.__class__.__name__}); recomputing")
        return None
    d = stats.mu.shape[0]
    if stats.sigma.shape != (d, d) or stats.features.ndim != 2 or stats.features.shape[1] != d:
        warnings.warn(f"ignoring inconsistent reference statistics {path}; recomputing")
        return None
    return stats


def _write_cache(path: str, stats: FeatureStats) -> None:
    """Write the statistics atomically: a run killed mid-write must not leave a torn cache that
    every later evaluation would have to detect and recompute."""
    atomic_write(path, lambda handle: np.savez(handle, mu=stats.mu, sigma=stats.sigma, features=stats.features))


def reference_stats(extractor: Callable, dataset: str, root: str = "data", split: str = "test",
                    image_size: Optional[int] = None, cache_dir: Optional[str] = None,
                    batch_size: int = 200, log: Callable[[str], None] = print) -> FeatureStats:
    """Feature statistics of a dataset's reference set, from the cache or computed and cached.

    Args:
        extractor: uint8 images -> features, with a ``feature_id`` attribute (the cache key).
        dataset, root, split: which reference images (see ``reference_images``).
        image_size: resize the reference images to this side first (the generator's size).
        cache_dir: where ``.npz`` statistics live; default ``~/.cache/wgan``.
        batch_size: images per forward pass of the extractor.
        log: receives one line when the statistics are computed (it can take minutes on CPU).
    """
    cache_dir = cache_dir or default_cache_dir()
    path = os.path.join(cache_dir, cache_key(dataset, root, split, image_size, extractor.feature_id) + ".npz")
    if os.path.isfile(path):
        stats = _read_cache(path)
        if stats is not None:
            return stats
    images = reference_images(dataset, root, split, image_size)
    log(f"computing {extractor.feature_id} reference statistics of {dataset} {split} "
        f"({images.shape[0]} images) into {path}")
    stats = feature_stats(extract_features(extractor, images, batch_size))
    _write_cache(path, stats)
    return stats
