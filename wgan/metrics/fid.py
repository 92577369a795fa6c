"""Fréchet and kernel distances between two sets of features (FID and KID), in float64.

Written here rather than taken from torchmetrics, for three reasons: torchmetrics would be a new
core dependency for about forty lines of arithmetic; its ``FrechetInceptionDistance`` keeps the
reference set as running sums in private metric states, so the per-dataset statistics cannot be
cached on disk and reloaded through a public API; and its feature pipeline resizes and
normalises images its own way, while this package states one preprocessing for every backend
(see ``inception.py``). The math is checked against ``scipy.linalg.sqrtm`` in the tests.

FID (Heusel et al. 2017) between Gaussians N(mu1, S1) and N(mu2, S2) fitted to two feature sets::

    ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))

The trace term is computed without a general (non-symmetric) matrix square root: S1 S2 has the
same eigenvalues as the symmetric PSD matrix S1^(1/2) S2 S1^(1/2), whose eigenvalues ``eigh``
finds stably even when the covariances are singular (fewer samples than dimensions).

KID (Bińkowski et al. 2018) is the unbiased estimate of the squared MMD with the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class FeatureStats:
    """Mean and covariance (float64) of a feature set, with the features kept for KID."""

    mu: np.ndarray                      # (d,)
    sigma: np.ndarray                   # (d, d), unbiased (divides by n - 1)
    features: Optional[np.ndarray]      # (n, d) float32, or None when only FID is needed

    @property
    def count(self) -> int:
        return 0 if self.features is None else int(self.features.shape[0])


def feature_stats(features, keep_features: bool = True) -> FeatureStats:
    """Fit the Gaussian of FID to ``features`` (n x d array or tensor, n >= 2)."""
    feats = _as_numpy(features)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(f"need an (n, d) feature array with n >= 2, got shape {tuple(feats.shape)}")
    as64 = feats.astype(np.float64)
    mu = as64.mean(axis=0)
    centered = as64 - mu
    sigma = centered.T @ centered / (as64.shape[0] - 1)
    kept = feats.astype(np.float32) if keep_features else None
    return FeatureStats(mu, sigma, kept)


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr((sigma1 @ sigma2)^(1/2))`` for symmetric PSD matrices, in float64."""
    evals, evecs = np.linalg.eigh(np.asarray(sigma1, dtype=np.float64))
    # Tiny negative eigenvalues are rounding noise of a PSD matrix.
    root1 = (evecs * np.sqrt(np.clip(evals, 0.0, None))) @ evecs.T
    middle = root1 @ np.asarray(sigma2, dtype=np.float64) @ root1
    middle = (middle + middle.T) / 2            # symmetric up to rounding; make it exactly so
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"statistics of different dimensions: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    # The exact distance is >= 0; clip the rounding error of two identical sets.
    return max(float(value), 0.0)


def fid_from_stats(a: FeatureStats, b: FeatureStats) -> float:
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD with the kernel (x.y / d + 1)^3 between two float64 samples."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    m, n = x.shape[0], y.shape[0]
    # Diagonal terms k(x_i, x_i) are left out: that is what makes the estimate unbiased.
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())


def kernel_distance(features1, features2, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD^2 over random subsets.

    Args:
        features1, features2: (n, d) feature sets (arrays or tensors).
        subsets: number of random subset pairs (100 in Bińkowski et al.).
        subset_size: samples per subset (1000 there); capped at the smaller set's size.
        seed: seed of the subset draws, so a result can be reproduced.

    Returns:
        (mean, std) of the estimates; the mean can be slightly negative for equal distributions.
    """
    x, y = _as_numpy(features1).astype(np.float64), _as_numpy(features2).astype(np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two (n, d) feature sets of the same d, got {x.shape} and {y.shape}")
    size = min(subset_size, x.shape[0], y.shape[0])
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {x.shape[0]} and {y.shape[0]}")
    rng = np.random.default_rng(seed)
    values = np.array([
        _mmd2_unbiased(x[rng.choice(x.shape[0], size, replace=False)],
                       y[rng.choice(y.shape[0], size, replace=False)])
        for _ in range(subsets)])
    return float(values.mean()), float(values.std())
