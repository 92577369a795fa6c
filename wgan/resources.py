"""Where the files that ship with wgan are: the configs and the bundled MNIST.

There is one copy of each, at the top of the checkout: ``configs/*.yaml`` and
``data/MNIST/raw/*.gz``. A wheel maps them into the package (pyproject.toml,
``[tool.setuptools.package-dir]``) as ``wgan/configs/`` and ``wgan/bundled/MNIST/raw/``. These
functions look in the installed package first and then in the checkout the package was imported
from, so ``load_config("mnist")`` and the default ``data.root`` work in a checkout, after
``pip install -e .`` and after ``pip install wgan-*.whl`` in any folder.
"""

from __future__ import annotations

import os
from typing import Optional

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT = os.path.dirname(_PACKAGE)
# Only a source checkout (pyproject.toml next to the package) is searched as a fallback, so that
# an unrelated top-level "configs" or "data" folder in site-packages is never picked up.
_IN_CHECKOUT = os.path.isfile(os.path.join(_CHECKOUT, "pyproject.toml"))
DEFAULT_DATA_ROOT = "data"                      # DataConfig.root's default
MNIST_DATASETS = ("mnist", "stacked_mnist")     # the datasets built from the bundled MNIST


def _first_dir(packaged: str, in_checkout: str) -> Optional[str]:
    if os.path.isdir(packaged):
        return packaged
    if _IN_CHECKOUT and os.path.isdir(in_checkout):
        return in_checkout
    return None


def configs_dir() -> Optional[str]:
    """The folder of the shipped ``*.yaml`` configs, or None if this installation has none."""
    return _first_dir(os.path.join(_PACKAGE, "configs"), os.path.join(_CHECKOUT, "configs"))


def config_names() -> list[str]:
    """Names of the shipped configs (``mnist``, ``mnist_cpu``, ...), sorted."""
    folder = configs_dir()
    if folder is None:
        return []
    return sorted(name[:-5] for name in os.listdir(folder) if name.endswith(".yaml"))


def shipped_config(name: str) -> Optional[str]:
    """Path of the shipped config ``name`` (with or without ``.yaml``), or None."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if stem not in config_names():
        return None
    return os.path.join(configs_dir(), stem + ".yaml")


def bundled_data_root() -> Optional[str]:
    """A ``data.root`` that holds the bundled MNIST (``<root>/MNIST/raw``), or None."""
    root = _first_dir(os.path.join(_PACKAGE, "bundled"), os.path.join(_CHECKOUT, "data"))
    return root if root is not None and os.path.isdir(os.path.join(root, "MNIST", "raw")) else None


def holds_mnist(root: str) -> bool:
    """Whether ``wgan.data.load_mnist(root)`` would find a training split there."""
    for folder in (os.path.join(root, "MNIST", "raw"), os.path.join(root, "mnist"), root):
        if os.path.isfile(os.path.join(folder, "train-images-idx3-ubyte")) or \
                os.path.isfile(os.path.join(folder, "train-images-idx3-ubyte.gz")):
            return True
    return False


def resolve_data_root(name: str, root: str) -> str:
    """``root``, or the bundled MNIST when ``root`` is the default ``data`` and no MNIST is there.

    So the default config trains MNIST in any folder after ``pip install``; an explicit
    ``data.root`` (anything but ``data``), or a ``./data`` that holds MNIST, is used as given.
    """
    if name not in MNIST_DATASETS or os.path.normpath(root) != DEFAULT_DATA_ROOT or holds_mnist(root):
        return root
    return bundled_data_root() or root
