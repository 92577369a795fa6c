"""The sign convention and weight clipping, tested on what they must do to a network."""

import torch

from wgan.models import Critic, Generator
from wgan.objectives import clip_weights, critic_loss, em_estimate, generator_loss


def test_losses_match_the_paper_convention():
    c_real, c_fake = torch.tensor([3.0, 1.0]), torch.tensor([0.5, -0.5])
    assert em_estimate(c_real, c_fake).item() == 2.0
    assert critic_loss("wgan", c_real, c_fake).item() == -2.0   # critic minimises -EM
    assert generator_loss("wgan", c_fake).item() == 0.0         # generator minimises -mean C(fake)
    assert generator_loss("wgan", torch.tensor([2.0])).item() == -2.0


def test_a_critic_step_raises_the_em_estimate_on_a_fixed_batch():
    torch.manual_seed(0)
    critic = Critic(16, 1, width=8, norm="none")
    real, fake = torch.rand(16, 1, 16, 16) * 2 - 1, torch.rand(16, 1, 16, 16) * 0.2
    opt = torch.optim.RMSprop(critic.parameters(), lr=1e-3)
    before = em_estimate(critic(real), critic(fake)).item()
    for _ in range(5):
        opt.zero_grad()
        critic_loss("wgan", critic(real), critic(fake)).backward()
        opt.step()
        clip_weights(critic.parameters(), 0.01)
    assert em_estimate(critic(real), critic(fake)).item() > before


def test_a_generator_step_lowers_its_loss_against_a_fixed_critic():
    torch.manual_seed(0)
    gen, critic = Generator(16, 1, z_dim=8, width=8), Critic(16, 1, width=8, norm="none")
    z = torch.randn(16, 8)
    opt = torch.optim.RMSprop(gen.parameters(), lr=1e-3)
    critic.requires_grad_(False)
    before = generator_loss("wgan", critic(gen(z))).item()
    for _ in range(5):
        opt.zero_grad()
        generator_loss("wgan", critic(gen(z))).backward()
        opt.step()
    assert generator_loss("wgan", critic(gen(z))).item() < before


def test_clip_weights_bounds_every_parameter_in_place():
    critic = Critic(16, 1, width=8, norm="batch")
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    ids = [id(p) for p in critic.parameters()]
    clip_weights(critic.parameters(), 0.01)
    assert [id(p) for p in critic.parameters()] == ids
    for p in critic.parameters():
        assert p.abs().max().item() <= 0.01
    assert any((p.abs() == 0.01).any() for p in critic.parameters())   # values were clamped, not rescaled


# ------------------------------------------------------------------ the registry and the new objectives
import os
import re

import pytest

from wgan.config import CRITIC_NORMS, OPTIMIZERS, load_config
from wgan.objectives import (
    OBJECTIVES,
    get_objective,
    lipschitz_penalty,
    spectrally_normalise,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_states_valid_defaults_and_fills_the_config(name):
    cls = OBJECTIVES[name]
    assert cls.name == name and cls.critic_norm in CRITIC_NORMS
    assert cls.defaults["optimizer"] in OPTIMIZERS and cls.defaults["lr"] > 0
    cfg = load_config(None, [f"train.objective={name}"])
    assert (cfg.train.optimizer, cfg.train.lr, cfg.model.c_norm) == (
        cls.defaults["optimizer"], cls.defaults["lr"], cls.critic_norm)


def test_no_module_outside_objectives_compares_objective_names():
    pattern = re.compile(r"objective ==|objective !=|objective in \(")
    hits = []
    for folder, _, files in os.walk(os.path.join(REPO, "wgan")):
        for name in files:
            if name.endswith(".py") and name != "objectives.py":
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as handle:
                    hits += [f"{path}:{i}" for i, line in enumerate(handle, 1) if pattern.search(line)]
    assert not hits


@pytest.mark.parametrize("name", ["wgan", "wgan-gp", "wgan-lp", "wgan-sn"])
def test_wasserstein_objectives_share_the_paper_signs(name):
    obj = get_objective(name)
    c_real, c_fake = torch.tensor([3.0, 1.0]), torch.tensor([0.5, -0.5])
    assert obj.critic_loss(c_real, c_fake).item() == -2.0
    assert obj.generator_loss(torch.tensor([2.0])).item() == -2.0


def test_hinge_losses_match_their_definition():
    obj = get_objective("hinge")
    # Real scores above 1 and fake scores below -1 cost nothing; inside the margin they cost linearly.
    assert obj.critic_loss(torch.tensor([2.0, 1.5]), torch.tensor([-3.0, -1.0])).item() == 0.0
    assert obj.critic_loss(torch.tensor([0.5]), torch.tensor([0.0])).item() == pytest.approx(0.5 + 1.0)
    assert obj.generator_loss(torch.tensor([1.0, 3.0])).item() == -2.0
    c_real = torch.tensor([0.2], requires_grad=True)
    c_fake = torch.tensor([0.3], requires_grad=True)
    obj.critic_loss(c_real, c_fake).backward()
    assert c_real.grad.item() < 0 < c_fake.grad.item()    # descent raises real scores, lowers fake ones


def linear_critic(weight):
    return lambda x: x @ weight


def test_lipschitz_penalty_is_one_sided():
    real, fake, alpha = torch.randn(32, 2), torch.randn(32, 2), torch.rand(32)
    flat, _ = lipschitz_penalty(linear_critic(torch.tensor([0.6, 0.0])), real, fake, alpha)
    assert flat.item() == 0.0                            # slope 0.6 < 1: nothing to penalise
    steep, norm = lipschitz_penalty(linear_critic(torch.tensor([3.0, 4.0])), real, fake, alpha)
    assert norm.item() == pytest.approx(5.0) and steep.item() == pytest.approx(16.0)
    # WGAN-GP would penalise the flat critic too: (0.6 - 1)^2.
    assert get_objective("wgan-gp").penalty(linear_critic(torch.tensor([0.6, 0.0])), real, fake, alpha)[0].item() \
        == pytest.approx(0.16)


def test_spectral_norm_bounds_every_layer_of_the_critic():
    torch.manual_seed(0)
    critic = spectrally_normalise(Critic(16, 1, width=8, norm="none"))
    for _ in range(30):                                   # power iterations run in training-mode forwards
        critic(torch.randn(4, 1, 16, 16))
    convs = [m for m in critic.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, rel=0.05)


def test_only_weight_clipping_constrains_after_the_step():
    critic = Critic(16, 1, width=8, norm="none")
    with torch.no_grad():
        for p in critic.parameters():
            p.normal_(0, 1)
    before = [p.clone() for p in critic.parameters()]
    for name in ("wgan-gp", "wgan-lp", "wgan-sn", "hinge", "gan"):
        get_objective(name).constrain(critic)
        assert all(torch.equal(a, b) for a, b in zip(before, critic.parameters()))
    get_objective("wgan").constrain(critic)
    assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01


def test_penalty_objectives_refuse_a_batchnorm_critic():
    from wgan.config import ConfigError
    for name in ("wgan-gp", "wgan-lp"):
        with pytest.raises(ConfigError, match=f"model.c_norm=batch cannot be used with train.objective={name}"):
            load_config(None, [f"train.objective={name}", "model.c_norm=batch"])
