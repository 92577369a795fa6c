"""Critic and generator losses; the sign convention lives here and only here.

WGAN (Arjovsky et al. 2017): the critic maximises ``E[C(real)] - E[C(fake)]``, the estimate of
the EM distance, so it *minimises* the negative; the generator minimises ``-E[C(G(z))]``.
The non-saturating GAN baseline uses the same networks with BCE-with-logits losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def em_estimate(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """``mean C(real) - mean C(fake)``: the critic's EM distance estimate (no penalty)."""
    return c_real.mean() - c_fake.mean()


def critic_loss(objective: str, c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Loss the critic minimises (without any gradient penalty)."""
    if objective in ("wgan", "wgan-gp"):
        return -em_estimate(c_real, c_fake)
    if objective == "gan":
        # -log D(real) - log(1 - D(fake)) with D = sigmoid(logit), written stably.
        return F.softplus(-c_real).mean() + F.softplus(c_fake).mean()
    raise ValueError(f"unknown objective '{objective}'")


def generator_loss(objective: str, c_fake: torch.Tensor) -> torch.Tensor:
    """Loss the generator minimises."""
    if objective in ("wgan", "wgan-gp"):
        return -c_fake.mean()
    if objective == "gan":
        return F.softplus(-c_fake).mean()  # non-saturating: -log D(G(z))
    raise ValueError(f"unknown objective '{objective}'")


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP penalty ``mean((||grad C(x_hat)||_2 - 1)^2)`` on interpolates.

    Args:
        critic: the critic network.
        real, fake: batches of the same shape; ``fake`` is detached by the caller.
        alpha: per-sample mixing weights in [0, 1], shape (N,).

    Returns:
        (penalty, mean gradient norm); the penalty keeps its graph for the critic's backward.
    """
    shape = (-1,) + (1,) * (real.dim() - 1)
    x_hat = (alpha.view(shape) * real + (1 - alpha.view(shape)) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean(), norms.detach().mean()


@torch.no_grad()
def clip_weights(parameters, clip: float) -> None:
    """Clamp every critic parameter to [-clip, clip] in place (one fused call per dtype group)."""
    params = [p for p in parameters]
    if hasattr(torch, "_foreach_clamp_min_"):
        torch._foreach_clamp_min_(params, -clip)
        torch._foreach_clamp_max_(params, clip)
    else:  # pragma: no cover - older torch
        for p in params:
            p.clamp_(-clip, clip)
