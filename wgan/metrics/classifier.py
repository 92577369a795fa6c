"""The project's MNIST classifier: mode counting, the MNIST inception score and a cheap FID.

A small CNN (three 3x3 conv + BatchNorm + max-pool blocks, two linear layers; 131k parameters)
trained by ``scripts/train_classifier.py`` on the MNIST train split; its weights ship as
``wgan/assets/mnist_classifier.pt``, a plain state_dict loaded with ``weights_only=True``.
Input: 28 x 28 grayscale in [-1, 1]; images of another size are resized to 28 with
antialiased bilinear interpolation first. Its 128-d penultimate layer (after the ReLU) is the
feature space of the "classifier FID".
"""

from __future__ import annotations

import os
import time
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import ImageDataset
from .inception import file_id

ASSET_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets",
                          "mnist_classifier.pt")
INPUT_SIZE = 28
NUM_CLASSES = 10


class ClassifierNotFound(FileNotFoundError):
    """The classifier weights are missing or unusable."""


class MNISTClassifier(nn.Module):
    """1 x 28 x 28 images in [-1, 1] -> 10 digit logits; ``features`` is the 128-d layer before."""

    feature_dim = 128

    def __init__(self):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        self.body = nn.Sequential(
            *block(1, 32),                        # 32 x 14 x 14
            *block(32, 64),                       # 64 x 7 x 7
            *block(64, 64),                       # 64 x 3 x 3
            nn.Flatten(),                         # 576
            nn.Linear(576, self.feature_dim), nn.ReLU(inplace=True))  # 128
        self.head = nn.Linear(self.feature_dim, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def prepare_digits(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x 1 x H x W -> float N x 1 x 28 x 28 in [-1, 1] (antialiased bilinear resize)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"the MNIST classifier needs uint8 N x 1 x H x W images, got {images.dtype} "
                         f"{tuple(images.shape)}")
    x = images.float()
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x.mul_(2.0 / 255.0).sub_(1.0)


def load_classifier(path: Optional[str] = None, device="cpu") -> MNISTClassifier:
    """The shipped (or a given) classifier, in eval mode on ``device``."""
    path = path or ASSET_PATH
    if not os.path.isfile(path):
        raise ClassifierNotFound(f"MNIST classifier weights '{path}' not found; train them with "
                                 f"'python scripts/train_classifier.py --out {path}'")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        model = MNISTClassifier()
        model.load_state_dict(state)
    except Exception as err:
        raise ClassifierNotFound(f"'{path}' is not a state_dict of wgan's MNISTClassifier "
                                 f"({err.__class__.__name__}); retrain it with scripts/train_classifier.py") from None
    return model.to(device).eval()


class ClassifierFeatures:
    """Feature extractor (uint8 digits -> 128-d penultimate features) for the classifier FID."""

    dim = MNISTClassifier.feature_dim

    def __init__(self, model: MNISTClassifier, feature_id: str):
        self.model, self.feature_id = model, feature_id

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.model.parameters()).device
        return self.model.features(prepare_digits(images.to(device)))


def classifier_features(path: Optional[str] = None, device="cpu") -> ClassifierFeatures:
    path = path or ASSET_PATH
    model = load_classifier(path, device)
    return ClassifierFeatures(model, file_id(path, "mnist-classifier"))


@torch.no_grad()
def classify(model: MNISTClassifier, images: torch.Tensor,
             batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities (N x 10) and penultimate features (N x 128) of uint8 digits, on the CPU."""
    device = next(model.parameters()).device
    probs, feats = [], []
    for start in range(0, images.shape[0], batch_size):
        x = prepare_digits(images[start:start + batch_size].to(device))
        f = model.features(x)
        probs.append(F.softmax(model.head(f), dim=1).float().cpu())
        feats.append(f.float().cpu())
    return torch.cat(probs), torch.cat(feats)


def accuracy(model: MNISTClassifier, data: ImageDataset, batch_size: int = 1000) -> float:
    """Fraction of ``data`` (uint8 digits with labels) classified correctly."""
    probs, _ = classify(model, data.images, batch_size)
    return float((probs.argmax(1) == data.labels).float().mean())


def train_classifier(train: ImageDataset, epochs: int = 4, batch_size: int = 128, lr: float = 3e-3,
                     seed: int = 0, device="cpu", log: Callable[[str], None] = print,
                     shift: int = 2, model: Optional[nn.Module] = None) -> nn.Module:
    """Train an MNISTClassifier (or ``model``) with Adam and a one-cycle learning-rate schedule.

    Inputs get a random shift of up to ``shift`` pixels each way, so the classifier does not
    depend on the exact centring of MNIST digits that a generator need not reproduce.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = (model if model is not None else MNISTClassifier()).to(device)
    images = prepare_digits(train.images)                       # N x 1 x 28 x 28 in [-1, 1]
    labels = train.labels
    steps_per_epoch = len(images) // batch_size
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(images), generator=gen)
        start_time, total = time.perf_counter(), 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            x = images[idx]
            x = (random_shift(x, shift, gen) if shift else x).to(device)
            loss = F.cross_entropy(model(x), labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        log(f"epoch {epoch + 1}/{epochs}: train loss {total / steps_per_epoch:.4f} "
            f"({time.perf_counter() - start_time:.0f} s)")
    return model.eval()


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift each 1-channel image by a random integer offset in [-max_shift, max_shift] (pad -1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]      # n x 1 x h x 1
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]      # n x 1 x 1 x w
    batch = torch.arange(n)[:, None, None, None]
    return padded[batch, 0, rows, cols]                                      # n x 1 x h x w
