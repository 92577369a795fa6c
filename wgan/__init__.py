"""wgan: Wasserstein GANs (Arjovsky, Chintala & Bottou 2017) in PyTorch.

The public API is small::

    from wgan import load_config, train, Trainer, Generator, Critic, load_generator

Importing the package has no side effects: nothing is read, written or put on a device. The names
are imported when first used (PEP 562), so ``import wgan`` alone imports no torch: the command
lines install their signal handlers (``wgan.startup``) before the seconds of ``import torch``.
"""

import importlib

_API = {"Config": "config", "ConfigError": "config", "load_config": "config", "load_generator": "export",
        "Critic": "models", "Generator": "models", "Trainer": "trainer", "TrainResult": "trainer", "train": "trainer"}

__all__ = ["Config", "ConfigError", "Critic", "Generator", "Trainer", "TrainResult", "load_config", "load_generator",
           "train"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _API:
        value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wgan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
