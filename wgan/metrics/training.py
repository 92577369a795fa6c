"""Metrics computed during training, on a few thousand samples.

``TrainingMetrics(...)(sample_fn)`` draws ``n_samples`` images with ``sample_fn(n)`` and returns
a flat dict of scalars for TensorBoard and metrics.jsonl: ``fid_2k`` (Inception FID of the
samples against the full reference split; skipped with one warning when the Inception network
cannot be found), plus for MNIST ``classes_covered``, ``class_kl``, ``mnist_is`` and
``classifier_fid``, and for Stacked MNIST ``modes_covered`` and ``mode_kl``.

Sample counts matter: FID is biased upwards at small N, so ``fid_2k`` tracks progress within a
run and is not comparable with the 10k-sample numbers of ``scripts/evaluate.py``.
"""

from __future__ import annotations

import warnings
from typing import Callable, Optional

import torch

from .evaluate import MetricSuite
from .inception import InceptionNotFound


def fid_key(n: int) -> str:
    """``fid_2k`` for 2000 samples, ``fid_500`` for 500: the sample count is part of the name."""
    return f"fid_{n // 1000}k" if n % 1000 == 0 else f"fid_{n}"


class TrainingMetrics:
    """Callable that measures a generator during training.

    Args:
        dataset_name: config data.name (mnist, fashion_mnist, cifar10, stacked_mnist, folder).
        data_root: config data.root.
        device: where the feature networks run (the training device).
        n_samples: images drawn per call.
        inception_path: TorchScript Inception file; None searches (see ``wgan.metrics.inception``).
        cache_dir: reference statistics cache; None = ``~/.cache/wgan``.
        split: the reference split (test, the evaluation protocol's).
        log: receives a line when reference statistics are first computed.

    The first call computes (or reads from the cache) the reference statistics: the full split
    through Inception, about 5 s for MNIST's 10,000 test images on an H200 but close to an hour
    on a 2-core CPU (about 3 images/s), so FID during CPU training is best left off.
    """

    def __init__(self, dataset_name: str, data_root: str = "data", device="cpu", n_samples: int = 2000,
                 inception_path: Optional[str] = None, cache_dir: Optional[str] = None,
                 split: str = "test", log: Callable[[str], None] = print):
        if n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {n_samples}")
        self.suite = MetricSuite(dataset_name, data_root, split, device, inception_path, cache_dir, log=log)
        self.n_samples = n_samples
        self.use_inception = True
        self.use_classifier = dataset_name in ("mnist", "stacked_mnist")

    @torch.no_grad()
    def __call__(self, sample_fn: Callable[[int], torch.Tensor]) -> dict:
        """Metrics of ``sample_fn(n_samples)``: N x C x H x W images, float in [-1, 1] or uint8.

        ``sample_fn`` is called once, with ``n_samples``.
        """
        images = sample_fn(self.n_samples)
        if images.shape[0] != self.n_samples:
            raise ValueError(f"sample_fn({self.n_samples}) returned {images.shape[0]} images")
        out = {}
        if self.use_inception:
            try:
                out[fid_key(self.n_samples)] = self.suite.compute(images, ["fid"])["fid"]
            except InceptionNotFound as err:
                self.use_inception = False
                warnings.warn(f"FID is skipped during training: {err}", stacklevel=2)
        if self.use_classifier:
            wanted = ["modes", "cfid"] if self.suite.dataset == "mnist" else ["modes"]
            out.update(self.suite.compute(images, wanted))
        return out
