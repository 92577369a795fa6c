"""Experiment 2: optimal discriminator vs WGAN critic on two 1-D Gaussians (the paper's Figure 2).

Real data N(0, 0.5^2), fake data N(6, 0.5^2): far apart, as a generator's samples are at the
start of training. A GAN discriminator trained to (near) optimality saturates: D is ~1 on the
real mode and ~0 on the fake one, and its gradient at the fake samples vanishes, so a
generator trained through it learns nothing. A WGAN critic (weight clipping, as in the paper,
or a gradient penalty) cannot saturate: it grows close to linearly from the fake to the real
mode and gives the fakes a gradient of the same size everywhere.
"""

from __future__ import annotations

import time

import torch

from ..mlp import MLPCritic
from ..toy import gaussian_1d
from .common import (
    ToySettings,
    few_threads,
    fit_critic,
    input_gradient,
    json_path,
    pyplot,
    save_figure,
    write_json,
)

REAL_MEAN, FAKE_MEAN, STD = 0.0, 6.0, 0.5
X_RANGE = (-2.0, 8.0)


def _train(objective: str, steps: int, width: int, seed: int) -> MLPCritic:
    real, fake = gaussian_1d(REAL_MEAN, STD), gaussian_1d(FAKE_MEAN, STD)
    net = MLPCritic(1, width, depth=2)
    return fit_critic(net, real.sample, fake.sample, ToySettings(objective, steps=steps, seed=seed))


def _r2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Coefficient of determination of the least-squares line through (x, y): 1 = exactly linear."""
    design = torch.stack([x, torch.ones_like(x)], dim=1).double()
    coef = torch.linalg.lstsq(design, y.double().unsqueeze(1)).solution
    residual = y.double() - (design @ coef).squeeze(1)
    total = ((y.double() - y.double().mean()) ** 2).sum()
    return float(1.0 - (residual ** 2).sum() / total) if total > 0 else 1.0


def run(out: str = "docs/figures/critic_vs_discriminator.png", steps: int = 3000, width: int = 64,
        eval_n: int = 2000, seed: int = 0, echo=print) -> dict:
    """Train a discriminator and two critics, draw them with their gradients, write the JSON.

    Args:
        out: PNG path; the JSON goes beside it.
        steps: training steps of each network against the fixed pair of Gaussians.
        width: hidden units of the 2-hidden-layer MLPs.
        eval_n: held-out fake samples at which gradients are measured.
        seed: seeds the trainings and the held-out samples.
        echo: where the summary line goes.

    Returns:
        The JSON payload.
    """
    start = time.perf_counter()
    with few_threads():
        disc = _train("gan", steps, width, seed)
        clip = _train("wgan", steps, width, seed)
        gp = _train("wgan-gp", steps, width, seed)

    gen = torch.Generator().manual_seed(seed + 1)
    fakes = gaussian_1d(FAKE_MEAN, STD).sample(eval_n, gen)
    xs = torch.linspace(*X_RANGE, 501).view(-1, 1)
    between = xs[(xs >= REAL_MEAN) & (xs <= FAKE_MEAN)].view(-1, 1)

    # The functions whose x-gradients reach a generator: D itself, the minimax generator loss
    # log(1 - D), the non-saturating loss -log D, and the two critics.
    funcs = {
        "discriminator": lambda x: torch.sigmoid(disc(x)),
        "minimax_generator_loss": lambda x: -torch.nn.functional.softplus(disc(x)),   # log(1 - D)
        "nonsaturating_generator_loss": lambda x: torch.nn.functional.softplus(-disc(x)),  # -log D
        "critic_clip": clip,
        "critic_gp": gp,
    }
    grads = {name: input_gradient(f, fakes).abs() for name, f in funcs.items()}
    curve_grads = {name: input_gradient(f, xs).abs() for name, f in funcs.items()}
    with torch.no_grad():
        values = {name: f(xs).view(-1) for name, f in funcs.items()}
        d_at_fakes = torch.sigmoid(disc(fakes)).mean().item()
        d_at_reals = torch.sigmoid(disc(gaussian_1d(REAL_MEAN, STD).sample(eval_n, gen))).mean().item()
        r2 = {name: _r2(between.view(-1), f(between).view(-1))
              for name, f in (("discriminator", funcs["discriminator"]), ("critic_clip", clip), ("critic_gp", gp))}
    # Scale-free: the gradient at the fakes as a share of the function's largest gradient over
    # the plotted range (a clipped critic's values are tiny, so raw magnitudes mislead).
    kept = {name: grads[name].mean().item() / max(1e-30, curve_grads[name].max().item()) for name in funcs}
    payload = {
        "experiment": "critic_vs_discriminator",
        "real": f"N({REAL_MEAN:g}, {STD:g}^2)", "fake": f"N({FAKE_MEAN:g}, {STD:g}^2)",
        "protocol": {"networks": f"MLP 1->{width}->{width}->1 (ReLU)", "eval_fake_samples": eval_n,
                     **{name: ToySettings(obj, steps=steps, seed=seed).as_dict() for name, obj in
                        (("discriminator", "gan"), ("critic_clip", "wgan"), ("critic_gp", "wgan-gp"))}},
        "D_mean_on_real": d_at_reals,
        "D_mean_on_fake": d_at_fakes,
        "mean_abs_grad_at_fakes": {name: g.mean().item() for name, g in grads.items()},
        "grad_at_fakes_over_max_grad": kept,
        "r2_linear_fit_between_means": r2,
        "seconds": round(time.perf_counter() - start, 1),
    }
    echo(f"mean |d/dx| at the fakes: D {payload['mean_abs_grad_at_fakes']['discriminator']:.2e}, "
         f"log(1-D) {payload['mean_abs_grad_at_fakes']['minimax_generator_loss']:.2e}, "
         f"critic(clip) {payload['mean_abs_grad_at_fakes']['critic_clip']:.2e}, "
         f"critic(GP) {payload['mean_abs_grad_at_fakes']['critic_gp']:.2e}; "
         f"share of max gradient kept: D {kept['discriminator']:.1e}, clip {kept['critic_clip']:.2f}, "
         f"GP {kept['critic_gp']:.2f}")
    plot(xs.view(-1), values, curve_grads, out)
    write_json(json_path(out), payload)
    return payload


def plot(xs: torch.Tensor, values: dict, grads: dict, out: str) -> None:
    """Left: densities, D(x) and the critics; right: |d/dx| of each on a log scale."""
    plt = pyplot()
    x = xs.numpy()
    density = lambda mu: torch.exp(-0.5 * ((xs - mu) / STD) ** 2).numpy()  # noqa: E731 - peak 1
    # Critics are shown in "slope units": the clipped critic divided by its largest slope K, and
    # both shifted to 0 at the real mean (a critic is defined only up to a constant).
    k_clip = grads["critic_clip"].max().item()
    at_real = int(torch.argmin((xs - REAL_MEAN).abs()))
    clip_scaled = ((values["critic_clip"] - values["critic_clip"][at_real]) / k_clip).numpy()
    gp_shifted = (values["critic_gp"] - values["critic_gp"][at_real]).numpy()

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2))
    left.fill_between(x, 0, density(REAL_MEAN), color="C2", alpha=0.3, label="real N(0, 0.5²)")
    left.fill_between(x, 0, density(FAKE_MEAN), color="C1", alpha=0.3, label="fake N(6, 0.5²)")
    left.plot(x, values["discriminator"].numpy(), color="C3", lw=2, label="GAN discriminator D(x)")
    left.set_ylabel("D(x), densities (peak 1)")
    left.set_ylim(-0.05, 1.1)
    twin = left.twinx()
    twin.plot(x, clip_scaled, color="C0", lw=2, label="WGAN critic, clipping (÷ its max slope)")
    twin.plot(x, gp_shifted, color="C9", lw=2, ls="--", label="WGAN critic, gradient penalty")
    twin.set_ylabel("C(x) − C(0)")
    lines = left.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    left.legend(lines[0] + more[0], lines[1] + more[1], loc="center left", fontsize=8)
    left.set_xlabel("x")
    left.set_title("Discriminator saturates, critic is close to linear")

    right.semilogy(x, grads["discriminator"].clamp_min(1e-30).numpy(), color="C3", lw=2, label="|dD/dx|")
    right.semilogy(x, grads["minimax_generator_loss"].clamp_min(1e-30).numpy(), color="C4", ls=":",
                   label="|d log(1−D)/dx| (minimax generator)")
    right.semilogy(x, (grads["critic_clip"] / k_clip).clamp_min(1e-30).numpy(), color="C0", lw=2,
                   label="|dC/dx| ÷ K, clipping")
    right.semilogy(x, grads["critic_gp"].clamp_min(1e-30).numpy(), color="C9", ls="--", lw=2,
                   label="|dC/dx|, gradient penalty")
    right.axvspan(FAKE_MEAN - 3 * STD, FAKE_MEAN + 3 * STD, color="C1", alpha=0.15, label="fake samples (±3σ)")
    right.axvspan(REAL_MEAN - 3 * STD, REAL_MEAN + 3 * STD, color="C2", alpha=0.15, label="real samples (±3σ)")
    right.set_ylim(1e-12, 1e2)
    right.set_xlabel("x")
    right.set_title("Gradient a generator would receive")
    right.legend(loc="lower left", fontsize=8)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out)
