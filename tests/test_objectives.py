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
