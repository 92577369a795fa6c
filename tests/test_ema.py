"""train.ema: the averaged generator's update rule, its BatchNorm statistics, resume and export."""

import os

import pytest
import torch
from conftest import TINY_ARGS

from wgan.checkpoint import list_checkpoints, read_checkpoint
from wgan.config import ConfigError, load_config
from wgan.ema import GeneratorAverage, recompute_batchnorm_stats
from wgan.export import load_model
from wgan.models import Generator
from wgan.trainer import Trainer, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny(run_dir, *extra):
    return load_config(None, TINY_ARGS + [f"run.dir={run_dir}", *extra])


def quiet(_):
    pass


def test_average_follows_the_documented_rule_step_by_step(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path / "run", "train.ema=0.9"), mnist_test, echo=quiet)
    expected = [p.detach().clone() for p in trainer.generator.parameters()]
    for t in range(25):     # the ramp (1 + t) / (10 + t) stays below 0.9 until t = 80; the next test
        trainer.train_step()  # covers the cap
        keep = min(0.9, (1 + t) / (10 + t))
        expected = [keep * e + (1 - keep) * p.detach() for e, p in zip(expected, trainer.generator.parameters())]
    for e, a in zip(expected, trainer.ema.module.parameters()):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-7)
    live = list(trainer.generator.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(trainer.ema.module.parameters(), live))
    assert not any(p.requires_grad for p in trainer.ema.module.parameters())


def test_cap_applies_once_the_ramp_passes_the_decay(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path / "run", "train.ema=0.5"), mnist_test, echo=quiet)
    for _ in range(3):
        trainer.train_step()
    before = [p.detach().clone() for p in trainer.ema.module.parameters()]
    trainer.train_step()        # t = 3: ramp 4/13 < 0.5, so the keep factor is the ramp
    keep = 4 / 13
    for b, a, p in zip(before, trainer.ema.module.parameters(), trainer.generator.parameters()):
        torch.testing.assert_close(a, keep * b + (1 - keep) * p.detach(), rtol=1e-5, atol=1e-7)
    for _ in range(6):
        trainer.train_step()
    before = [p.detach().clone() for p in trainer.ema.module.parameters()]
    trainer.train_step()        # t = 10: ramp 11/20 > 0.5, so the cap 0.5 applies
    for b, a, p in zip(before, trainer.ema.module.parameters(), trainer.generator.parameters()):
        torch.testing.assert_close(a, 0.5 * b + 0.5 * p.detach(), rtol=1e-5, atol=1e-7)


def test_training_is_the_same_with_and_without_the_average(tmp_path, mnist_test):
    plain = Trainer(tiny(tmp_path / "a"), mnist_test, echo=quiet)
    averaged = Trainer(tiny(tmp_path / "b", "train.ema=0.99"), mnist_test, echo=quiet)
    for _ in range(4):
        plain.train_step()
        averaged.train_step()
        averaged.sample(averaged.fixed_z)      # sampling the average must not disturb training
    for a, b in zip(plain.generator.state_dict().values(), averaged.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(plain.critic.state_dict().values(), averaged.critic.state_dict().values()):
        assert torch.equal(a, b)


def test_batchnorm_statistics_are_those_of_the_averaged_weights():
    torch.manual_seed(0)
    gen = Generator(16, 1, 8, 4)
    recompute_batchnorm_stats(gen, 8, batch_size=64, batches=1, seed=7)
    assert not gen.training
    first = gen.net[1]
    assert isinstance(first, torch.nn.BatchNorm2d)
    z = torch.randn(64, 8, generator=torch.Generator().manual_seed(7))
    pre = gen.net[0](z.view(64, 8, 1, 1))
    torch.testing.assert_close(first.running_mean, pre.mean(dim=(0, 2, 3)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(first.running_var, pre.var(dim=(0, 2, 3), unbiased=True), rtol=1e-4, atol=1e-6)
    assert first.momentum == 0.1                            # restored after the refresh
    state = torch.random.get_rng_state()
    recompute_batchnorm_stats(gen, 8, batch_size=64)
    assert torch.equal(state, torch.random.get_rng_state())  # no global RNG draw


def test_average_resumes_bitwise_and_exports_from_checkpoints(tmp_path, mnist_test):
    common = ["train.ema=0.95", "train.steps=6", "log.checkpoint_every=3", "log.log_every=2", "log.sample_every=3"]
    straight = tiny(tmp_path / "a", *common)
    train(straight, mnist_test, echo=quiet)
    train(tiny(tmp_path / "b", *common, "train.steps=3"), mnist_test, echo=quiet)
    train(tiny(tmp_path / "b", *common), mnist_test, echo=quiet)
    states = [read_checkpoint(list_checkpoints(tmp_path / run)[-1][1]) for run in ("a", "b")]
    assert states[0]["step"] == states[1]["step"] == 6
    for key in states[0]["generator_ema"]:
        assert torch.equal(states[0]["generator_ema"][key], states[1]["generator_ema"][key]), key
    # The checkpoint's generator is the average, statistics included: what the run sampled.
    loaded, _ = load_model(tmp_path / "a")
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, states[0]["generator_ema"][key]), key
    assert not all(torch.equal(states[0]["generator"][k], states[0]["generator_ema"][k])
                   for k in states[0]["generator"])


def test_turning_the_average_on_for_an_old_run_starts_it_at_the_live_weights(tmp_path, mnist_test):
    train(tiny(tmp_path / "run", "train.steps=2"), mnist_test, echo=quiet)
    messages = []
    trainer = Trainer(tiny(tmp_path / "run", "train.steps=3", "train.ema=0.9"), mnist_test, echo=messages.append)
    state = read_checkpoint(list_checkpoints(tmp_path / "run")[-1][1])
    trainer.load_state_dict(state)
    assert any("starts from the weights of generator step 2" in m for m in messages)
    for a, p in zip(trainer.ema.module.parameters(), trainer.generator.parameters()):
        assert torch.equal(a, p)


@pytest.mark.parametrize("value", ["1", "1.5", "-0.1", "true", "abc"])
def test_bad_decay_is_refused_with_the_fix(tmp_path, value):
    with pytest.raises(ConfigError, match=r"train\.ema"):
        tiny(tmp_path / "run", f"train.ema={value}")


def test_average_class_refuses_a_decay_outside_the_open_interval():
    with pytest.raises(ValueError, match="decay must be in"):
        GeneratorAverage(Generator(16, 1, 8, 4), 1.0, 8)


def test_live_weights_of_an_averaged_checkpoint_can_be_chosen(tmp_path, mnist_test):
    train(tiny(tmp_path / "run", "train.ema=0.9", "train.steps=3"), mnist_test, echo=quiet)
    state = read_checkpoint(list_checkpoints(tmp_path / "run")[-1][1])
    live, _ = load_model(tmp_path / "run", weights="live")
    for key, value in live.state_dict().items():
        assert torch.equal(value, state["generator"][key]), key
    from wgan import load_generator
    same = load_generator(tmp_path / "run", weights="live")
    assert all(torch.equal(a, b) for a, b in zip(same.state_dict().values(), live.state_dict().values()))
    with pytest.raises(ValueError, match="weights must be one of average, live"):
        load_model(tmp_path / "run", weights="best")


def test_evaluate_takes_several_models_and_the_weights_choice(tmp_path, mnist_test, capsys):
    import json

    from wgan.metrics import evaluate as evaluate_mod
    train(tiny(tmp_path / "run", "train.ema=0.9", "train.steps=2"), mnist_test, echo=quiet)
    checkpoint = list_checkpoints(tmp_path / "run")[-1][1]
    out = tmp_path / "both.json"
    common = ["--metrics", "modes,cfid", "--n", "50", "--device", "cpu", "--data-root", os.path.join(REPO, "data")]
    assert evaluate_mod.main([str(tmp_path / "run"), checkpoint, *common, "--out", str(out)]) == 0, \
        capsys.readouterr().err
    records = json.loads(out.read_text())
    assert [r["model"] for r in records] == [str(tmp_path / "run"), checkpoint]
    assert records[0]["metrics"] == records[1]["metrics"]          # the run dir opens its newest checkpoint
    live = tmp_path / "live.json"
    assert evaluate_mod.main([checkpoint, *common, "--weights", "live", "--out", str(live)]) == 0
    record = json.loads(live.read_text())
    assert record["weights"] == "live" and record["metrics"] != records[1]["metrics"]
    assert record["step"] == 2
    assert evaluate_mod.main([checkpoint, str(tmp_path / "missing.pt"), *common]) == 2
    assert "missing.pt does not exist" in capsys.readouterr().err
