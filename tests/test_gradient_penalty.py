"""WGAN-GP's penalty, the GAN baseline's losses and the objective-dependent config defaults."""

import math
from pathlib import Path

import pytest
import torch

from wgan.config import ConfigError, load_config
from wgan.data import ImageDataset, load_mnist
from wgan.objectives import critic_loss, generator_loss, gradient_penalty
from wgan.tracking import read_metrics
from wgan.trainer import Trainer

DATA_ROOT = Path(__file__).resolve().parents[1] / "data"


def linear_critic(weight: torch.Tensor, bias: float = 0.5):
    """C(x) = w . flatten(x) + b: its gradient is w at every point, so the penalty is (||w|| - 1)^2."""
    return lambda x: x.flatten(1) @ weight + bias


def test_penalty_of_a_linear_critic_is_squared_excess_norm():
    torch.manual_seed(0)
    weight = torch.tensor([1.0, 2.0, 2.0, 0.0])            # ||w|| = 3
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)   # image-shaped: tests the alpha broadcast
    penalty, norm = gradient_penalty(linear_critic(weight), real, fake, torch.rand(5))
    assert penalty.item() == pytest.approx((3.0 - 1.0) ** 2)
    assert norm.item() == pytest.approx(3.0)


def test_penalty_vanishes_for_a_unit_norm_linear_critic():
    torch.manual_seed(1)
    weight = torch.tensor([0.6, 0.8])                         # 1-Lipschitz, gradient norm exactly 1
    penalty, norm = gradient_penalty(linear_critic(weight), torch.randn(64, 2), torch.randn(64, 2), torch.rand(64))
    assert penalty.item() == pytest.approx(0.0, abs=1e-10)
    assert norm.item() == pytest.approx(1.0)


def test_penalty_is_taken_at_alpha_real_plus_one_minus_alpha_fake():
    # C(x) = ||x||^2 / 2 has gradient x, so the penalty reveals where it was evaluated.
    torch.manual_seed(2)
    real, fake, alpha = torch.randn(6, 3), torch.randn(6, 3), torch.rand(6)
    penalty, _ = gradient_penalty(lambda x: 0.5 * (x ** 2).sum(1), real, fake, alpha)
    x_hat = alpha[:, None] * real + (1 - alpha[:, None]) * fake
    assert penalty.item() == pytest.approx(((x_hat.norm(dim=1) - 1) ** 2).mean().item(), rel=1e-6)


def test_penalty_backpropagates_into_the_critic_weights():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: needs the graph of the input gradient.
    weight = torch.tensor([3.0, 4.0], requires_grad=True)    # ||w|| = 5
    penalty, _ = gradient_penalty(linear_critic(weight), torch.randn(4, 2), torch.randn(4, 2), torch.rand(4))
    penalty.backward()
    expected = 2 * (5.0 - 1.0) * torch.tensor([3.0, 4.0]) / 5.0
    assert torch.allclose(weight.grad, expected)


def test_gan_losses_are_binary_cross_entropy_on_logits():
    logit_real, logit_fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    d_real = [sigmoid(v) for v in logit_real.tolist()]
    d_fake = [sigmoid(v) for v in logit_fake.tolist()]
    expected_critic = -sum(math.log(d) for d in d_real) / 2 - sum(math.log(1 - d) for d in d_fake) / 2
    expected_generator = -sum(math.log(d) for d in d_fake) / 2      # non-saturating: -log D(G(z))
    assert critic_loss("gan", logit_real, logit_fake).item() == pytest.approx(expected_critic, rel=1e-6)
    assert generator_loss("gan", logit_fake).item() == pytest.approx(expected_generator, rel=1e-6)


@pytest.mark.parametrize("overrides, expected", [
    (["train.objective=wgan"], ("rmsprop", 5e-5)),
    (["train.objective=gan"], ("adam", 2e-4, [0.5, 0.999])),
    (["train.objective=wgan-gp", "model.c_norm=layer"], ("adam", 1e-4, [0.0, 0.9])),
    (["train.objective=wgan-gp", "model.c_norm=layer", "train.lr=3e-4"], ("adam", 3e-4, [0.0, 0.9])),
    (["train.objective=wgan-gp", "model.c_norm=none", "train.optimizer=rmsprop"], ("rmsprop", 1e-4)),
    (["train.objective=wgan-gp", "model.c_norm=none", "train.betas=[0.5, 0.99]"], ("adam", 1e-4, [0.5, 0.99])),
])
def test_objective_defaults_fill_only_unset_keys(overrides, expected):
    train = load_config(None, overrides).train
    assert train.optimizer == expected[0]
    assert train.lr == pytest.approx(expected[1])
    if len(expected) == 3:
        assert train.betas == pytest.approx(expected[2])


def test_wgan_gp_with_batchnorm_critic_is_rejected_naming_the_key():
    with pytest.raises(ConfigError, match=r"model\.c_norm"):
        load_config(None, ["train.objective=wgan-gp", "model.c_norm=batch"])
    # Left unset, the critic's normalisation follows the objective.
    assert load_config(None, ["train.objective=wgan-gp"]).model.c_norm == "layer"
    assert load_config(None, ["train.objective=wgan"]).model.c_norm == "batch"
    assert load_config(None, ["train.objective=gan"]).model.c_norm == "batch"


@pytest.fixture(scope="module")
def mnist_subset() -> ImageDataset:
    full = load_mnist(str(DATA_ROOT), "train")
    return ImageDataset(full.images[:256].clone(), full.labels[:256].clone(), "MNIST[:256]")


def test_wgan_gp_run_logs_penalty_and_a_penalty_free_em_estimate(tmp_path, mnist_subset):
    cfg = load_config(None, [
        "data.image_size=16", "model.z_dim=8", "model.g_width=4", "model.c_width=4", "model.c_norm=layer",
        "train.objective=wgan-gp", "train.steps=3", "train.batch_size=8", "train.n_critic=2",
        "system.device=cpu", "log.log_every=1", "log.sample_every=3", "log.checkpoint_every=3",
        "log.progress=false", f"run.dir={tmp_path / 'run'}"])
    Trainer(cfg, mnist_subset, echo=lambda _: None).run()
    rows = read_metrics(str(tmp_path / "run"))
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert math.isfinite(row["gradient_penalty"]) and row["gradient_penalty"] > 0
        assert math.isfinite(row["gp_grad_norm"]) and row["gp_grad_norm"] > 0
        # The logged EM estimate is C(real) - C(fake) alone; the loss adds lambda * penalty.
        assert row["em_distance"] == pytest.approx(row["critic_real"] - row["critic_fake"], abs=1e-5)
        assert row["loss_critic"] == pytest.approx(-row["em_distance"] + 10.0 * row["gradient_penalty"],
                                                   rel=1e-4, abs=1e-5)
