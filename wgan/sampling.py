"""Images from a trained generator: seeded grids, one file per image, latent interpolations.

Latents are always drawn on the CPU from a ``torch.Generator`` seeded with the user's seed and
then moved to the model's device, so a seed names the same latent vectors on every machine;
the images themselves match bit for bit on the same device.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Optional

import numpy as np
import torch
from PIL import Image

from .data import to_uint8
from .devices import DeviceUnavailable, resolve_device  # noqa: F401 - part of this module's API
from .files import atomic_write, write_failure

MAX_SEED = 2**63 - 1
PADDING = 2              # pixels between (and around) the images of a grid, as in training grids
PAD_VALUE = 255          # white, like the sample grids written during training
CHUNK = 256              # images per forward pass, bounding memory for large --n
# Largest --n: every image is kept in memory and tiled into one PNG; 65536 images of 64 px are a
# 16384 px square grid (0.8 GB of RGB pixels), about the most an image viewer or PIL handles.
MAX_IMAGES = 65536


def grid_shape(n: int, cols: Optional[int] = None) -> tuple[int, int]:
    """(rows, cols) of a near-square grid holding ``n`` images: 64 -> 8x8, 12 -> 3x4, 10 -> 3x4."""
    if n < 1:
        raise ValueError(f"a grid needs at least one image, got n={n}")
    cols = cols or math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    return seed


def latents(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """``n`` latent vectors z ~ N(0, I) on the CPU, fixed by ``seed``."""
    rng = torch.Generator().manual_seed(check_seed(seed))
    return torch.randn(n, z_dim, generator=rng)


@torch.no_grad()
def images_from_latents(generator: torch.nn.Module, z: torch.Tensor, device=None) -> torch.Tensor:
    """uint8 images (N x C x S x S, CPU) of latents ``z``; BatchNorm in eval mode.

    ``device`` moves the generator there first (``Module.to`` is in place); None keeps it
    where it is.
    """
    if device is not None:
        generator.to(resolve_device(device))
    target = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        parts = [to_uint8(generator(chunk.to(target)).float()).cpu() for chunk in z.split(CHUNK)]
    finally:
        generator.train(was_training)
    return torch.cat(parts)


def generate(generator: torch.nn.Module, n: int, seed: int, device=None) -> torch.Tensor:
    """``n`` uint8 images (N x C x S x S, CPU) for ``seed``: the same seed, the same images."""
    return images_from_latents(generator, latents(n, generator.z_dim, seed), device)


def tile(images: torch.Tensor, cols: Optional[int] = None, padding: int = PADDING,
         pad_value: int = PAD_VALUE) -> np.ndarray:
    """uint8 images (N x C x H x W) -> one uint8 grid array, H' x W' (C == 1) or H' x W' x C.

    Images fill rows left to right; ``padding`` pixels separate them and frame the grid.
    """
    n, channels, height, width = images.shape
    rows, cols = grid_shape(n, cols)
    grid = np.full((rows * (height + padding) + padding, cols * (width + padding) + padding, channels),
                   pad_value, dtype=np.uint8)
    pixels = images.permute(0, 2, 3, 1).numpy()
    for index in range(n):
        top = padding + (index // cols) * (height + padding)
        left = padding + (index % cols) * (width + padding)
        grid[top:top + height, left:left + width] = pixels[index]
    return grid[:, :, 0] if channels == 1 else grid


def to_image(grid: np.ndarray) -> Image.Image:
    """A tiled uint8 array as a PIL image: L for 1 channel, RGB for 3, RGBA for 4."""
    if grid.ndim == 3 and grid.shape[2] not in (3, 4):
        raise ValueError(f"cannot show {grid.shape[2]}-channel images; only 1, 3 or 4 channels make a picture")
    return Image.fromarray(np.ascontiguousarray(grid))


def grid_image(generator: torch.nn.Module, n: int, seed: int, device=None,
               cols: Optional[int] = None) -> Image.Image:
    """The near-square grid of ``n`` images for ``seed`` (what sample.py saves and the viewer shows)."""
    return to_image(tile(generate(generator, n, seed, device), cols))


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: walks the great circle between z0 and z1, interpolating the norm.

    Gaussian latents concentrate near a sphere; a straight line between two of them passes
    through the low-norm interior the generator rarely saw, while this path stays near it.
    """
    n0, n1 = z0.norm(), z1.norm()
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 * u1).sum().clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:          # (anti)parallel: the circle is undefined, a line is the limit
        direction = torch.lerp(u0, u1, t)
    else:
        direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return direction * torch.lerp(n0, n1, t)


def interpolation_latents(z_dim: int, steps: int, seed: int) -> torch.Tensor:
    """2*steps latents: a linear then a spherical path between two points drawn from ``seed``."""
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (its two ends), got {steps}")
    z0, z1 = latents(2, z_dim, seed)
    ts = torch.linspace(0, 1, steps).tolist()
    linear = [torch.lerp(z0, z1, t) for t in ts]
    spherical = [slerp(z0, z1, t) for t in ts]
    return torch.stack(linear + spherical)


def save_png(image: Image.Image, path: str) -> str:
    """Save a PIL image as PNG atomically (``files.atomic_write``); returns ``path``.

    Not durable (no fsync): a preview grid is rewritten by a re-run, and an fsync per grid would
    only slow training down; readers still never see a torn PNG.
    """
    return atomic_write(path, lambda handle: image.save(handle, format="PNG"), durable=False)


def save_each(images: torch.Tensor, folder: str) -> list[str]:
    """One PNG per uint8 image, named 000.png, 001.png, ... in ``folder``; returns the paths."""
    digits = max(3, len(str(images.shape[0] - 1)))
    paths = []
    for index, image in enumerate(images):
        path = os.path.join(folder, f"{index:0{digits}d}.png")
        paths.append(save_png(to_image(tile(image[None], padding=0)), path))
    return paths


# ------------------------------------------------------------------------------ command line
def _parser() -> argparse.ArgumentParser:
    from .commandline import invoked_as

    parser = argparse.ArgumentParser(
        prog=invoked_as("sample.py"), description="Sample images from a trained generator.",
        epilog="examples: sample.py model.safetensors --n 64 --seed 0 --out grid.png | "
               "sample.py runs/mnist --interpolate 10 --out walk.png | sample.py --each samples/")
    parser.add_argument("model", nargs="?", default=None,
                        help="export .safetensors, checkpoint .pt or run directory (default: the bundled "
                             "wgan/assets/mnist_generator.safetensors)")
    parser.add_argument("--n", type=int, default=64, help="number of images (default 64: an 8x8 grid)")
    parser.add_argument("--seed", type=int, default=0, help="latent seed; the same seed gives the same images")
    parser.add_argument("--cols", type=int, default=None, help="grid columns (default: near-square)")
    parser.add_argument("--out", default="grid.png", help="grid PNG to write (default grid.png)")
    parser.add_argument("--each", metavar="DIR", default=None, help="also write every image as DIR/000.png, ...")
    parser.add_argument("--interpolate", metavar="K", type=int, default=None,
                        help="instead of a grid, write two rows of K steps between two latents drawn from "
                             "--seed: linear (top) and spherical (bottom)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="auto: CUDA if available, else CPU")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """``scripts/sample.py``; returns the exit status (2 for bad input, with one message)."""
    from .export import ModelLoadError, load_model  # export is only needed by the command line

    args = _parser().parse_args(argv)
    try:
        if args.n < 1:
            raise ValueError(f"--n must be at least 1, got {args.n}")
        if args.n > MAX_IMAGES:
            raise ValueError(f"--n must be at most {MAX_IMAGES} (one grid PNG holds them all), got {args.n}; "
                             f"lower --n")
        if args.cols is not None and args.cols < 1:
            raise ValueError(f"--cols must be at least 1, got {args.cols}")
        check_seed(args.seed)
        generator, info = load_model(args.model, resolve_device(args.device))
        if args.interpolate is not None:
            z = interpolation_latents(generator.z_dim, args.interpolate, args.seed)
            images, cols = images_from_latents(generator, z), args.interpolate
        else:
            images, cols = generate(generator, args.n, args.seed), args.cols
        grid = to_image(tile(images, cols))
    except (ModelLoadError, DeviceUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        save_png(grid, args.out)
    except OSError as err:      # a full disk, --out below a regular file, a read-only folder
        print(f"error: {write_failure(err, args.out, '--out')}", file=sys.stderr)
        return 2
    what = f"{args.interpolate}-step interpolation" if args.interpolate is not None else f"{len(images)} images"
    print(f"wrote {args.out} ({what}, seed {args.seed}, {grid.width}x{grid.height} px) from {info.path}")
    if args.each:
        try:
            paths = save_each(images, args.each)
        except OSError as err:
            print(f"error: {write_failure(err, os.path.join(args.each, '000.png'), '--each')}", file=sys.stderr)
            return 2
        print(f"wrote {len(paths)} images to {args.each}/")
    return 0
