"""Experiment 3: stability without BatchNorm (Section 4.3 of Arjovsky et al. 2017).

The same DCGAN generator and critic with every normalisation removed (``model.g_norm=none``,
``model.c_norm=none``) are trained on MNIST through the package's own ``Trainer`` twice: as a
standard (non-saturating) GAN and as a WGAN with weight clipping, for the same number of
generator steps. The paper reports that the WGAN still learns while the GAN fails. The figure
puts the two final fixed-noise sample grids side by side with the WGAN's EM estimate over
training (and, for contrast, the GAN discriminator's JS estimate ``log 2 - loss / 2``).

The full run is meant for a GPU; ``run(..., tiny settings)`` checks the plumbing on a CPU.
"""

from __future__ import annotations

import math
import os
import time
from typing import Optional

from ..config import load_config
from ..data import ImageDataset
from ..data import to_uint8
from ..sampling import save_png, tile, to_image
from ..rundir import RunDir
from ..trainer import NonFiniteError, Trainer
from .common import json_path, pyplot, save_figure, write_json

OBJECTIVES = ("gan", "wgan")


def make_config(objective: str, steps: int, run_dir: str, image_size: int, device: str, width: int,
                batch_size: int, n_critic: int, seed: int, data_root: str, progress: bool):
    """The validated Config of one arm: no normalisation anywhere, objective defaults otherwise."""
    log_every = max(1, steps // 200)
    return load_config(None, [
        "data.name=mnist", f"data.root={data_root}", f"data.image_size={image_size}",
        "model.g_norm=none", "model.c_norm=none", f"model.g_width={width}", f"model.c_width={width}",
        f"train.objective={objective}", f"train.steps={steps}", f"train.batch_size={batch_size}",
        f"train.n_critic={n_critic}", f"system.device={device}", f"train.seed={seed}",
        f"log.log_every={log_every}", f"log.sample_every={steps}", f"log.checkpoint_every={steps}",
        f"log.progress={str(progress).lower()}", f"run.dir={run_dir}",
    ])


def run(out: str = "docs/figures/stability.png", steps: int = 10000, device: str = "auto",
        image_size: int = 32, runs_root: str = "runs/stability", width: int = 64, batch_size: int = 64,
        gan_n_critic: int = 1, wgan_n_critic: int = 5, seed: int = 0, data_root: str = "data",
        dataset: Optional[ImageDataset] = None, progress: bool = True, echo=print) -> dict:
    """Train both arms (or resume them), draw the comparison and write its JSON.

    Args:
        out: PNG path; the JSON goes beside it.
        steps: generator steps of each arm.
        device: auto | cpu | cuda.
        image_size: side of the MNIST images (power of two >= 16).
        runs_root: the arms train in ``runs_root/gan`` and ``runs_root/wgan``; re-running resumes them.
        width: DCGAN width of generator and critic.
        batch_size: images per step.
        gan_n_critic: discriminator steps per generator step of the GAN arm (1, as in DCGAN).
        wgan_n_critic: critic steps per generator step of the WGAN arm (5, Algorithm 1).
        seed: the seed of both arms (same initial noise and fixed sample noise).
        data_root: folder holding MNIST/raw.
        dataset: use this dataset instead of loading MNIST (tests pass a small slice).
        progress: show tqdm bars.
        echo: where the trainer's lines go.

    Returns:
        The JSON payload.
    """
    arms = {}
    for objective in OBJECTIVES:
        run_dir = os.path.join(runs_root, objective)
        n_critic = {"gan": gan_n_critic, "wgan": wgan_n_critic}[objective]
        cfg = make_config(objective, steps, run_dir, image_size, device, width, batch_size, n_critic, seed,
                          data_root, progress)
        start = time.perf_counter()
        trainer = Trainer(cfg, dataset, echo=echo)
        failure = None
        try:
            trainer.run()
        except NonFiniteError as err:   # a diverging arm is a result of this experiment, not a crash
            failure = str(err)
            echo(f"{objective}: {failure}")
        rows = RunDir(run_dir).read_metrics()
        arms[objective] = {"run_dir": run_dir, "samples": trainer.sample(trainer.fixed_z).nan_to_num(0.0),
                           "rows": rows, "seconds": round(time.perf_counter() - start, 1), "n_critic": n_critic,
                           "optimizer": cfg.train.optimizer, "lr": cfg.train.lr, "failure": failure}
        if dataset is None:
            dataset = trainer.dataset   # load MNIST once for both arms
    wgan_rows, gan_rows = arms["wgan"]["rows"], arms["gan"]["rows"]
    payload = {
        "experiment": "stability",
        "protocol": {"dataset": "MNIST", "image_size": image_size, "steps": steps, "batch_size": batch_size,
                     "width": width, "g_norm": "none", "c_norm": "none", "seed": seed},
        "arms": {obj: {k: v for k, v in arm.items() if k not in ("samples", "rows")} for obj, arm in arms.items()},
        "wgan_em_first": wgan_rows[0]["em_distance"] if wgan_rows else None,
        "wgan_em_last": wgan_rows[-1]["em_distance"] if wgan_rows else None,
        "gan_js_estimate_last": _js(gan_rows[-1]) if gan_rows else None,
        "wgan_em_curve": [[r["step"], r["em_distance"]] for r in wgan_rows],
        "gan_js_estimate_curve": [[r["step"], _js(r)] for r in gan_rows],
    }
    plot(arms, out)
    write_json(json_path(out), payload)
    return payload


def _js(row: dict) -> float:
    """The GAN discriminator's JS estimate from its logged loss: log 2 - loss / 2."""
    return math.log(2.0) - 0.5 * row["loss_critic"]


def plot(arms: dict, out: str) -> None:
    """GAN samples | WGAN samples | EM estimate (and the GAN's JS estimate) over training."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [1, 1, 1.4]})
    for ax, objective in zip(axes[:2], OBJECTIVES):
        grid = tile(to_uint8(arms[objective]["samples"].cpu()))
        ax.imshow(grid, cmap="gray", vmin=0, vmax=255)
        ax.set_axis_off()
        steps = arms[objective]["rows"][-1]["step"] if arms[objective]["rows"] else 0
        label = {"gan": "GAN (non-saturating)", "wgan": "WGAN (weight clipping)"}[objective]
        ax.set_title(f"{label}, no BatchNorm, {steps} steps")
    ax = axes[2]
    wgan_rows, gan_rows = arms["wgan"]["rows"], arms["gan"]["rows"]
    ax.plot([r["step"] for r in wgan_rows], [r["em_distance"] for r in wgan_rows], color="C0",
            label="WGAN: EM estimate")
    ax.set_xlabel("generator step")
    ax.set_ylabel("EM estimate (WGAN critic)")
    twin = ax.twinx()
    twin.plot([r["step"] for r in gan_rows], [_js(r) for r in gan_rows], color="C3", alpha=0.7,
              label="GAN: JS estimate")
    twin.axhline(math.log(2.0), color="C3", ls=":", lw=1)
    twin.set_ylabel("JS estimate (GAN discriminator), max log 2")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("Training curves")
    fig.tight_layout()
    save_figure(fig, out)
    # The raw grids too, at full resolution, for a closer look.
    for objective in OBJECTIVES:
        root, _ = os.path.splitext(out)
        save_png(to_image(tile(to_uint8(arms[objective]["samples"].cpu()))), f"{root}_{objective}_samples.png")
