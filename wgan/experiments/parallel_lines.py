"""Experiment 1: distances between parallel lines (Example 1 of Arjovsky et al. 2017).

P0 is uniform on the segment {0} x [0, 1] and P_theta uniform on {theta} x [0, 1]. Their
supports are disjoint for every theta != 0, so

* EM(P0, P_theta) = |theta|                (continuous in theta: a usable training signal)
* JS(P0, P_theta) = log 2 if theta != 0 else 0
* KL(P_theta || P0) = +inf if theta != 0 else 0
* TV(P0, P_theta) = 1 if theta != 0 else 0

Only EM tells the generator how far it is from the data. The experiment draws the closed
forms and, as markers, estimates from samples: EM from a trained MLP critic (with a gradient
penalty, which estimates EM itself, and with weight clipping, which estimates K * EM for an
unknown K, fitted here), JS from a trained GAN discriminator.
"""

from __future__ import annotations

import math
import time
from typing import Optional, Sequence

import torch

from ..mlp import MLPCritic
from .common import (
    ToySettings,
    em_value,
    few_threads,
    fit_critic,
    js_value,
    json_path,
    pyplot,
    save_figure,
    write_json,
)

LOG2 = math.log(2.0)


def sample_line(theta: float, n: int) -> torch.Tensor:
    """``n`` points uniform on {theta} x [0, 1] (n x 2)."""
    return torch.stack([torch.full((n,), float(theta)), torch.rand(n)], dim=1)


def closed_forms(theta: float) -> dict:
    """EM, JS, KL and TV between P0 and P_theta (KL is +inf off zero)."""
    apart = theta != 0
    return {"em": abs(theta), "js": LOG2 if apart else 0.0, "kl": math.inf if apart else 0.0,
            "tv": 1.0 if apart else 0.0}


def gp_optimum(theta: float, gp_lambda: float) -> float:
    """What an optimal WGAN-GP critic reports here: |theta| * (1 + |theta| / (2 lambda)).

    The interpolates fill the strip between the lines, where the best critic is linear in x
    with slope a maximising ``a |theta| - lambda (a - 1)^2``, i.e. ``a = 1 + |theta| / (2 lambda)``:
    the soft penalty lets the slope exceed 1 a little, so the estimate is biased upwards.
    """
    return abs(theta) * (1.0 + abs(theta) / (2.0 * gp_lambda))


def _estimate(objective: str, theta: float, steps: int, width: int, eval_n: int, seed: int) -> float:
    settings = ToySettings(objective, steps=steps, batch_size=256, seed=seed)
    critic = fit_critic(MLPCritic(2, width, depth=2), lambda n: sample_line(0.0, n),
                        lambda n: sample_line(theta, n), settings)
    real, fake = sample_line(0.0, eval_n), sample_line(theta, eval_n)   # held-out samples
    # The GAN's discriminator estimates the JS divergence, a Wasserstein critic the EM distance.
    estimate = {"gan": js_value}.get(objective, em_value)
    return estimate(critic, real, fake)


def run(out: str = "docs/figures/parallel_lines.png", thetas: Optional[Sequence[float]] = None,
        steps: int = 1000, width: int = 64, eval_n: int = 10000, seed: int = 0,
        echo=print) -> dict:
    """Estimate EM and JS on a grid of theta, draw the figure and write its JSON.

    Args:
        out: PNG path; the JSON goes beside it (same name, ``.json``).
        thetas: values of theta; default 21 points in [-1, 1].
        steps: critic/discriminator training steps per theta and estimator.
        width: hidden units of the 2-hidden-layer MLP critic.
        eval_n: held-out samples per distribution for each estimate.
        seed: seeds each training (the same seed for every theta).
        echo: where progress lines go.

    Returns:
        The JSON payload.
    """
    thetas = [round(-1 + 0.1 * i, 2) for i in range(21)] if thetas is None else [float(t) for t in thetas]
    gp_lambda = ToySettings().gp_lambda
    start = time.perf_counter()
    rows = []
    for theta in thetas:
        with few_threads():
            row = {"theta": theta, **{k: (v if math.isfinite(v) else "inf") for k, v in closed_forms(theta).items()},
                   "em_gp": _estimate("wgan-gp", theta, steps, width, eval_n, seed),
                   "em_gp_optimum": gp_optimum(theta, gp_lambda),
                   "em_clip": _estimate("wgan", theta, steps, width, eval_n, seed),
                   "js_discriminator": _estimate("gan", theta, steps, width, eval_n, seed)}
        echo(f"theta={theta:+.2f}  EM={abs(theta):.3f}  gp={row['em_gp']:.4f}  clip={row['em_clip']:.2e}  "
             f"JS={row['js']:.4f}  JS est={row['js_discriminator']:.4f}")
        rows.append(row)
    # Weight clipping bounds the critic to K-Lipschitz functions for an unknown K, so its
    # estimate is K * EM: fit K by least squares through the origin and compare the shape.
    k = sum(r["em_clip"] * abs(r["theta"]) for r in rows) / max(1e-12, sum(r["theta"] ** 2 for r in rows))
    off_zero = [r for r in rows if r["theta"] != 0]
    payload = {
        "experiment": "parallel_lines",
        "protocol": {"critic": f"MLP 2->{width}->{width}->1 (ReLU)", "eval_samples": eval_n,
                     **{name: ToySettings(obj, steps=steps, seed=seed).as_dict() for name, obj in
                        (("critic_gp", "wgan-gp"), ("critic_clip", "wgan"), ("discriminator", "gan"))}},
        "clip_scale_K": k,
        "max_abs_error_em_gp": max(abs(r["em_gp"] - r["em"]) for r in rows),
        "max_abs_error_em_gp_vs_gp_optimum": max(abs(r["em_gp"] - r["em_gp_optimum"]) for r in rows),
        "max_abs_error_em_clip_over_K": max(abs(r["em_clip"] / k - r["em"]) for r in rows) if k > 0 else None,
        "min_js_estimate_off_zero": min((r["js_discriminator"] for r in off_zero), default=None),
        "seconds": round(time.perf_counter() - start, 1),
        "rows": rows,
    }
    plot(rows, k, out)
    write_json(json_path(out), payload)
    return payload


def plot(rows: list[dict], k: float, out: str) -> None:
    """Four panels (EM, JS, KL, TV against theta): closed forms as lines, estimates as markers."""
    plt = pyplot()
    thetas = [r["theta"] for r in rows]
    dense = [-1 + i / 200 for i in range(401)]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))

    ax = axes[0]
    ax.plot(dense, [abs(t) for t in dense], color="C0", label="EM = |θ|")
    ax.plot(thetas, [r["em_gp"] for r in rows], "o", color="C1", label="critic, gradient penalty")
    if k > 0:
        ax.plot(thetas, [r["em_clip"] / k for r in rows], "x", color="C2", label=f"critic, clipping / K (K={k:.1e})")
    ax.set_title("Earth-Mover (Wasserstein-1)")

    ax = axes[1]
    ax.plot([t for t in dense if t < 0], [LOG2 for t in dense if t < 0], color="C0", label="JS = log 2 (θ≠0)")
    ax.plot([t for t in dense if t > 0], [LOG2 for t in dense if t > 0], color="C0")
    ax.plot([0], [0], "o", color="C0", mfc="C0")
    ax.plot([0, 0], [0, LOG2], ":", color="C0")
    ax.plot(thetas, [r["js_discriminator"] for r in rows], "s", color="C3", mfc="none",
            label="discriminator estimate")
    ax.set_title("Jensen-Shannon")
    ax.set_ylim(-0.05, 0.8)

    ax = axes[2]
    top = 1.0  # +inf is drawn at the top of the axis, labelled "+inf"
    ax.plot([t for t in dense if t < 0], [top for t in dense if t < 0], color="C0", label="KL = +∞ (θ≠0)")
    ax.plot([t for t in dense if t > 0], [top for t in dense if t > 0], color="C0")
    ax.plot([0], [0], "o", color="C0")
    ax.plot([0, 0], [0, top], ":", color="C0")
    ax.set_yticks([0, top], ["0", "+∞"])
    ax.set_ylim(-0.05, 1.15)
    ax.set_title("Kullback-Leibler KL(P_θ || P_0)")

    ax = axes[3]
    ax.plot([t for t in dense if t < 0], [1.0 for t in dense if t < 0], color="C0", label="TV = 1 (θ≠0)")
    ax.plot([t for t in dense if t > 0], [1.0 for t in dense if t > 0], color="C0")
    ax.plot([0], [0], "o", color="C0")
    ax.plot([0, 0], [0, 1], ":", color="C0")
    ax.set_ylim(-0.05, 1.15)
    ax.set_title("Total variation")

    for ax in axes:
        ax.set_xlabel("θ")
        ax.grid(alpha=0.3)
        ax.legend(loc="center right" if ax is not axes[0] else "upper center", fontsize=8)
    fig.suptitle("Parallel lines: P_0 on {0}×[0,1], P_θ on {θ}×[0,1] (lines: closed form; markers: from samples)")
    fig.tight_layout()
    save_figure(fig, out)
