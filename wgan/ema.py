"""Exponential moving average of the generator's weights (``train.ema``).

GAN generators do not converge to a point: their weights keep circling around one, and single
iterates show it as malformed samples. An average of the iterates (Yazici et al. 2019, "The
Unusual Effectiveness of Averaging in GAN Training") is a better generator at no training cost:
it is read-only, never feeds back into training, and Algorithm 1 runs unchanged.

BatchNorm running statistics were gathered with the live weights, not the averaged ones, so the
average's statistics are recomputed from fixed latents ("standing statistics", as BigGAN does)
before it is sampled, evaluated or saved; see ``recompute_batchnorm_stats``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

STATS_BATCHES = 32       # batches of latents that estimate the average's BatchNorm statistics
STATS_SEED = 4_242       # their seed: the same latents at every refresh, on every device
WARMUP = 10              # decay ramps up as (1 + t) / (WARMUP + t): early averages follow the weights


class GeneratorAverage:
    """An averaged copy of ``generator``, updated after each generator step.

    ``update`` runs on the device without a host sync, so it can sit inside a captured CUDA
    graph; the decay at generator step t is ``min(decay, (1 + t) / (10 + t))``, so the first
    few thousand steps, whose weights are far from the final ones, are forgotten quickly.
    """

    def __init__(self, generator: nn.Module, decay: float, batch_size: int):
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}")
        self.decay, self.batch_size = decay, batch_size
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)
        self._live = list(generator.parameters())
        self._avg = list(self.module.parameters())
        self.stats_step = None       # generator step whose average the BatchNorm statistics describe

    @torch.no_grad()
    def update(self, step: torch.Tensor) -> None:
        """Move the average towards the live weights; ``step`` is a 0-dim tensor holding the
        number of generator steps before this one."""
        t = step.float()
        keep = torch.clamp((1 + t) / (WARMUP + t), max=self.decay)
        moves = torch._foreach_sub(self._live, self._avg)
        torch._foreach_mul_(moves, 1 - keep)
        torch._foreach_add_(self._avg, moves)

    @torch.no_grad()
    def copy_from_live(self) -> None:
        """Restart the average at the live weights (a run that turns ``train.ema`` on)."""
        torch._foreach_copy_(self._avg, [p.detach() for p in self._live])

    def ready(self, step: int) -> nn.Module:
        """The averaged generator in eval mode, with BatchNorm statistics of its own weights."""
        if self.stats_step != step:
            recompute_batchnorm_stats(self.module, self.module.z_dim, self.batch_size)
            self.stats_step = step
        return self.module

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict, step: int) -> None:
        self.module.load_state_dict(state)
        self.stats_step = step      # saved right after a refresh at that step


@torch.no_grad()
def recompute_batchnorm_stats(generator: nn.Module, z_dim: int, batch_size: int,
                              batches: int = STATS_BATCHES, seed: int = STATS_SEED) -> None:
    """Replace the running statistics of every BatchNorm layer of ``generator`` by their exact
    average over ``batches`` training-mode batches of fixed latents, then leave it in eval mode.

    ``torch.optim.swa_utils.update_bn`` does the averaging (reset, cumulative momentum, one pass,
    momenta restored). The batches have the training batch size, so each layer sees the batch
    statistics it was trained to expect. Latents come from a private CPU generator: no global RNG
    is touched.
    """
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    latents = (torch.randn(batch_size, z_dim, generator=rng) for _ in range(batches))
    torch.optim.swa_utils.update_bn(latents, generator, device=device)
    generator.eval()
