"""Shapes, output ranges and initialisation of the DCGAN generator and critic and of the paper's
MLP generator (model.g_arch=mlp)."""

import pytest
import torch
from torch import nn

from wgan.config import load_config
from wgan.models import (
    Critic,
    Generator,
    MLPGenerator,
    build_models,
    count_parameters,
    make_generator,
)


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


# ---------------------------------------------------------------- the paper's MLP generator
@pytest.mark.parametrize("size", [16, 32])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm", ["none", "batch"])
def test_mlp_generator_gives_images_in_range(size, channels, norm):
    gen = MLPGenerator(size, channels, z_dim=8, width=16, norm=norm)
    images = gen(torch.randn(5, 8))
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1          # Tanh output
    assert Critic(size, channels, width=4, norm="none")(images).shape == (5,)
    assert gen(torch.randn(5, 8, 1, 1)).shape == images.shape  # the DCGAN generator's z layouts too


def test_paper_mlp_generator_at_32x32x1_is_the_official_mlp_G():
    gen = MLPGenerator(32, 1, z_dim=100, width=512, norm="none")
    linears = [m for m in gen.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(100, 512), (512, 512), (512, 512), (512, 1024)]
    assert all(m.bias is not None for m in linears)
    assert sum(isinstance(m, nn.ReLU) for m in gen.modules()) == 3
    assert isinstance(gen.net[-1], nn.Tanh)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in gen.modules())
    # Weights + biases by hand: 100*512+512, twice 512*512+512, 512*1024+1024.
    assert count_parameters(gen) == 51_712 + 2 * 262_656 + 525_312 == 1_102_336


def test_mlp_batch_norm_sits_after_each_hidden_linear_map():
    gen = MLPGenerator(16, 1, z_dim=8, width=16, norm="batch")
    kinds = [type(m).__name__ for m in gen.net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"] * 3 + ["Linear", "Tanh"]
    hidden = [m for m in gen.net[:-2] if isinstance(m, nn.Linear)]
    assert all(m.bias is None for m in hidden)                 # BatchNorm's beta is the bias
    assert gen.net[-2].bias is not None
    with pytest.raises(ValueError, match="generator norm must be 'batch' or 'none'"):
        MLPGenerator(16, 1, norm="layer")


def test_mlp_weight_init_is_the_official_codes():
    # PyTorch's default Linear init (uniform in +-1/sqrt(fan_in)), as the official mlp_G; DCGAN
    # init only for BatchNorm1d, as the official weights_init.
    torch.manual_seed(0)
    gen = MLPGenerator(32, 1, z_dim=100, width=512, norm="batch")
    first, last = [m for m in gen.modules() if isinstance(m, nn.Linear)][::3]
    assert first.weight.abs().max() <= 100 ** -0.5 and first.weight.std() > 0.05      # not N(0, 0.02)
    assert last.weight.abs().max() <= 512 ** -0.5 and torch.count_nonzero(last.bias) > 0
    gammas = torch.cat([m.weight for m in gen.modules() if isinstance(m, nn.BatchNorm1d)])
    assert abs(gammas.mean().item() - 1.0) < 5e-3 and abs(gammas.std().item() - 0.02) < 5e-3


def test_mlp_generator_works_with_channels_last_and_bf16_autocast():
    gen = MLPGenerator(16, 3, z_dim=8, width=16, norm="batch").to(memory_format=torch.channels_last)
    critic = Critic(16, 3, width=4, norm="none").to(memory_format=torch.channels_last)
    z = torch.randn(4, 8)
    assert gen(z).shape == (4, 3, 16, 16)
    # The trainer's Autocast wraps forwards in CUDA bf16 autocast; CPU autocast is the same dispatch.
    with torch.autocast("cpu", dtype=torch.bfloat16):
        images = gen(z)
        scores = critic(images)
    assert images.dtype == torch.bfloat16 and images.shape == (4, 3, 16, 16) and scores.shape == (4,)
    scores.float().sum().backward()
    assert all(p.grad is not None for p in gen.parameters())


def test_generators_rebuild_from_their_describe():
    for gen in (Generator(16, 1, z_dim=8, width=4), MLPGenerator(16, 3, z_dim=8, width=16, norm="batch")):
        again = make_generator(**gen.describe())
        assert type(again) is type(gen) and again.describe() == gen.describe()
        assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in gen.state_dict().items()}
    assert "arch" not in Generator(16, 1).describe()          # DCGAN exports are as before the MLP existed
    with pytest.raises(ValueError, match="generator arch must be one of dcgan, mlp"):
        make_generator(arch="resnet", image_size=16)


def test_build_models_picks_the_generator_by_config():
    base = ["data.image_size=16", "model.z_dim=8", "model.c_width=4"]
    gen, critic = build_models(load_config(None, base + ["model.g_arch=mlp", "model.g_mlp_units=16",
                                                         "model.g_norm=none"]), 1)
    assert isinstance(gen, MLPGenerator) and (gen.width, gen.norm) == (16, "none")
    assert isinstance(critic, Critic)                          # the critic stays DCGAN's
    gen, _ = build_models(load_config(None, base + ["model.g_width=4"]), 1)
    assert type(gen) is Generator


# The tiny default-config DCGAN generator as built before model.g_arch existed (recorded with
# that code: torch.manual_seed(0), build_models, then three torch.rand draws): the same modules,
# the same initial weights and the same random numbers consumed.
BEFORE_KEYS = {"net.0.weight": (8, 8, 4, 4), "net.1.weight": (8,), "net.1.bias": (8,), "net.1.running_mean": (8,),
               "net.1.running_var": (8,), "net.1.num_batches_tracked": (), "net.3.weight": (8, 4, 4, 4),
               "net.4.weight": (4,), "net.4.bias": (4,), "net.4.running_mean": (4,), "net.4.running_var": (4,),
               "net.4.num_batches_tracked": (), "net.6.weight": (4, 1, 4, 4), "net.6.bias": (1,)}
BEFORE_PARAM_SUM = 22.433160253944152
BEFORE_RAND_AFTER = [0.9560245275497437, 0.68555748462677, 0.5142068862915039]


def test_default_config_builds_the_dcgan_generator_as_before():
    cfg = load_config(None, ["data.image_size=16", "model.g_width=4", "model.c_width=4", "model.z_dim=8"])
    assert (cfg.model.g_arch, cfg.model.g_mlp_units) == ("dcgan", 512)
    torch.manual_seed(0)
    gen, _ = build_models(cfg, 1)
    after = torch.rand(3).tolist()
    assert type(gen) is Generator
    assert {k: tuple(v.shape) for k, v in gen.state_dict().items()} == BEFORE_KEYS
    assert sum(v.double().sum().item() for v in gen.state_dict().values()) == pytest.approx(BEFORE_PARAM_SUM, rel=1e-9)
    assert after == pytest.approx(BEFORE_RAND_AFTER, abs=0)
    # ... and bit for bit the network the class builds directly with the same seed.
    torch.manual_seed(0)
    direct = Generator(16, 1, 8, 4, "batch")
    _ = Critic(16, 1, 4, cfg.model.c_norm)
    assert all(torch.equal(a, b) for a, b in zip(gen.state_dict().values(), direct.state_dict().values()))
    z = torch.randn(4, 8)
    with torch.no_grad():
        assert torch.equal(gen.eval()(z), direct.eval()(z))
