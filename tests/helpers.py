"""Small builders shared by several test modules (imported as ``helpers``: tests/ is on sys.path)."""

import torch

from wgan.models import Generator

Z_DIM = 8


def tiny_generator(channels=1, size=16, seed=0):
    """A random generator whose images have contrast (DCGAN init alone gives flat grey)."""
    torch.manual_seed(seed)
    gen = Generator(size, channels, Z_DIM, 4)
    norms = [m for m in gen.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        gen.net[-2].weight.normal_(0.0, 0.3)
        for norm in norms:              # running stats = this batch's statistics exactly
            norm.momentum = None
        gen(torch.randn(64, Z_DIM))
        for norm in norms:
            norm.momentum = 0.1
    return gen.eval()
