"""What a run writes while training: TensorBoard scalars and images, metrics.jsonl, PNG grids."""

from __future__ import annotations

import json
import os

import torch

from .data import to_uint8
from .sampling import save_png, tile, to_image

# TensorBoard tags, documented in README.md ("TensorBoard tags").
TAGS = {
    "em_distance": "em_distance",                 # mean C(real) - mean C(fake), no penalty
    "loss_critic": "loss/critic",
    "loss_generator": "loss/generator",
    "critic_real": "critic/real_mean",
    "critic_fake": "critic/fake_mean",
    "grad_norm_critic": "grad_norm/critic",
    "grad_norm_generator": "grad_norm/generator",
    "gradient_penalty": "wgan_gp/penalty",
    "gp_grad_norm": "wgan_gp/grad_norm",
    "images_per_sec": "speed/critic_images_per_sec",
    "steps_per_sec": "speed/generator_steps_per_sec",
}
IMAGE_TAGS = {"fixed": "samples/fixed_noise", "real": "samples/real"}


class RunWriter:
    """TensorBoard events and metrics.jsonl of one run; only rank 0 of a job makes one."""

    def __init__(self, run_dir: str, purge_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter
        self.run_dir = run_dir
        # On resume, events and metrics rows written after the checkpoint are dropped, so a
        # curve never shows two values for one step.
        self.tb = SummaryWriter(log_dir=run_dir, purge_step=purge_step)
        self.metrics_path = os.path.join(run_dir, "metrics.jsonl")
        if purge_step is not None:
            rows = [r for r in read_metrics(run_dir) if r.get("step", 0) < purge_step]
            tmp = self.metrics_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(r) + "\n" for r in rows)
            os.replace(tmp, self.metrics_path)

    def scalars(self, step: int, values: dict) -> None:
        for key, value in values.items():
            self.tb.add_scalar(TAGS.get(key, key), value, step)
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": step, **values}) + "\n")

    def grid(self, step: int, kind: str, images: torch.Tensor, png_name: str) -> str:
        """Float images in [-1, 1] as one grid, the same layout scripts/sample.py writes."""
        grid = tile(to_uint8(images.detach().float().cpu()))        # H x W (gray) or H x W x C
        self.tb.add_image(IMAGE_TAGS[kind], grid, step, dataformats="HW" if grid.ndim == 2 else "HWC")
        path = os.path.join(self.run_dir, "samples", png_name)
        save_png(to_image(grid), path)
        return path

    def flush(self) -> None:
        self.tb.flush()

    def close(self) -> None:
        self.tb.close()


def read_metrics(run_dir: str) -> list[dict]:
    """Rows of a run's metrics.jsonl (skipping a torn last line after a crash)."""
    path = os.path.join(run_dir, "metrics.jsonl")
    rows = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


class NullWriter:
    """Stands in for RunWriter on ranks other than 0, which write nothing."""

    def scalars(self, step: int, values: dict) -> None:
        pass

    def grid(self, step: int, kind: str, images, png_name: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
