"""Algorithm 1 of Arjovsky et al. (2017) as two functions, one per update.

    1: while theta has not converged do
    2:   for t = 0, ..., n_critic do
    3:     sample {x_i} ~ P_r, a batch of real data
    4:     sample {z_i} ~ p(z), a batch of prior samples
    5:     g_w <- grad_w [ mean f_w(x_i) - mean f_w(g_theta(z_i)) ]
    6:     w <- w + alpha * RMSProp(w, g_w)
    7:     w <- clip(w, -c, c)
    8:   end for
    9:   sample {z_i} ~ p(z)
   10:   g_theta <- -grad_theta mean f_w(g_theta(z_i))
   11:   theta <- theta - alpha * RMSProp(theta, g_theta)
   12: end while

The caller draws the random inputs (lines 3, 4 and 9) into the tensors it passes, so that the
same function runs eagerly or inside a captured CUDA graph. What differs between objectives
(losses, penalty, clipping) comes from the ``Objective`` (``wgan/objectives.py``). Mixed
precision and the gradient average across processes wrap these functions from outside: the
networks passed in may run under autocast, and the optimisers may average gradients in a
step pre-hook (``wgan/trainer.py`` sets both up).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .objectives import Objective, em_estimate


class CriticStats(NamedTuple):
    """Detached scalars of one critic update (0-dim tensors, still on the device)."""

    em_distance: torch.Tensor       # mean C(real) - mean C(fake), without any penalty
    loss: torch.Tensor              # what the critic minimised, penalty included
    real_mean: torch.Tensor
    fake_mean: torch.Tensor
    penalty: torch.Tensor           # unweighted gradient penalty (0 without one)
    grad_norm: torch.Tensor         # mean ||grad C(x_hat)|| of the penalty (0 without one)


def critic_update(generator, critic, optimizer: torch.optim.Optimizer, objective: Objective,
                  real: torch.Tensor, z: torch.Tensor, alpha: torch.Tensor | None = None) -> CriticStats:
    """Algorithm 1, lines 3-7: one critic step on the real batch ``real`` and the noise ``z``.

    ``alpha`` holds per-sample interpolation weights when ``objective.needs_interpolates``.
    """
    with torch.no_grad():
        fake = generator(z)                                         # no graph into the generator
    c_real, c_fake = critic(real).float(), critic(fake).float()
    loss = objective.critic_loss(c_real, c_fake)                    # line 5: minus the EM estimate
    penalty = objective.penalty(critic, real, fake, alpha)
    if penalty is not None:
        loss = loss + objective.gp_lambda * penalty[0].float()
        penalty_value, grad_norm = penalty[0].detach().float(), penalty[1].float()
    else:
        penalty_value = grad_norm = torch.zeros((), device=loss.device)
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    optimizer.step()                                                # line 6
    objective.constrain(critic)                                     # line 7: clip to [-c, c] for wgan
    return CriticStats(em_estimate(c_real, c_fake).detach(), loss.detach(), c_real.detach().mean(),
                       c_fake.detach().mean(), penalty_value, grad_norm)


def generator_update(generator, critic, optimizer: torch.optim.Optimizer, objective: Objective,
                     z: torch.Tensor) -> torch.Tensor:
    """Algorithm 1, lines 9-11: one generator step on the noise ``z``, the critic held fixed.

    The critic's parameters stop requiring gradients for the step, so no gradient flows into
    them (their ``.grad`` stays as the last critic step left it). Returns the detached loss.
    """
    critic.requires_grad_(False)
    try:
        loss = objective.generator_loss(critic(generator(z)).float())   # line 10
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()                                                 # line 11
    finally:
        critic.requires_grad_(True)
    return loss.detach()
