"""Datasets as uint8 tensors (N x C x H x W) and a sampler of real training batches.

Every loader returns the whole dataset as one uint8 tensor: the datasets a WGAN is trained on
here fit in memory, and holding them as one tensor lets the sampler keep them on the GPU,
resized once, so a training step never waits for a DataLoader.
"""

from __future__ import annotations

import gzip
import os
import pickle
import re
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".tif", ".tiff")


class DatasetNotFound(FileNotFoundError):
    """A dataset is missing; the message names the paths tried and how to get the data."""


@dataclass
class ImageDataset:
    images: torch.Tensor                 # uint8, N x C x H x W
    labels: Optional[torch.Tensor]       # int64, N (None for unlabelled data)
    name: str

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    def __len__(self) -> int:
        return self.images.shape[0]


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise ValueError(f"{path} is truncated or padded: {len(raw) - offset} bytes of data, expected {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find_idx(dirs: list[str], stem: str) -> Optional[str]:
    for directory in dirs:
        for candidate in (stem, stem + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                return path
    return None


def _load_idx_pair(dirs: list[str], split: str, name: str, how_to_get: str) -> ImageDataset:
    image_stem, label_stem = IDX_FILES[split]
    images_path, labels_path = _find_idx(dirs, image_stem), _find_idx(dirs, label_stem)
    if images_path is None or labels_path is None:
        tried = ", ".join(dirs)
        raise DatasetNotFound(
            f"{name} {split} split not found: looked for {image_stem}[.gz] and {label_stem}[.gz] in "
            f"{tried}; {how_to_get}")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images_path} holds {images.shape[0]} images but {labels_path} {labels.shape[0]} labels")
    return ImageDataset(torch.from_numpy(images.copy()).unsqueeze(1),
                        torch.from_numpy(labels.astype(np.int64)), name)


def load_mnist(root: str = "data", split: str = "train") -> ImageDataset:
    dirs = [os.path.join(root, "MNIST", "raw"), os.path.join(root, "mnist"), root]
    return _load_idx_pair(dirs, split, "MNIST",
                          "the repository ships it in data/MNIST/raw; set data.root to the folder holding MNIST/raw")


def load_fashion_mnist(root: str = "data", split: str = "train") -> ImageDataset:
    dirs = [os.path.join(root, "FashionMNIST", "raw"), os.path.join(root, "fashion-mnist"), FASHION_SYSTEM_DIR]
    try:
        return _load_idx_pair(dirs, split, "Fashion-MNIST", "")
    except DatasetNotFound as missing:
        try:
            from torchvision.datasets import FashionMNIST
            FashionMNIST(root, train=split == "train", download=True)
            return _load_idx_pair(dirs, split, "Fashion-MNIST", "")
        except Exception:
            raise DatasetNotFound(
                f"{missing}get it with 'apt-get install dataset-fashion-mnist' (Debian) or put the four IDX "
                f"files in {dirs[0]} (torchvision's download failed: offline?)") from None


CIFAR_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
# The only globals a CIFAR-10 python batch needs: numpy arrays and their dtype.
CIFAR_ALLOWED_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                         ("numpy", "ndarray"), ("numpy", "dtype")}


class _CifarUnpickler(pickle.Unpickler):
    """CIFAR-10's "python version" is a pickle; load it without letting it run code."""

    def find_class(self, module, name):
        if (module, name) not in CIFAR_ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: not part of a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_cifar_batch(path: str) -> tuple[np.ndarray, list]:
    with open(path, "rb") as handle:
        batch = _CifarUnpickler(handle, encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = batch.get(b"labels", batch.get(b"fine_labels"))
    return data, list(labels)


def load_cifar10(root: str = "data", split: str = "train") -> ImageDataset:
    """CIFAR-10 in torchvision's on-disk format (``<root>/cifar-10-batches-py``), downloaded when
    missing and online. Batches are read with a restricted unpickler: arrays only."""
    folder = os.path.join(root, "cifar-10-batches-py")
    if not os.path.isdir(folder):
        try:
            from torchvision.datasets import CIFAR10
            CIFAR10(root, train=split == "train", download=True)
        except Exception as err:
            raise DatasetNotFound(
                f"CIFAR-10 not found in {folder} and the download failed ({err.__class__.__name__}); extract "
                f"cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into {root}") from None
    paths = [os.path.join(folder, name) for name in CIFAR_FILES[split]]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise DatasetNotFound(f"CIFAR-10 {split} split incomplete: missing {', '.join(missing)}; re-extract "
                              f"cifar-10-python.tar.gz into {root}")
    try:
        parts = [_read_cifar_batch(p) for p in paths]
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError) as err:
        raise DatasetNotFound(f"CIFAR-10 batch in {folder} is corrupt or not a CIFAR-10 batch ({err}); re-extract "
                              f"cifar-10-python.tar.gz into {root}") from None
    images = torch.from_numpy(np.concatenate([d for d, _ in parts]))
    labels = torch.tensor([label for _, lab in parts for label in lab], dtype=torch.int64)
    return ImageDataset(images, labels, "CIFAR-10")


def _open_regular(path: str):
    """``path`` opened for binary reading if it is a regular file (a symlink to one is fine).

    Opened without blocking and checked on the open descriptor, so a FIFO or device named like
    an image (which would block ``open`` forever, or stream endlessly) is refused, even one
    swapped in after the folder was listed.
    """
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise DatasetNotFound(f"image {path} cannot be opened ({err.strerror}); remove it from data.root or fix "
                              f"it") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device" if (
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "not a regular file"
        raise DatasetNotFound(f"image {path} is {kind}, not a regular file; remove it from data.root")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_image(path: str, image_size: int) -> torch.Tensor:
    """One image file as uint8 3 x S x S (center crop, bicubic resize); DatasetNotFound naming the
    file when it is not a usable image, including one whose header claims more pixels than PIL's
    decompression-bomb limit (PIL's own warning is turned into this error, not printed)."""
    import warnings

    from PIL import Image

    with _open_regular(path) as handle, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(handle) as img:
                img = img.convert("RGB")
                side = min(img.size)
                left, top = (img.width - side) // 2, (img.height - side) // 2
                img = img.crop((left, top, left + side, top + side))
                img = img.resize((image_size, image_size), Image.BICUBIC, reducing_gap=None)
                return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
            found = re.search(r"\((\d+) pixels\)", str(err))
            claim = f" ({int(found.group(1)):,} pixels)" if found else ""
            raise DatasetNotFound(f"image {path} claims to be larger than {Image.MAX_IMAGE_PIXELS:,} pixels{claim}, "
                                  f"a decompression bomb or a damaged header; remove it from data.root") from None
        except (OSError, ValueError, EOFError, SyntaxError, MemoryError) as err:    # PIL's ways of refusing a file
            reason = str(err).splitlines()[0][:120] if str(err) else err.__class__.__name__
            raise DatasetNotFound(f"image {path} cannot be read ({reason}); remove it from data.root or "
                                  f"replace it") from None


def load_image_folder(root: str, image_size: int) -> ImageDataset:
    """Every image under ``root`` (recursively): center-cropped to a square, resized, RGB.

    Only regular files are read; anything else named like an image, or an image PIL refuses,
    is a DatasetNotFound naming the file.
    """
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise DatasetNotFound(
            f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}; set data.root to a folder of "
            f"images such as CelebA's img_align_celeba")
    out = torch.empty(len(paths), 3, image_size, image_size, dtype=torch.uint8)
    for i, path in enumerate(paths):
        out[i] = _read_image(path, image_size)
    return ImageDataset(out, None, f"folder:{root}")


def make_stacked_mnist(mnist: ImageDataset, size: int, seed: int) -> ImageDataset:
    """Stacked MNIST: three random MNIST digits as R, G, B; mode label = 100*r + 10*g + b."""
    gen = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(mnist), (size, 3), generator=gen)
    images = mnist.images[picks].squeeze(2)                          # size x 3 x 28 x 28
    digits = mnist.labels[picks]                                     # size x 3
    labels = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    return ImageDataset(images.contiguous(), labels, "Stacked MNIST")


def load_dataset(cfg) -> ImageDataset:
    """The dataset named by a validated Config, as uint8 N x C x H x W."""
    d = cfg.data
    if d.name == "mnist":
        return load_mnist(d.root, d.split)
    if d.name == "fashion_mnist":
        return load_fashion_mnist(d.root, d.split)
    if d.name == "cifar10":
        return load_cifar10(d.root, d.split)
    if d.name == "folder":
        return load_image_folder(d.root, d.image_size)
    if d.name == "stacked_mnist":
        return make_stacked_mnist(load_mnist(d.root, d.split), d.stacked_size, cfg.train.seed)
    raise ValueError(f"unknown dataset '{d.name}'")


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize uint8 N x C x H x W to ``size`` (bilinear, antialiased), in chunks to bound memory."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = torch.empty(images.shape[0], images.shape[1], size, size, dtype=torch.uint8, device=images.device)
    for start in range(0, images.shape[0], chunk):
        part = images[start:start + chunk].float()
        part = F.interpolate(part, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range the models work in."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]."""
    return images.detach().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


class RealSampler:
    """Endless batches of real images in [-1, 1], drawn without replacement within an epoch.

    The dataset is resized once and kept on ``device`` (the GPU when training there), so a
    batch is one index-select: no host-device copy and no synchronisation per step. The
    permutation and cursor are part of ``state_dict`` so a resumed run sees the same batches.
    """

    def __init__(self, images: torch.Tensor, image_size: int, batch_size: int,
                 device: torch.device, seed: int, on_device: bool = True, rank: int = 0, world_size: int = 1):
        if batch_size * world_size > images.shape[0]:
            raise ValueError(f"batch size {batch_size} x {world_size} processes is larger than the dataset "
                             f"({images.shape[0]} images)")
        store = device if on_device else torch.device("cpu")
        self.images = resize_uint8(images.to(store), image_size)
        self.batch_size = batch_size
        self.device = device
        # Every rank draws the same permutation (same seed) and takes its own slice of each
        # global batch: ranks see disjoint images within an epoch, and the state is rank-free,
        # so a run can resume with another number of processes.
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator(device=store).manual_seed(seed)
        self.perm = torch.empty(0, dtype=torch.long, device=store)
        self.cursor = 0

    def __len__(self) -> int:
        return self.images.shape[0]

    def next_indices(self) -> torch.Tensor:
        stride = self.batch_size * self.world_size
        if self.cursor + stride > self.perm.numel():
            self.perm = torch.randperm(len(self), generator=self.generator, device=self.perm.device)
            self.cursor = 0
        start = self.cursor + self.rank * self.batch_size
        idx = self.perm[start:start + self.batch_size]
        self.cursor += stride
        return idx

    def next_uint8(self) -> torch.Tensor:
        batch = self.images.index_select(0, self.next_indices())
        return batch.to(self.device, non_blocking=True)

    def next(self) -> torch.Tensor:
        return to_unit_range(self.next_uint8())

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "perm": self.perm.cpu(), "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.perm = state["perm"].to(self.perm.device)
        self.cursor = int(state["cursor"])
