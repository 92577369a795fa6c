"""Batched feature extraction and the uint8 conversion every metric starts from.

A feature extractor here is any callable ``uint8 N x C x H x W -> float N x d`` with a
``feature_id`` attribute naming its weights (``InceptionFeatures``, ``ClassifierFeatures`` or a
tiny stand-in in tests). Metrics see images as uint8, like saved PNGs: generated images are
quantised once with ``wgan.data.to_uint8`` so that generated and real sets go through exactly
the same pipeline.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..data import to_uint8


def as_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] -> uint8; uint8 images pass through unchanged."""
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 or float in [-1, 1], got {images.dtype}")
    return to_uint8(images)


@torch.no_grad()
def extract_features(extractor: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                     batch_size: int = 200) -> torch.Tensor:
    """Run ``extractor`` over ``images`` (uint8 N x C x H x W, any device) in batches.

    Returns:
        float32 N x d features on the CPU.
    """
    if images.shape[0] == 0:
        raise ValueError("no images to extract features from")
    parts = [extractor(images[start:start + batch_size]).float().cpu()
             for start in range(0, images.shape[0], batch_size)]
    return torch.cat(parts)
