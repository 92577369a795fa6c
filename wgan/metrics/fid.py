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
finds stably even when the covariances are singular (fewer samples than dimensions). With S1 the
reference set's covariance, its square root is computed once and reused for every comparison,
so an FID during training costs one eigendecomposition (on the metrics device, in float64).

KID (Bińkowski et al. 2018) is the unbiased estimate of the squared MMD with the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch


@dataclass
class FeatureStats:
    """Mean and covariance (float64) of a feature set, with the features kept for KID."""

    mu: np.ndarray                      # (d,)
    sigma: np.ndarray                   # (d, d), unbiased (divides by n - 1)
    features: Optional[np.ndarray]      # (n, d) float32, or None when only FID is needed
    # sigma^(1/2), computed once on first use: a reference set is compared many times.
    _root: Optional[torch.Tensor] = field(default=None, repr=False, compare=False)

    @property
    def count(self) -> int:
        return 0 if self.features is None else int(self.features.shape[0])

    def sqrt_sigma(self, device=None) -> torch.Tensor:
        """The symmetric PSD square root of ``sigma`` (float64, on ``device``)."""
        if self._root is None:
            self._root = psd_sqrt(torch.from_numpy(np.asarray(self.sigma, np.float64)).to(device or "cpu"))
        return self._root.to(device or "cpu")


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


def psd_sqrt(sigma: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix by eigendecomposition (float64)."""
    evals, evecs = torch.linalg.eigh(sigma.double())
    # Tiny negative eigenvalues are rounding noise of a PSD matrix.
    return (evecs * evals.clamp_min(0.0).sqrt()) @ evecs.T


def trace_sqrt_product(sigma1, sigma2, root1: Optional[torch.Tensor] = None, device=None) -> float:
    """``tr((sigma1 @ sigma2)^(1/2))`` for symmetric PSD matrices, in float64.

    Args:
        sigma1, sigma2: (d, d) covariances (arrays or tensors).
        root1: ``sigma1^(1/2)`` if already known (saves one of the two eigendecompositions).
        device: where to compute; a GPU does a 2048 x 2048 eigendecomposition in a fraction of
            the seconds a CPU needs.
    """
    device = device or "cpu"
    if root1 is None:
        root1 = psd_sqrt(torch.as_tensor(np.asarray(sigma1, np.float64)).to(device))
    root1 = root1.to(device, torch.float64)
    middle = root1 @ torch.as_tensor(np.asarray(sigma2, np.float64)).to(device) @ root1
    middle = (middle + middle.T) / 2            # symmetric up to rounding; make it exactly so
    return float(torch.linalg.eigvalsh(middle).clamp_min(0.0).sqrt().sum())


def _check_shapes(mu1, sigma1, mu2, sigma2) -> None:
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"statistics of different dimensions: mu {mu1.shape} vs {mu2.shape}, "
                         f"sigma {sigma1.shape} vs {sigma2.shape}")


def _frechet(mu1, sigma1, mu2, sigma2, trace_root: float) -> float:
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root
    # The exact distance is >= 0; clip the rounding error of two identical sets.
    return max(float(value), 0.0)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     device=None) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    _check_shapes(mu1, sigma1, mu2, sigma2)
    return _frechet(mu1, sigma1, mu2, sigma2, trace_sqrt_product(sigma1, sigma2, device=device))


def fid_from_stats(fake: FeatureStats, reference: FeatureStats, device=None) -> float:
    """FID between two fitted feature sets; the reference's square root is cached on it."""
    _check_shapes(fake.mu, fake.sigma, reference.mu, reference.sigma)
    trace_root = trace_sqrt_product(reference.sigma, fake.sigma, reference.sqrt_sigma(device), device)
    return _frechet(fake.mu, fake.sigma, reference.mu, reference.sigma, trace_root)


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased squared MMD with the kernel (x.y / d + 1)^3 between two float64 samples."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    m, n = x.shape[0], y.shape[0]
    # Diagonal terms k(x_i, x_i) are left out: that is what makes the estimate unbiased.
    term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())


def kernel_distance(features1, features2, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0, device=None) -> tuple[float, float]:
    """KID: mean and standard deviation of the unbiased MMD^2 over random subsets.

    Args:
        features1, features2: (n, d) feature sets (arrays or tensors).
        subsets: number of random subset pairs (100 in Bińkowski et al.).
        subset_size: samples per subset (1000 there); capped at the smaller set's size.
        seed: seed of the subset draws, so a result can be reproduced.
        device: where the float64 kernel matrices are computed (a GPU makes 10k-sample KID
            take well under a second; the CPU takes a minute). Default: the CPU.

    Returns:
        (mean, std) of the estimates; the mean can be slightly negative for equal distributions.
    """
    x = torch.as_tensor(_as_numpy(features1)).to(device or "cpu", torch.float64)
    y = torch.as_tensor(_as_numpy(features2)).to(device or "cpu", torch.float64)
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two (n, d) feature sets of the same d, got {tuple(x.shape)} and {tuple(y.shape)}")
    size = min(subset_size, x.shape[0], y.shape[0])
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {x.shape[0]} and {y.shape[0]}")
    rng = np.random.default_rng(seed)
    values = np.array([
        _mmd2_unbiased(x[torch.from_numpy(rng.choice(x.shape[0], size, replace=False)).to(x.device)],
                       y[torch.from_numpy(rng.choice(y.shape[0], size, replace=False)).to(y.device)])
        for _ in range(subsets)])
    return float(values.mean()), float(values.std())
