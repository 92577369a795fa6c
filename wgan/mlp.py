"""Fully connected generator and critic for low-dimensional data (1-D and 2-D toy problems).

The image models in ``models.py`` are convolutional; the paper's arguments (parallel lines,
two 1-D Gaussians) and the 2-D mixture benchmarks need the same roles on vectors. Both
networks use ReLU hidden layers and PyTorch's default initialisation; the critic has no
normalisation (the gradient penalty is per sample) and no output non-linearity, so the same
network serves as a WGAN critic (raw score) and as a GAN discriminator (a logit).
"""

from __future__ import annotations

import torch
from torch import nn


def mlp(in_dim: int, out_dim: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` hidden ReLU layers of ``width`` units, then a linear output layer.

    Args:
        in_dim: input features.
        out_dim: output features.
        width: units per hidden layer.
        depth: number of hidden layers (0 gives a single linear map).
    """
    if min(in_dim, out_dim, width) < 1 or depth < 0:
        raise ValueError(f"mlp needs positive sizes and depth >= 0, got in={in_dim} out={out_dim} "
                         f"width={width} depth={depth}")
    layers: list[nn.Module] = []
    features = in_dim
    for _ in range(depth):
        layers += [nn.Linear(features, width), nn.ReLU()]
        features = width
    layers.append(nn.Linear(features, out_dim))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (N x z_dim) -> points (N x out_dim); the output is unbounded (no tanh)."""

    def __init__(self, z_dim: int = 2, out_dim: int = 2, width: int = 128, depth: int = 3):
        super().__init__()
        self.z_dim, self.out_dim = z_dim, out_dim
        self.net = mlp(z_dim, out_dim, width, depth)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPCritic(nn.Module):
    """points (N x in_dim) -> scores (N,); a WGAN critic or, read as logits, a GAN discriminator."""

    def __init__(self, in_dim: int = 2, width: int = 128, depth: int = 3):
        super().__init__()
        self.in_dim = in_dim
        self.net = mlp(in_dim, 1, width, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])
