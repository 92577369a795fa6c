"""Training objectives as objects: one class per objective, a registry by name.

An objective owns everything that distinguishes it from the others: the critic's and the
generator's losses (the sign convention lives here and only here), its Lipschitz device
(weight clipping, a gradient penalty, spectral normalisation or nothing), the extra random
inputs a critic step needs, its published optimiser defaults and its config checks. The step
functions (``wgan/step.py``) and the trainer call these methods and never compare names, so a
new objective is one new class below plus its tests.

WGAN (Arjovsky et al. 2017): the critic maximises ``E[C(real)] - E[C(fake)]``, the estimate of
the EM distance, so it *minimises* the negative; the generator minimises ``-E[C(G(z))]``.
"""

from __future__ import annotations

from typing import ClassVar, Optional

import torch
import torch.nn.functional as F
from torch import nn


def em_estimate(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """``mean C(real) - mean C(fake)``: the critic's EM distance estimate (no penalty)."""
    return c_real.mean() - c_fake.mean()


def wasserstein_critic_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """What a Wasserstein critic minimises: ``-(mean C(real) - mean C(fake))``."""
    return -em_estimate(c_real, c_fake)


def wasserstein_generator_loss(c_fake: torch.Tensor) -> torch.Tensor:
    """What the generator minimises against a Wasserstein (or hinge) critic: ``-mean C(G(z))``."""
    return -c_fake.mean()


def input_gradient_norms(critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``||grad_x C(x_hat)||_2`` per sample on ``x_hat = alpha * real + (1 - alpha) * fake``.

    The graph is kept (``create_graph=True``) so that a penalty on these norms trains the critic.
    """
    shape = (-1,) + (1,) * (real.dim() - 1)
    x_hat = (alpha.view(shape) * real + (1 - alpha.view(shape)) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-GP's two-sided penalty ``mean((||grad C(x_hat)||_2 - 1)^2)`` on interpolates.

    Args:
        critic: the critic network.
        real, fake: batches of the same shape; ``fake`` is detached by the caller.
        alpha: per-sample mixing weights in [0, 1], shape (N,).

    Returns:
        (penalty, mean gradient norm); the penalty keeps its graph for the critic's backward.
    """
    norms = input_gradient_norms(critic, real, fake, alpha)
    return ((norms - 1) ** 2).mean(), norms.detach().mean()


def lipschitz_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                      alpha: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """WGAN-LP's one-sided penalty ``mean(max(0, ||grad C(x_hat)||_2 - 1)^2)``: only gradients
    steeper than 1 are penalised, which is what the Lipschitz constraint asks (Petzka et al. 2018)."""
    norms = input_gradient_norms(critic, real, fake, alpha)
    return (F.relu(norms - 1) ** 2).mean(), norms.detach().mean()


@torch.no_grad()
def clip_weights(parameters, clip: float) -> None:
    """Clamp every critic parameter to [-clip, clip] in place (one fused call per dtype group)."""
    params = [p for p in parameters]
    torch._foreach_clamp_min_(params, -clip)
    torch._foreach_clamp_max_(params, clip)


def spectrally_normalise(critic: nn.Module) -> nn.Module:
    """Put ``torch.nn.utils.parametrizations.spectral_norm`` on every conv and linear layer of
    ``critic`` (in place; one power iteration per forward in training mode, as Miyato et al.)."""
    from torch.nn.utils.parametrizations import spectral_norm

    for module in list(critic.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral_norm(module)
    return critic


class Objective:
    """Base class: a Wasserstein critic and generator with no Lipschitz device.

    Subclasses override what differs. Class attributes:
        name: the ``train.objective`` value.
        defaults: optimiser settings filled in where the config leaves them unset.
        critic_norm: default ``model.c_norm``.
        has_penalty: the critic loss includes an input-gradient penalty (logged as
            ``gradient_penalty`` and ``gp_grad_norm``).
        needs_interpolates: each critic step draws ``alpha ~ U[0, 1]`` per sample.
        clips_weights: the critic's weights are clipped, so it can die (the trainer watches).
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}
    critic_norm: ClassVar[str] = "batch"
    has_penalty: ClassVar[bool] = False
    needs_interpolates: ClassVar[bool] = False
    clips_weights: ClassVar[bool] = False

    def __init__(self, train_cfg=None):
        self.clip = getattr(train_cfg, "clip", 0.01)
        self.gp_lambda = getattr(train_cfg, "gp_lambda", 10.0)

    def critic_loss(self, c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
        """Loss the critic minimises, without any penalty."""
        return wasserstein_critic_loss(c_real, c_fake)

    def generator_loss(self, c_fake: torch.Tensor) -> torch.Tensor:
        """Loss the generator minimises."""
        return wasserstein_generator_loss(c_fake)

    def penalty(self, critic, real, fake, alpha) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
        """(unweighted penalty, mean input-gradient norm), or None for objectives without one."""
        return None

    def constrain(self, critic: nn.Module) -> None:
        """Project the critic back into its constraint set after an optimiser step."""

    def prepare_critic(self, critic: nn.Module) -> nn.Module:
        """The critic as this objective trains it (e.g. spectrally normalised); called once, at build."""
        return critic

    @classmethod
    def check(cls, cfg) -> Optional[str]:
        """A one-line problem with ``cfg`` for this objective (key and fix), or None."""
        return None


class WGAN(Objective):
    """Weight clipping, Algorithm 1 of Arjovsky et al. (2017): RMSprop at 5e-5, clip c = 0.01."""

    name = "wgan"
    defaults = {"optimizer": "rmsprop", "lr": 5e-5, "betas": [0.5, 0.999]}
    clips_weights = True

    def constrain(self, critic: nn.Module) -> None:
        clip_weights(critic.parameters(), self.clip)


class _PenalisedWasserstein(Objective):
    """Shared checks of the gradient-penalty objectives."""

    critic_norm = "layer"
    has_penalty = True
    needs_interpolates = True

    @classmethod
    def check(cls, cfg) -> Optional[str]:
        if cfg.model.c_norm == "batch":
            return (f"model.c_norm=batch cannot be used with train.objective={cls.name}: the gradient penalty is "
                    f"per sample and BatchNorm mixes samples; set model.c_norm to layer, instance or none")
        return None


class WGANGP(_PenalisedWasserstein):
    """Gradient penalty (Gulrajani et al. 2017): lambda = 10, Adam 1e-4 with betas (0, 0.9)."""

    name = "wgan-gp"
    defaults = {"optimizer": "adam", "lr": 1e-4, "betas": [0.0, 0.9]}

    def penalty(self, critic, real, fake, alpha):
        return gradient_penalty(critic, real, fake, alpha)


class WGANLP(_PenalisedWasserstein):
    """One-sided Lipschitz penalty (Petzka et al. 2018, "On the regularization of Wasserstein
    GANs"), on the same interpolates as WGAN-GP; Petzka et al. compare it with WGAN-GP at WGAN-GP's
    settings, which are the defaults here: lambda = 10, Adam 1e-4 with betas (0, 0.9)."""

    name = "wgan-lp"
    defaults = {"optimizer": "adam", "lr": 1e-4, "betas": [0.0, 0.9]}

    def penalty(self, critic, real, fake, alpha):
        return lipschitz_penalty(critic, real, fake, alpha)


class _SpectrallyNormalised(Objective):
    """A critic with spectral normalisation on every layer (Miyato et al. 2018) and no other
    normalisation by default; Adam 2e-4 with betas (0.5, 0.999), their setting C (they report
    n_dis = 1 for it; ``train.n_critic`` keeps the package default unless set)."""

    critic_norm = "none"
    defaults = {"optimizer": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}

    def prepare_critic(self, critic: nn.Module) -> nn.Module:
        return spectrally_normalise(critic)


class WGANSN(_SpectrallyNormalised):
    """The Wasserstein losses with a spectrally normalised critic instead of clipping."""

    name = "wgan-sn"


class Hinge(_SpectrallyNormalised):
    """The hinge loss of SNGAN and BigGAN with a spectrally normalised critic:
    the critic minimises ``mean(relu(1 - C(real))) + mean(relu(1 + C(fake)))``,
    the generator ``-mean C(G(z))``."""

    name = "hinge"

    def critic_loss(self, c_real, c_fake):
        return F.relu(1 - c_real).mean() + F.relu(1 + c_fake).mean()


class GAN(Objective):
    """Non-saturating GAN baseline (Goodfellow et al. 2014) with the DCGAN settings: Adam 2e-4,
    betas (0.5, 0.999). The critic's output is a logit."""

    name = "gan"
    defaults = {"optimizer": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}

    def critic_loss(self, c_real, c_fake):
        # -log D(real) - log(1 - D(fake)) with D = sigmoid(logit), written stably.
        return F.softplus(-c_real).mean() + F.softplus(c_fake).mean()

    def generator_loss(self, c_fake):
        return F.softplus(-c_fake).mean()  # non-saturating: -log D(G(z))


OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in (WGAN, WGANGP, WGANLP, WGANSN, Hinge, GAN)}


def get_objective(name: str, train_cfg=None) -> Objective:
    """The objective called ``name``, configured from ``train_cfg`` (clip, gp_lambda)."""
    try:
        return OBJECTIVES[name](train_cfg)
    except KeyError:
        raise ValueError(f"unknown objective '{name}'; choose one of {', '.join(OBJECTIVES)}") from None


def critic_loss(objective: str, c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Loss the critic of objective ``objective`` minimises (without any penalty)."""
    return get_objective(objective).critic_loss(c_real, c_fake)


def generator_loss(objective: str, c_fake: torch.Tensor) -> torch.Tensor:
    """Loss the generator minimises under objective ``objective``."""
    return get_objective(objective).generator_loss(c_fake)
