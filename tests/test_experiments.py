"""The toy data, MLPs, toy training loop and every experiment, run tiny on the CPU."""

import json
import math
import runpy
from pathlib import Path

import pytest
import torch

from wgan.data import ImageDataset, load_mnist
from wgan.experiments import (
    critic_vs_discriminator,
    mixtures,
    parallel_lines,
    stability,
)
from wgan.experiments.common import ToySettings, few_threads, train_gan
from wgan.mlp import MLPCritic, MLPGenerator
from wgan.toy import GaussianMixture, grid, ring, score_samples

REPO = Path(__file__).resolve().parents[1]
quiet = lambda *_: None  # noqa: E731


def read_json(png: Path) -> dict:
    return json.loads(png.with_suffix(".json").read_text())


# ------------------------------------------------------------------ toy data and scoring
def test_ring_and_grid_have_the_protocol_geometry():
    r, g = ring(), grid()
    assert r.n_modes == 8 and r.std == 0.02
    assert torch.allclose(r.means.norm(dim=1), torch.full((8,), 2.0))
    assert g.n_modes == 25 and g.std == 0.05
    assert sorted(set(g.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    points = g.sample(20000, torch.Generator().manual_seed(0))
    assert points.std(0).tolist() == pytest.approx([math.sqrt(8 + 0.05 ** 2)] * 2, rel=0.05)  # var of {-4..4} = 8


def test_scoring_counts_modes_and_high_quality_samples():
    mixture = ring()
    exact = score_samples(mixture.means, mixture)
    assert (exact.modes_covered, exact.high_quality) == (8, 1.0)
    # Three points on mode 0 (one just inside 3 std), one just outside, one far away.
    m0 = mixture.means[0]
    points = torch.stack([m0, m0 + torch.tensor([0.059, 0.0]), m0 + torch.tensor([0.0, -0.05]),
                          m0 + torch.tensor([0.061, 0.0]), torch.zeros(2)])
    score = score_samples(points, mixture)
    assert score.modes_covered == 1
    assert score.high_quality == pytest.approx(3 / 5)
    assert score.counts[0] == 3 and sum(score.counts) == 3
    assert score_samples(points, mixture, min_count=4).modes_covered == 0
    # A fair sample of the mixture itself covers everything, nearly all within 3 std.
    fair = score_samples(mixture.sample(2500, torch.Generator().manual_seed(1)), mixture)
    assert fair.modes_covered == 8 and fair.high_quality > 0.98


def test_mlps_map_shapes():
    assert MLPGenerator(z_dim=3, out_dim=2, width=8, depth=2)(torch.randn(5, 3)).shape == (5, 2)
    assert MLPCritic(in_dim=2, width=8, depth=2)(torch.randn(5, 2)).shape == (5,)


@pytest.mark.parametrize("objective, n_critic, steps", [("wgan-gp", 5, 300), ("wgan", 2, 150), ("gan", 1, 150)])
def test_toy_training_moves_the_generator_towards_the_data(objective, n_critic, steps):
    # Data: N((2, 2), 0.1^2 I); the generator starts near the origin. A sign error in a loss or
    # an update of the wrong network would leave it there or push it away.
    target = GaussianMixture("point", torch.tensor([[2.0, 2.0]]), 0.1)
    torch.manual_seed(0)
    gen, critic = MLPGenerator(z_dim=2, out_dim=2, width=16, depth=1), MLPCritic(2, width=16, depth=1)
    distance = lambda: (gen(torch.randn(1000, 2)).mean(0) - 2.0).norm().item()  # noqa: E731
    with torch.no_grad():
        start = distance()
    settings = ToySettings(objective, steps=steps, batch_size=64, n_critic=n_critic, lr=3e-3)
    with few_threads():
        history = train_gan(gen, critic, target.sample, settings, log_every=50)
    with torch.no_grad():
        end = distance()
    assert end < 0.5 * start
    assert history[-1]["step"] == steps and len(history) == steps // 50


# ------------------------------------------------------------------ experiments, tiny
def test_closed_forms_of_the_parallel_lines():
    assert parallel_lines.closed_forms(0.0) == {"em": 0.0, "js": 0.0, "kl": 0.0, "tv": 0.0}
    apart = parallel_lines.closed_forms(-0.5)
    assert apart == {"em": 0.5, "js": math.log(2), "kl": math.inf, "tv": 1.0}
    assert parallel_lines.gp_optimum(1.0, 10.0) == pytest.approx(1.05)


def test_parallel_lines_tiny(tmp_path):
    out = tmp_path / "lines.png"
    parallel_lines.run(str(out), thetas=[-1.0, 0.0, 1.0], steps=100, eval_n=2000, echo=quiet)
    assert out.stat().st_size > 10_000
    data = read_json(out)
    rows = {r["theta"]: r for r in data["rows"]}
    assert rows[1.0]["kl"] == "inf" and rows[0.0]["kl"] == 0.0
    assert rows[-1.0]["js"] == pytest.approx(math.log(2)) and rows[0.0]["tv"] == 0.0
    # Even briefly trained, the estimators separate theta = 0 from |theta| = 1.
    assert abs(rows[0.0]["em_gp"]) < 0.05 and rows[1.0]["em_gp"] > 0.5 and rows[-1.0]["em_gp"] > 0.5
    assert abs(rows[0.0]["js_discriminator"]) < 0.02 and rows[1.0]["js_discriminator"] > 0.4
    assert rows[1.0]["js_discriminator"] <= math.log(2)
    assert data["clip_scale_K"] > 0


def test_critic_vs_discriminator_tiny(tmp_path):
    out = tmp_path / "cvd.png"
    critic_vs_discriminator.run(str(out), steps=150, eval_n=500, echo=quiet)
    assert out.stat().st_size > 10_000
    data = read_json(out)
    assert data["D_mean_on_real"] > 0.9 and data["D_mean_on_fake"] < 0.1
    kept = data["grad_at_fakes_over_max_grad"]
    # The discriminator's gradient at the fakes is already a small share of its peak; the critic's is not.
    assert kept["discriminator"] < 0.1 < kept["critic_gp"]
    assert all(math.isfinite(v) for v in data["mean_abs_grad_at_fakes"].values())


def test_mixtures_tiny(tmp_path):
    out = tmp_path / "mix.png"
    mixtures.run(str(out), steps={"ring": 5, "grid": 5}, width=16, batch_size=32, echo=quiet)
    assert out.stat().st_size > 10_000
    data = read_json(out)
    for name, n_modes in (("ring", 8), ("grid", 25)):
        assert set(data["results"][name]) == {"gan", "wgan", "wgan-gp"}
        for result in data["results"][name].values():
            assert 0 <= result["modes_covered"] <= n_modes == result["n_modes"]
            assert 0.0 <= result["high_quality_pct"] <= 100.0
            assert result["steps"] == 5
    assert data["published"]["ring"]["wgan-gp"] == {"modes_covered": 6.8, "high_quality_pct": 59.6}


@pytest.fixture(scope="module")
def mnist_slice() -> ImageDataset:
    full = load_mnist(str(REPO / "data"), "train")
    return ImageDataset(full.images[:128].clone(), full.labels[:128].clone(), "MNIST[:128]")


def test_stability_tiny(tmp_path, mnist_slice):
    out = tmp_path / "stability.png"
    data = stability.run(str(out), steps=2, device="cpu", image_size=16, runs_root=str(tmp_path / "runs"),
                         width=4, batch_size=8, dataset=mnist_slice, progress=False, echo=quiet)
    assert out.stat().st_size > 10_000
    for objective in ("gan", "wgan"):
        assert (tmp_path / f"stability_{objective}_samples.png").is_file()
        saved = (tmp_path / "runs" / objective / "config.yaml").read_text()
        assert "g_norm: none" in saved and "c_norm: none" in saved and f"objective: {objective}" in saved
    assert read_json(out) == data
    assert [step for step, _ in data["wgan_em_curve"]] == [1, 2]
    assert all(math.isfinite(em) for _, em in data["wgan_em_curve"])
    assert all(js <= math.log(2) for _, js in data["gan_js_estimate_curve"])
    assert data["arms"]["gan"]["n_critic"] == 1 and data["arms"]["wgan"]["n_critic"] == 5
    assert data["arms"]["wgan"]["optimizer"] == "rmsprop" and data["arms"]["gan"]["optimizer"] == "adam"


def test_experiment_cli_writes_png_and_json(tmp_path, capsys):
    # The script's main() in this process (a subprocess would spend seconds re-importing torch).
    script = runpy.run_path(str(REPO / "scripts" / "experiments" / "critic_vs_discriminator.py"), run_name="cli")
    out = tmp_path / "cli.png"
    assert script["main"](["--tiny", "--out", str(out)]) == 0
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert f"wrote {out}" in capsys.readouterr().out
