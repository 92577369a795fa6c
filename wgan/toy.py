"""Toy distributions: 2-D Gaussian mixtures (ring of 8, grid of 25), 1-D Gaussians, and scoring.

The mixtures follow the protocol of VEEGAN (Srivastava et al. 2017) and GDPP (Elfeki et al.
2019): a ring of 8 Gaussians of radius 2 and standard deviation 0.02, and a 5 x 5 grid with
spacing 2 and standard deviation 0.05. Generated samples are scored by

* **modes covered**: modes with at least one sample within ``3 * std`` of their mean;
* **high-quality %**: the share of samples within ``3 * std`` of *some* mode's mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

N_STD = 3.0   # a sample "belongs" to a mode within this many standard deviations


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-weight mixture of isotropic Gaussians with one shared standard deviation."""

    name: str
    means: torch.Tensor     # K x D mode centres
    std: float              # standard deviation of every component (per coordinate)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def n_modes(self) -> int:
        return self.means.shape[0]

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``n`` points (n x D, float32 on the CPU): a uniform mode, plus Gaussian noise."""
        modes = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, self.dim, generator=generator)
        return self.means[modes] + self.std * noise


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """``n_modes`` Gaussians evenly spaced on a circle of ``radius`` around the origin."""
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    means = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)
    return GaussianMixture(f"ring{n_modes}", means.float(), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side x side`` Gaussians on a square lattice centred on the origin (5x5: -4..4)."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    means = torch.stack([xs.flatten(), ys.flatten()], dim=1)
    return GaussianMixture(f"grid{side * side}", means, std)


def gaussian_1d(mean: float, std: float) -> GaussianMixture:
    """A single 1-D Gaussian N(mean, std^2) as a one-mode mixture (samples are N x 1)."""
    return GaussianMixture(f"N({mean:g},{std:g}^2)", torch.tensor([[float(mean)]]), std)


MIXTURES = {"ring": ring, "grid": grid}


@dataclass
class ModeScore:
    """How well samples match a mixture (see the module docstring)."""

    modes_covered: int              # modes with >= min_count samples within N_STD * std
    n_modes: int                    # modes of the mixture
    high_quality: float             # fraction of samples within N_STD * std of some mode, in [0, 1]
    counts: list[int]               # high-quality samples assigned to each mode (nearest mode)

    def as_dict(self) -> dict:
        return {"modes_covered": self.modes_covered, "n_modes": self.n_modes,
                "high_quality_pct": 100.0 * self.high_quality, "counts": self.counts}


def score_samples(samples: torch.Tensor, mixture: GaussianMixture, n_std: float = N_STD,
                  min_count: int = 1) -> ModeScore:
    """Modes covered and high-quality fraction of ``samples`` (N x D) under ``mixture``.

    Args:
        samples: generated points, N x D.
        mixture: the target mixture.
        n_std: radius, in standard deviations, within which a sample counts for a mode.
        min_count: samples a mode needs within the radius to count as covered (1 = any).
    """
    samples = samples.detach().float().cpu()
    if samples.dim() != 2 or samples.shape[1] != mixture.dim:
        raise ValueError(f"samples must be N x {mixture.dim}, got {tuple(samples.shape)}")
    distance, nearest = torch.cdist(samples, mixture.means).min(dim=1)
    good = distance <= n_std * mixture.std
    counts = torch.bincount(nearest[good], minlength=mixture.n_modes)
    high_quality = good.float().mean().item() if len(samples) else 0.0
    return ModeScore(int((counts >= min_count).sum()), mixture.n_modes, high_quality, counts.tolist())
