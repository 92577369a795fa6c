"""wgan.grouped: K runs as one network of grouped layers train as each run would alone."""

import pytest
import torch

from wgan.config import load_config
from wgan.grouped import GroupedNet, GroupedRuns
from wgan.models import Critic, Generator
from wgan.trainer import Trainer

RUNS = [["train.lr=1e-3", "train.seed=0", "train.clip=0.01"],
        ["train.lr=3e-4", "train.seed=5", "train.clip=0.02"]]


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30))


def test_grouped_networks_compute_each_runs_network_side_by_side():
    torch.manual_seed(0)
    gens = [Generator(16, 1, z_dim=8, width=4) for _ in range(3)]
    critics = [Critic(16, 1, width=4, norm=n) for n in ("batch", "batch", "batch")]
    gg, gc = GroupedNet(gens), GroupedNet(critics)
    z = torch.randn(3, 5, 8)
    images = gg(z)                                            # 5 x (3*1) x 16 x 16
    for run, gen in enumerate(gens):
        assert torch.allclose(images[:, run:run + 1], gen(z[run]), atol=1e-6)
    scores = gc(images)
    for run, critic in enumerate(critics):
        assert torch.allclose(scores[:, run], critic(images[:, run:run + 1]), atol=1e-6)
        own = gc.run_state_dict(run, critic)
        assert own.keys() == critic.state_dict().keys()
        assert all(torch.allclose(own[k].float(), v.float()) for k, v in critic.state_dict().items())


def test_grouped_runs_follow_their_solo_runs(tiny_args, mnist_test, tmp_path):
    steps = 3
    cfgs = [load_config(None, tiny_args + extra + ["train.n_critic=2", f"run.dir={tmp_path / str(i)}"])
            for i, extra in enumerate(RUNS)]
    group = GroupedRuns(cfgs, mnist_test)
    for _ in range(steps):
        group.train_step()
    for run, cfg in enumerate(cfgs):
        solo = Trainer(cfg, mnist_test, echo=lambda _: None)
        for _ in range(steps):
            solo.train_step()
        # Each run's EM estimates and generator losses, summed over the steps, are its solo run's.
        assert float(group.objective.em_sum[run]) == pytest.approx(float(solo.acc_critic[0]), rel=1e-4, abs=1e-7)
        assert float(group.objective.generator_loss_sum[run]) == pytest.approx(float(solo.acc_gen[0]), rel=1e-4,
                                                                                abs=1e-7)
        gen, critic = group.run_weights(run)
        # Same data order and the same noise: the samplers and noise streams stand where the solo run's do.
        assert torch.equal(group.samplers[run].perm, solo.sampler.perm)
        assert group.samplers[run].cursor == solo.sampler.cursor
        assert torch.equal(group.noise[run].get_state(), solo.noise.get_state())
        # The same updates, up to the rounding of grouped vs dense convolutions.
        for key, value in solo.generator.state_dict().items():
            if value.is_floating_point():
                assert relative(gen[key], value) < 1e-4, key
        for key, value in solo.critic.state_dict().items():
            if value.is_floating_point():
                assert relative(critic[key], value) < 1e-4, key
        params = dict(solo.critic.named_parameters())
        # Each run is clipped to its own c (DCGAN's N(0, 0.02) init puts many weights at the bound).
        assert max(float(critic[k].abs().max()) for k in params) == pytest.approx(cfg.train.clip, rel=1e-6)


def test_runs_that_differ_in_shape_cannot_be_grouped(tiny_args, mnist_test):
    cfgs = [load_config(None, tiny_args), load_config(None, tiny_args + ["model.g_width=8"])]
    with pytest.raises(ValueError, match="model.g_width"):
        GroupedRuns(cfgs, mnist_test)


def test_mlp_generators_are_refused_not_mis_grouped(tiny_args, mnist_test):
    from wgan.models import MLPGenerator
    with pytest.raises(TypeError, match="the MLP generator \\(model.g_arch=mlp\\) has Linear layers it cannot group"):
        GroupedNet([MLPGenerator(16, 1, z_dim=8, width=16) for _ in range(2)])
    cfgs = [load_config(None, tiny_args + ["model.g_arch=mlp", "model.g_mlp_units=16", extra]) for extra in RUNS[0]]
    with pytest.raises(ValueError, match="groups DCGAN generators only .*got model.g_arch=mlp"):
        GroupedRuns(cfgs, mnist_test)
