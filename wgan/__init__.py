"""wgan: Wasserstein GANs (Arjovsky, Chintala & Bottou 2017) in PyTorch.

The public API is small::

    from wgan import load_config, train, Trainer, Generator, Critic, load_generator

Importing the package has no side effects: nothing is read, written or put on a device.
"""

from .config import Config, ConfigError, load_config
from .export import load_generator
from .models import Critic, Generator
from .trainer import Trainer, TrainResult, train

__all__ = ["Config", "ConfigError", "Critic", "Generator", "Trainer", "TrainResult", "load_config", "load_generator",
           "train"]
__version__ = "0.1.0"
