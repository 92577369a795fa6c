"""DCGAN generator and critic for any power-of-two image size and channel count, and the WGAN
paper's fully connected generator (``model.g_arch=mlp``).

Both networks double (generator) or halve (critic) the spatial size once per layer between
4x4 and the image size, so a 64x64 model has four strided layers, a 16x16 model two. Widths
follow DCGAN: with width ``w`` the layer at spatial size ``s`` has ``w * image_size / s / 2``
channels (64x64, w=64: 512 at 4x4, 256 at 8x8, 128 at 16x16, 64 at 32x32).

``MLPGenerator`` is the generator of the paper's section 4.3 (figure 6) and of the official
code's ``mlp_G``: three hidden ReLU layers of 512 units and a linear map to the image, Tanh,
reshaped to C x H x W. The critic stays the DCGAN critic whatever the generator.
"""

from __future__ import annotations

import math

import torch
from torch import nn

CRITIC_NORMS = ("none", "batch", "instance", "layer")
GENERATOR_ARCHS = ("dcgan", "mlp")


def _check_size(image_size: int) -> int:
    if image_size < 16 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 16, got {image_size}")
    return int(math.log2(image_size))


def _critic_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        # Normalises over (C, H, W) of each sample, with a per-channel affine: layer norm
        # that does not need the spatial size, and per-sample as WGAN-GP requires.
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"critic norm must be one of {CRITIC_NORMS}, got '{kind}'")


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv and linear weights N(0, 0.02), biases 0; norm gamma N(1, 0.02), beta 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.BatchNorm1d)):
            if m.weight is not None:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """z (N x z_dim) -> images (N x channels x image_size x image_size) in [-1, 1]."""

    def __init__(self, image_size: int = 64, channels: int = 1, z_dim: int = 100,
                 width: int = 64, norm: str = "batch"):
        super().__init__()
        if norm not in ("batch", "none"):
            raise ValueError(f"generator norm must be 'batch' or 'none', got '{norm}'")
        levels = _check_size(image_size) - 2          # upsampling layers from 4x4
        self.image_size, self.channels, self.z_dim = image_size, channels, z_dim
        self.width, self.norm = width, norm

        def block(cin: int, cout: int, first: bool) -> list[nn.Module]:
            conv = (nn.ConvTranspose2d(cin, cout, 4, 1, 0, bias=norm == "none") if first
                    else nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=norm == "none"))
            normal = nn.BatchNorm2d(cout) if norm == "batch" else nn.Identity()
            return [conv, normal, nn.ReLU(True)]

        ch = width * 2 ** (levels - 1)
        layers = block(z_dim, ch, first=True)         # (width * size/8) x 4 x 4
        for _ in range(levels - 1):
            layers += block(ch, ch // 2, first=False)  # channels halve, side doubles
            ch //= 2
        # ch == width here: width x size/2 x size/2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]  # channels x size x size
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))

    def describe(self) -> dict:
        return {"image_size": self.image_size, "channels": self.channels, "z_dim": self.z_dim,
                "width": self.width, "norm": self.norm}


class MLPGenerator(nn.Module):
    """z (N x z_dim) -> images (N x channels x image_size x image_size) in [-1, 1], fully connected.

    The paper's MLP generator (section 4.3, figure 6; the official code's ``mlp_G``): Linear(z_dim,
    width), ReLU, two more Linear(width, width), ReLU, then Linear(width, channels * size * size)
    and Tanh, reshaped to an image. ``width`` is the hidden units (the paper's 512). With
    ``norm="batch"`` each hidden linear map is followed by BatchNorm1d before its ReLU (and has
    no bias, as DCGAN's normalised convolutions); ``norm="none"`` is the paper's network.
    """

    HIDDEN_LAYERS = 3

    def __init__(self, image_size: int = 64, channels: int = 1, z_dim: int = 100,
                 width: int = 512, norm: str = "none"):
        super().__init__()
        if norm not in ("batch", "none"):
            raise ValueError(f"generator norm must be 'batch' or 'none', got '{norm}'")
        _check_size(image_size)       # the same sizes as the DCGAN models (and the same critic)
        self.image_size, self.channels, self.z_dim = image_size, channels, z_dim
        self.width, self.norm = width, norm
        layers: list[nn.Module] = []
        features = z_dim
        for _ in range(self.HIDDEN_LAYERS):
            layers += [nn.Linear(features, width, bias=norm == "none"),
                       nn.BatchNorm1d(width) if norm == "batch" else nn.Identity(),
                       nn.ReLU(True)]
            features = width
        layers += [nn.Linear(features, channels * image_size * image_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        # As the paper's experiments ran it: the official WGAN code's weights_init matches only
        # the class names Conv and BatchNorm, so its mlp_G keeps PyTorch's default Linear init
        # (uniform, scaled by 1/sqrt(fan_in)). DCGAN's N(0, 0.02) on these layers would start
        # the generator at nearly flat grey (pixel std about 0.007 without BatchNorm).
        for m in self.modules():
            if isinstance(m, nn.BatchNorm1d):
                init_weights(m)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z.reshape(z.shape[0], self.z_dim))
        return x.view(z.shape[0], self.channels, self.image_size, self.image_size)

    def describe(self) -> dict:
        return {"arch": "mlp", "image_size": self.image_size, "channels": self.channels, "z_dim": self.z_dim,
                "width": self.width, "norm": self.norm}


def make_generator(arch: str = "dcgan", **kwargs) -> nn.Module:
    """The generator of ``describe()`` output: ``arch`` (absent in a DCGAN's, which predates it)
    picks the class, the other keys are its constructor's arguments."""
    if arch == "dcgan":
        return Generator(**kwargs)
    if arch == "mlp":
        return MLPGenerator(**kwargs)
    raise ValueError(f"generator arch must be one of {', '.join(GENERATOR_ARCHS)}, got '{arch}'")


class Critic(nn.Module):
    """images (N x channels x image_size x image_size) -> scores (N,); no sigmoid."""

    def __init__(self, image_size: int = 64, channels: int = 1, width: int = 64,
                 norm: str = "batch"):
        super().__init__()
        levels = _check_size(image_size) - 2
        self.image_size, self.channels, self.width, self.norm = image_size, channels, width, norm
        _critic_norm(norm, 1)  # reject an unknown norm before building anything
        # First layer has no normalisation, as in DCGAN.
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]  # width x size/2 x size/2
        ch = width
        for _ in range(levels - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"),
                       _critic_norm(norm, ch * 2),
                       nn.LeakyReLU(0.2, inplace=True)]       # channels double, side halves
            ch *= 2
        # ch == width * size/8: ch x 4 x 4 -> 1 x 1 x 1
        layers.append(nn.Conv2d(ch, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_models(cfg, channels: int) -> tuple[nn.Module, Critic]:
    """Generator (``model.g_arch``) and critic for a validated Config and a dataset's channel count."""
    m = cfg.model
    size = cfg.data.image_size
    if m.g_arch == "mlp":
        gen: nn.Module = MLPGenerator(size, channels, m.z_dim, m.g_mlp_units, m.g_norm)
    else:
        gen = Generator(size, channels, m.z_dim, m.g_width, m.g_norm)
    critic = Critic(size, channels, m.c_width, m.c_norm)
    return gen, critic
