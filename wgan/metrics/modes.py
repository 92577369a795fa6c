"""Mode coverage from classifier labels: modes covered, KL to uniform, the MNIST inception score.

MNIST has 10 modes (digits); Stacked MNIST has 1,000 (one digit per RGB channel, mode
``100 * r + 10 * g + b``). Following VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018), a mode is covered when at least one sample is classified into it, and the KL divergence
is KL(generated mode histogram || uniform), in nats.
"""

from __future__ import annotations

import math

import torch


def mode_histogram(labels: torch.Tensor, num_modes: int) -> torch.Tensor:
    """Counts (float64, length ``num_modes``) of integer labels in [0, num_modes)."""
    labels = labels.long().flatten()
    if labels.numel() == 0:
        raise ValueError("no labels to count")
    if int(labels.min()) < 0 or int(labels.max()) >= num_modes:
        raise ValueError(f"labels must lie in [0, {num_modes}), got [{int(labels.min())}, {int(labels.max())}]")
    return torch.bincount(labels, minlength=num_modes).double()


def modes_covered(counts: torch.Tensor, min_count: int = 1) -> int:
    """Number of modes holding at least ``min_count`` samples."""
    return int((counts >= min_count).sum())


def kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(p || uniform) = log K - H(p) of the histogram ``counts`` (empty bins count 0 log 0 = 0)."""
    p = counts.double() / counts.sum()
    nonzero = p[p > 0]
    return float(math.log(counts.numel()) + (nonzero * nonzero.log()).sum())


def mode_metrics(labels: torch.Tensor, num_modes: int) -> dict:
    """``{"covered": ..., "kl": ...}`` of a set of predicted mode labels."""
    counts = mode_histogram(labels, num_modes)
    return {"covered": modes_covered(counts), "kl": kl_to_uniform(counts)}


def classifier_score(probs: torch.Tensor) -> float:
    """Inception score computed with a classifier: ``exp(E_x KL(p(y|x) || p(y)))``.

    ``probs`` is N x K with rows summing to 1; p(y) is their mean. It is 1 for a generator whose
    every sample gets the same (or a uniform) prediction and K for confident, balanced samples.
    """
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(dim=0, keepdim=True)
    kl = (p * (p.log() - marginal.log())).sum(dim=1)
    return float(kl.mean().exp())


def stacked_mode_labels(digits: torch.Tensor) -> torch.Tensor:
    """Per-channel digits (N x 3, R G B) -> Stacked MNIST modes ``100 r + 10 g + b``."""
    if digits.dim() != 2 or digits.shape[1] != 3:
        raise ValueError(f"need N x 3 digits (one per RGB channel), got shape {tuple(digits.shape)}")
    digits = digits.long()
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
