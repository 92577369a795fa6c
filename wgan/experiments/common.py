"""Training loops and helpers shared by the low-dimensional experiments.

The loops call the image trainer's Algorithm 1 (``wgan/step.py``) with the objectives of
``wgan/objectives.py``, so the experiments test the same updates and sign convention: the
critic minimises ``-(mean C(real) - mean C(fake))`` (+ ``gp_lambda`` * penalty for wgan-gp,
weights clipped after every step for wgan), the generator minimises ``-mean C(G(z))``; ``gan``
is the non-saturating BCE-with-logits GAN. ``train_gan`` is Algorithm 1 on vectors: ``n_critic``
critic steps, each on a fresh real batch and fresh noise with the fakes detached, then one
generator step with the critic frozen.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import asdict, dataclass, replace
from typing import Callable, Optional

import torch
from torch import nn

from ..files import atomic_write, write_json  # noqa: F401 - write_json is part of this module's API
from ..objectives import Objective, em_estimate, get_objective
from ..step import critic_update as algorithm1_critic_update
from ..step import generator_update

Sampler = Callable[[int], torch.Tensor]   # n -> n x D points (uses the global torch RNG)

# Defaults for small MLPs. The paper's image settings (RMSprop 5e-5) are far too slow for a toy
# problem trained for a few thousand steps, so every learning rate here is 10x the image one;
# the optimiser families and Adam betas follow config.OBJECTIVE_DEFAULTS.
TOY_DEFAULTS = {
    "wgan": {"optimizer": "rmsprop", "lr": 5e-4, "betas": (0.5, 0.999), "n_critic": 5},
    "wgan-gp": {"optimizer": "adam", "lr": 1e-3, "betas": (0.5, 0.9), "n_critic": 5},
    "gan": {"optimizer": "adam", "lr": 1e-3, "betas": (0.5, 0.999), "n_critic": 1},
}


@dataclass
class ToySettings:
    """Hyper-parameters of one toy training; ``None`` takes the objective's TOY_DEFAULTS."""

    objective: str = "wgan-gp"          # wgan (weight clipping) | wgan-gp | gan (non-saturating)
    steps: int = 2000                   # generator steps (train_gan) or critic steps (fit_critic)
    batch_size: int = 256               # points per critic and per generator step
    n_critic: Optional[int] = None      # critic steps per generator step
    optimizer: Optional[str] = None     # rmsprop | adam
    lr: Optional[float] = None          # learning rate of both optimisers
    betas: Optional[tuple] = None       # Adam betas
    clip: float = 0.01                  # wgan: critic weights clipped to [-clip, clip]
    gp_lambda: float = 10.0             # wgan-gp: weight of the gradient penalty
    lr_decay: bool = False              # train_gan: decay both learning rates linearly to 0
    seed: int = 0                       # seeds the global torch RNG before training

    def resolved(self) -> ToySettings:
        """A copy with every ``None`` replaced by the objective's default."""
        if self.objective not in TOY_DEFAULTS:
            raise ValueError(f"objective must be one of {', '.join(TOY_DEFAULTS)}, got '{self.objective}'")
        filled = {k: v for k, v in TOY_DEFAULTS[self.objective].items() if getattr(self, k) is None}
        return replace(self, **filled)

    def as_dict(self) -> dict:
        out = asdict(self.resolved())
        out["betas"] = list(out["betas"])
        return out

    def make_objective(self) -> Objective:
        return get_objective(self.objective, self)


@contextlib.contextmanager
def few_threads(n: int = 1):
    """Run the block with ``n`` intra-op CPU threads, then restore the previous count.

    The toy networks are so small that thread synchronisation costs more than it saves; on
    a busy 2-core machine one thread was 30x faster than two for the parallel-lines critic.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def make_optimizer(params, settings: ToySettings) -> torch.optim.Optimizer:
    s = settings.resolved()
    if s.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=s.lr)
    if s.optimizer == "adam":
        return torch.optim.Adam(params, lr=s.lr, betas=tuple(s.betas))
    raise ValueError(f"optimizer must be rmsprop or adam, got '{s.optimizer}'")


def critic_update(critic: nn.Module, optimizer: torch.optim.Optimizer, objective: Objective,
                  real: torch.Tensor, generator: nn.Module, z: torch.Tensor) -> dict:
    """One critic (or discriminator) step of Algorithm 1 on ``real`` and ``generator(z)``.

    Draws the interpolation weights the objective needs from the global RNG after ``real``.

    Returns:
        Detached scalars: ``em_distance`` (no penalty), ``loss`` and ``penalty``.
    """
    alpha = torch.rand(real.shape[0]) if objective.needs_interpolates else None
    stats = algorithm1_critic_update(generator, critic, optimizer, objective, real, z, alpha)
    return {"em_distance": stats.em_distance, "loss": stats.loss, "penalty": stats.penalty}


def fit_critic(critic: nn.Module, sample_real: Sampler, sample_fake: Sampler,
               settings: ToySettings) -> nn.Module:
    """Train a critic/discriminator for ``settings.steps`` steps between two fixed distributions.

    Every step draws fresh batches, so the critic approaches the optimum for the distributions,
    not for one sample of them (the experiments then evaluate it on held-out samples).
    """
    s = settings.resolved()
    objective = s.make_objective()
    torch.manual_seed(s.seed)
    objective.constrain(critic)                    # start inside the constraint set
    optimizer = make_optimizer(critic.parameters(), s)
    for _ in range(s.steps):
        # The fake distribution is fixed: its samples play the generator's output G(z) = z.
        real = sample_real(s.batch_size)
        critic_update(critic, optimizer, objective, real, nn.Identity(), sample_fake(s.batch_size))
    return critic


def train_gan(generator: nn.Module, critic: nn.Module, sample_real: Sampler, settings: ToySettings,
              log_every: int = 100) -> list[dict]:
    """Algorithm 1 on vectors: returns the history ``[{step, em_distance, loss_critic, loss_generator}]``.

    ``em_distance`` is the mean of ``mean C(real) - mean C(fake)`` over the critic steps since
    the last log, without any penalty (for ``gan`` it is a difference of mean logits).
    """
    s = settings.resolved()
    objective = s.make_objective()
    torch.manual_seed(s.seed)
    objective.constrain(critic)
    opt_c = make_optimizer(critic.parameters(), s)
    opt_g = make_optimizer(generator.parameters(), s)
    # Linear decay to zero (as in the WGAN-GP reference code): late, small steps let the
    # generator settle on modes only 0.02 wide instead of jittering around them.
    factor = (lambda i: 1.0 - i / s.steps) if s.lr_decay else (lambda i: 1.0)
    schedules = [torch.optim.lr_scheduler.LambdaLR(opt, factor) for opt in (opt_c, opt_g)]
    z_dim = generator.z_dim
    history, em_sum, loss_sum, count = [], 0.0, 0.0, 0
    for step in range(1, s.steps + 1):
        for _ in range(s.n_critic):
            z = torch.randn(s.batch_size, z_dim)
            stats = critic_update(critic, opt_c, objective, sample_real(s.batch_size), generator, z)
            em_sum, loss_sum, count = em_sum + stats["em_distance"], loss_sum + stats["loss"], count + 1
        loss_g = generator_update(generator, critic, opt_g, objective, torch.randn(s.batch_size, z_dim))
        for schedule in schedules:
            schedule.step()
        if step % log_every == 0 or step == s.steps:
            row = {"step": step, "em_distance": float(em_sum / count), "loss_critic": float(loss_sum / count),
                   "loss_generator": loss_g.item()}
            if not all(math.isfinite(v) for v in row.values()):
                raise FloatingPointError(f"{s.objective}: non-finite loss at generator step {step}: {row}")
            history.append(row)
            em_sum, loss_sum, count = 0.0, 0.0, 0
    return history


@torch.no_grad()
def em_value(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """The critic's EM estimate ``mean C(real) - mean C(fake)`` on (held-out) samples."""
    return em_estimate(critic(real), critic(fake)).item()


@torch.no_grad()
def js_value(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """JS estimate ``0.5 * (E log D(real) + E log(1 - D(fake))) + log 2`` from logits.

    The GAN critic loss is exactly ``-(E log D(real) + E log(1 - D(fake)))``, so the estimate
    is ``log 2 - loss / 2``; it is a lower bound that is tight for the optimal discriminator.
    """
    loss = get_objective("gan").critic_loss(discriminator(real), discriminator(fake))
    return math.log(2.0) - 0.5 * loss.item()


def input_gradient(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """d fn(x_i) / d x_i for a batch of 1-D points (N x 1) -> (N,); ``fn`` maps N x 1 -> N."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad.view(-1)


def json_path(png_path: str) -> str:
    """The JSON written beside a figure: same path, ``.json`` instead of ``.png``."""
    root, _ = os.path.splitext(png_path)
    return root + ".json"


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (matplotlib is the ``plots`` extra)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("the experiments draw figures with matplotlib: pip install 'wgan[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: str) -> None:
    """``fig`` as a PNG at ``path`` through the atomic writer (a preview: no fsync), then closed."""
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=120, bbox_inches="tight"),
                 durable=False)
    pyplot().close(fig)
