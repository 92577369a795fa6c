"""Shapes, output ranges and initialisation of the DCGAN generator and critic."""

import pytest
import torch
from torch import nn

from wgan.models import Critic, Generator


@pytest.mark.parametrize("size", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size_and_channel_count(size, channels):
    gen = Generator(size, channels, z_dim=8, width=4)
    critic = Critic(size, channels, width=4, norm="none")
    images = gen(torch.randn(3, 8))
    assert images.shape == (3, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1          # Tanh output
    assert critic(images).shape == (3,)


@pytest.mark.parametrize("norm", ["none", "batch", "instance", "layer"])
def test_critic_norms_build_and_run(norm):
    critic = Critic(32, 1, width=4, norm=norm)
    assert critic(torch.randn(2, 1, 32, 32)).shape == (2,)


def test_critic_has_no_sigmoid_and_is_unbounded():
    critic = Critic(16, 1, width=4, norm="none")
    assert not any(isinstance(m, nn.Sigmoid) for m in critic.modules())
    with torch.no_grad():
        for p in critic.parameters():
            p.fill_(0.5)
    assert critic(torch.ones(1, 1, 16, 16)).abs().item() > 1     # a score, not a probability


def test_dcgan_channel_layout_at_64px():
    gen = Generator(64, 1, z_dim=100, width=64)
    convs = [m for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 1]
    critic = Critic(64, 1, width=64)
    convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]


def test_weight_init_follows_dcgan():
    torch.manual_seed(0)
    gen = Generator(64, 1, z_dim=100, width=64)
    conv_w = torch.cat([m.weight.flatten() for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)])
    gammas = torch.cat([m.weight.flatten() for m in gen.modules() if isinstance(m, nn.BatchNorm2d)])
    betas = torch.cat([m.bias.flatten() for m in gen.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv_w.mean().item()) < 1e-3 and abs(conv_w.std().item() - 0.02) < 1e-3
    assert abs(gammas.mean().item() - 1.0) < 5e-3 and abs(gammas.std().item() - 0.02) < 5e-3  # N(1, .02), not N(0, .02)
    assert torch.count_nonzero(betas) == 0


@pytest.mark.parametrize("bad", [8, 24, 100, 0])
def test_rejects_sizes_that_are_not_powers_of_two_from_16(bad):
    with pytest.raises(ValueError, match="power of two"):
        Generator(bad, 1)
    with pytest.raises(ValueError, match="power of two"):
        Critic(bad, 1)
