"""Algorithm 1 as the trainer runs it: step counts, clipping, gradient flow, resume, logging."""

import os
import re

import pytest
import torch
from helpers import (
    SHORT,
    all_finite,
    assert_same_weights,
    captured,
    temp_files,
)

from wgan import checkpoint as ckpt
from wgan.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    read_checkpoint,
)
from wgan.cli import train_main
from wgan.config import load_config
from wgan.tracking import read_metrics
from wgan.trainer import NonFiniteError, Trainer, TrainingInterrupted, reads_tensor_lr, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["data.image_size=16", "model.g_width=4", "model.c_width=4", "model.z_dim=8", "train.batch_size=8",
        "system.device=cpu", f"data.root={os.path.join(REPO, 'data')}", "log.progress=false"]


def tiny(tmp_path, *extra):
    return load_config(None, TINY + [f"run.dir={tmp_path / 'run'}", *extra])


def quiet(_):
    pass


def test_critic_steps_n_critic_times_per_generator_step_on_fresh_batches(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path, "train.n_critic=3"), mnist_test, echo=quiet)
    calls = {"c": 0, "g": 0}
    trainer.opt_c.register_step_post_hook(lambda *a: calls.__setitem__("c", calls["c"] + 1))
    trainer.opt_g.register_step_post_hook(lambda *a: calls.__setitem__("g", calls["g"] + 1))
    batches = []
    original = trainer.sampler.next
    trainer.sampler.next = lambda: batches.append(original()) or batches[-1]
    for _ in range(4):
        trainer.train_step()
    assert calls == {"c": 12, "g": 4}
    assert len(batches) == 12
    assert all(not torch.equal(a, b) for a, b in zip(batches, batches[1:]))   # a fresh batch every time


def test_every_critic_parameter_is_clipped_after_each_critic_step(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path, "train.clip=0.005", "train.lr=0.05"), mnist_test, echo=quiet)
    for _ in range(6):
        trainer.critic_step()
        for p in trainer.critic.parameters():
            assert p.abs().max().item() <= 0.005


def test_generator_step_leaves_critic_untouched_and_trains_the_generator(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path), mnist_test, echo=quiet)
    trainer.critic_step()
    critic_before = {k: v.clone() for k, v in trainer.critic.named_parameters()}
    grads_before = {k: v.grad.clone() for k, v in trainer.critic.named_parameters()}
    gen_before = [p.clone() for p in trainer.generator.parameters()]
    trainer.generator_step()
    for k, p in trainer.critic.named_parameters():
        assert torch.equal(p, critic_before[k])
        assert torch.equal(p.grad, grads_before[k])        # no gradient flowed into the critic
        assert p.requires_grad                             # and it is trainable again afterwards
    assert any(not torch.equal(a, b) for a, b in zip(gen_before, trainer.generator.parameters()))


def test_official_critic_schedule_is_optional(tmp_path, mnist_test):
    plain = Trainer(tiny(tmp_path), mnist_test, echo=quiet)
    assert [plain.critic_iters(s) for s in (0, 24, 25, 500)] == [5, 5, 5, 5]
    warm = Trainer(tiny(tmp_path, "train.critic_warmup=true"), mnist_test, echo=quiet)
    assert [warm.critic_iters(s) for s in (0, 24, 25, 499, 500)] == [100, 100, 5, 5, 100]


def _weights(run_dir):
    state = read_checkpoint(list_checkpoints(run_dir)[-1][1])
    return state["step"], state["generator"], state["critic"], state["opt_c"]


def test_resume_is_bitwise_exact(tmp_path, mnist_test):
    common = ["train.steps=6", "log.checkpoint_every=3", "log.log_every=2", "log.sample_every=3"]
    straight = tiny(tmp_path / "a", *common)
    train(straight, mnist_test, echo=quiet)
    half = tiny(tmp_path / "b", *common[1:], "train.steps=3")
    train(half, mnist_test, echo=quiet)
    resumed = tiny(tmp_path / "b", *common)
    messages = []
    result = train(resumed, mnist_test, echo=messages.append)
    assert result.step == 6 and any("resuming" in m for m in messages)
    step_a, gen_a, critic_a, opt_a = _weights(straight.run.dir)
    step_b, gen_b, critic_b, opt_b = _weights(resumed.run.dir)
    assert step_a == step_b == 6
    for a, b in ((gen_a, gen_b), (critic_a, critic_b)):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    for key, state in opt_a["state"].items():
        assert torch.equal(state["square_avg"], opt_b["state"][key]["square_avg"])


def test_changed_experiment_is_refused_on_resume(tmp_path, mnist_test):
    train(tiny(tmp_path, "train.steps=1"), mnist_test, echo=quiet)
    from wgan.config import ConfigError
    with pytest.raises(ConfigError, match="train.lr .* was started with 5e-05"):
        train(tiny(tmp_path, "train.steps=2", "train.lr=1e-3"), mnist_test, echo=quiet)


def test_short_mnist_run_writes_documented_tensorboard_tags_and_grids(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from wgan.tracking import IMAGE_TAGS, TAGS
    cfg = tiny(tmp_path, "train.steps=4", "log.log_every=2", "log.sample_every=2", "log.checkpoint_every=4")
    train(cfg, echo=quiet)          # loads the bundled MNIST train split itself
    events = EventAccumulator(cfg.run.dir, size_guidance={"images": 0, "scalars": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    expected = {TAGS[k] for k in ("em_distance", "loss_critic", "loss_generator", "critic_real", "critic_fake",
                                  "grad_norm_critic", "grad_norm_generator", "images_per_sec", "steps_per_sec")}
    assert expected <= scalars
    assert [e.step for e in events.Scalars("em_distance")] == [2, 4]
    assert set(IMAGE_TAGS.values()) <= set(events.Tags()["images"])
    samples = os.listdir(os.path.join(cfg.run.dir, "samples"))
    assert {"real.png", "step_00000002.png", "step_00000004.png"} <= set(samples)
    assert os.path.isfile(os.path.join(cfg.run.dir, "config.yaml"))
    em = [r["em_distance"] for r in __import__("wgan.tracking").tracking.read_metrics(cfg.run.dir)]
    assert len(em) == 2 and all(abs(v) < 10 for v in em)


def test_trainer_matches_a_plain_algorithm_1_loop(tmp_path, mnist_test):
    """The trainer (static buffers, resident data, foreach clipping, device-side accumulators)
    computes the same losses as a textbook loop fed the same random numbers, for 20 steps."""
    import copy

    from wgan.data import RealSampler
    from wgan.seeding import noise_seed
    cfg = tiny(tmp_path, "train.n_critic=3", "train.lr=1e-3")
    trainer = Trainer(cfg, mnist_test, echo=quiet)
    gen, critic = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.critic)
    opt_g = torch.optim.RMSprop(gen.parameters(), lr=1e-3)
    opt_c = torch.optim.RMSprop(critic.parameters(), lr=1e-3)
    sampler = RealSampler(mnist_test.images, 16, 8, torch.device("cpu"), cfg.train.seed)
    noise = torch.Generator().manual_seed(noise_seed(cfg.train.seed, 0, 0))
    for step in range(20):
        trainer.train_step()
        fast_em = trainer.acc_critic[0].item() / 3
        fast_g = trainer.acc_gen.item()
        trainer.acc_critic.zero_()
        trainer.acc_gen.zero_()
        ems = []
        for _ in range(3):
            real = sampler.next()
            fake = gen(torch.randn(8, 8, generator=noise)).detach()
            em = critic(real).mean() - critic(fake).mean()
            opt_c.zero_grad()
            (-em).backward()
            opt_c.step()
            for p in critic.parameters():
                p.data.clamp_(-0.01, 0.01)
            ems.append(em.item())
        for p in critic.parameters():
            p.requires_grad_(False)
        loss_g = -critic(gen(torch.randn(8, 8, generator=noise))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for p in critic.parameters():
            p.requires_grad_(True)
        assert fast_em == pytest.approx(sum(ems) / 3, rel=1e-5, abs=1e-7), step
        assert fast_g == pytest.approx(loss_g.item(), rel=1e-5, abs=1e-7), step


def test_metrics_during_training_are_logged(tmp_path, mnist_test):
    cfg = tiny(tmp_path, "train.steps=2", "log.eval_every=2", "log.eval_samples=32",
               f"log.inception={tmp_path / 'no-inception.pt'}")
    with pytest.warns(UserWarning, match="FID is skipped"):
        train(cfg, mnist_test, echo=quiet)
    from wgan.tracking import read_metrics
    rows = [r for r in read_metrics(cfg.run.dir) if "classes_covered" in r]
    assert [r["step"] for r in rows] == [2]
    assert 1 <= rows[0]["classes_covered"] <= 10 and rows[0]["class_kl"] >= 0


def test_generator_only_decay_keeps_the_critics_rate(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path / "a", "train.steps=4", "train.lr=1e-3", "train.lr_decay=linear-generator",
                           "log.checkpoint_every=4", "log.sample_every=4"), mnist_test, echo=quiet)
    critic_lrs, generator_lrs = [], []
    trainer.opt_c.register_step_pre_hook(lambda opt, *a: critic_lrs.append(opt.param_groups[0]["lr"]))
    trainer.opt_g.register_step_pre_hook(lambda opt, *a: generator_lrs.append(opt.param_groups[0]["lr"]))
    trainer.run()
    assert generator_lrs == pytest.approx([1e-3 * (1 - s / 4) for s in range(4)])
    assert critic_lrs == pytest.approx([1e-3] * 20)
    assert trainer.lr_at(4) == 0.0 and trainer.lr_at(4, "critic") == 1e-3


def interrupt_during_step_3(trainer):
    """Run ``trainer`` until a SIGINT arrives during generator step 3: it checkpoints step 3 and stops."""
    trainer.opt_g.register_step_post_hook(lambda *a: setattr(trainer, "_stop_signal", 2) if trainer.step == 2 else None)
    with pytest.raises(TrainingInterrupted, match="step 3"):
        trainer.run()


def test_linear_lr_decay_reaches_zero_at_the_last_step_and_resumes_bitwise(tmp_path, mnist_test):
    common = ["train.steps=6", "train.lr=1e-3", "train.lr_decay=linear", "log.checkpoint_every=6",
              "log.log_every=2", "log.sample_every=6"]
    straight = Trainer(tiny(tmp_path / "a", *common), mnist_test, echo=quiet)
    critic_lrs, generator_lrs = [], []
    straight.opt_c.register_step_pre_hook(lambda opt, *a: critic_lrs.append(opt.param_groups[0]["lr"]))
    straight.opt_g.register_step_pre_hook(lambda opt, *a: generator_lrs.append(opt.param_groups[0]["lr"]))
    straight.run()
    expected = [1e-3 * (1 - s / 6) for s in range(6)]
    assert generator_lrs == pytest.approx(expected)
    # The n_critic critic steps before a generator step use that step's rate.
    assert critic_lrs == pytest.approx([lr for lr in expected for _ in range(5)])
    assert expected[-1] > 0 and straight.lr_at(6) == 0.0

    interrupt_during_step_3(Trainer(tiny(tmp_path / "b", *common), mnist_test, echo=quiet))
    train(tiny(tmp_path / "b", *common), mnist_test, echo=quiet)
    step_a, gen_a, critic_a, _ = _weights(tmp_path / "a" / "run")
    step_b, gen_b, critic_b, _ = _weights(tmp_path / "b" / "run")
    assert step_a == step_b == 6
    for a, b in ((gen_a, gen_b), (critic_a, critic_b)):
        for key in a:
            assert torch.equal(a[key], b[key]), key


def test_a_decaying_rate_is_a_device_tensor_on_cuda_only():
    # On CUDA eager and graphs must read the rate the same way (a tensor, capturable optimiser)
    # to stay bitwise equal; the CPU has no capturable optimiser and keeps a float.
    assert reads_tensor_lr("cuda", "linear") and reads_tensor_lr("cuda", "linear-generator")
    assert not reads_tensor_lr("cuda", "none")
    assert not reads_tensor_lr("cpu", "linear") and not reads_tensor_lr("cpu", "none")


def test_on_the_cpu_a_decaying_rate_stays_a_float_of_a_plain_optimiser(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path / "a", "train.steps=4", "train.lr_decay=linear"), mnist_test, echo=quiet)
    for opt in (trainer.opt_c, trainer.opt_g):
        assert all(isinstance(g["lr"], float) and not g["capturable"] for g in opt.param_groups)


def test_a_checkpoint_written_on_cuda_resumes_on_the_cpu_bitwise(tmp_path, mnist_test):
    # A CUDA run saves capturable optimiser groups and, with a decaying rate, the rate as a tensor;
    # the CPU refuses capturable groups at the first step unless loading takes this device's.
    common = ["train.steps=6", "train.lr=1e-3", "train.lr_decay=linear", "log.checkpoint_every=6",
              "log.log_every=2", "log.sample_every=6"]
    train(tiny(tmp_path / "a", *common), mnist_test, echo=quiet)
    interrupt_during_step_3(Trainer(tiny(tmp_path / "b", *common), mnist_test, echo=quiet))
    run_b = str(tmp_path / "b" / "run")
    step, path = list_checkpoints(run_b)[-1]
    state = read_checkpoint(path)
    state.pop(ckpt.INTEGRITY_KEY, None)
    for name in ("opt_g", "opt_c"):
        for group in state[name]["param_groups"]:
            group["capturable"], group["lr"] = True, torch.tensor(float(group["lr"]))
    ckpt.save_checkpoint(run_b, step, state, keep=3)
    resumed = Trainer(tiny(tmp_path / "b", *common), mnist_test, echo=quiet)
    resumed.run()
    assert all(not g["capturable"] for opt in (resumed.opt_c, resumed.opt_g) for g in opt.param_groups)
    assert_same_weights(list_checkpoints(str(tmp_path / "a" / "run"))[-1][1], list_checkpoints(run_b)[-1][1])


def test_unknown_lr_decay_is_refused_with_the_choices():
    from wgan.config import ConfigError
    with pytest.raises(ConfigError, match="train.lr_decay.*linear"):
        load_config(None, TINY + ["train.lr_decay=cosine"])


@pytest.mark.parametrize("objective", ["wgan-lp", "wgan-sn", "hinge"])
def test_new_objectives_train_log_and_resume_bitwise(tmp_path, mnist_test, objective):
    from wgan.tracking import read_metrics
    common = [f"train.objective={objective}", "train.n_critic=2", "train.steps=4", "log.checkpoint_every=2",
              "log.log_every=2", "log.sample_every=4"]
    straight = tiny(tmp_path / "a", *common)
    train(straight, mnist_test, echo=quiet)
    rows = read_metrics(straight.run.dir)
    assert [r["step"] for r in rows] == [2, 4]
    assert all(abs(r["em_distance"]) < 1e3 and r["lr"] == pytest.approx(2e-4 if objective != "wgan-lp" else 1e-4)
               for r in rows)
    assert ("gradient_penalty" in rows[0]) == (objective == "wgan-lp")
    train(tiny(tmp_path / "b", *common[:-4], "train.steps=2", *common[-3:]), mnist_test, echo=quiet)
    train(tiny(tmp_path / "b", *common), mnist_test, echo=quiet)
    _, gen_a, critic_a, _ = _weights(straight.run.dir)
    _, gen_b, critic_b, _ = _weights(tmp_path / "b" / "run")
    if objective != "wgan-lp":          # spectral norm keeps its power-iteration vectors in the checkpoint
        assert any("parametrizations" in k for k in critic_a)
    for a, b in ((gen_a, gen_b), (critic_a, critic_b)):
        for key in a:
            assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("norm, ema", [("none", 0.0), ("batch", 0.9)])
def test_mlp_generator_trains_and_resumes_bitwise(tmp_path, mnist_test, norm, ema):
    from wgan.models import Critic, MLPGenerator
    common = ["model.g_arch=mlp", "model.g_mlp_units=16", f"model.g_norm={norm}", f"train.ema={ema}",
              "train.n_critic=2", "train.steps=4", "log.checkpoint_every=2", "log.log_every=2", "log.sample_every=2"]
    trainer = Trainer(tiny(tmp_path / "a", *common), mnist_test, echo=quiet)
    assert isinstance(trainer.generator, MLPGenerator) and isinstance(trainer.critic, Critic)
    assert (trainer.generator.width, trainer.generator.norm) == (16, norm)
    before = [p.clone() for p in trainer.generator.parameters()]
    result = trainer.run()
    assert result.step == 4 and all(abs(r["em_distance"]) < 1 for r in read_metrics(tmp_path / "a" / "run"))
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))
    assert os.path.isfile(os.path.join(tmp_path / "a" / "run", "samples", "step_00000004.png"))
    train(tiny(tmp_path / "b", *common[:-4], "train.steps=2", *common[-3:]), mnist_test, echo=quiet)
    messages = []
    train(tiny(tmp_path / "b", *common), mnist_test, echo=messages.append)
    assert any("resuming" in m for m in messages)
    step_a, gen_a, critic_a, opt_a = _weights(tmp_path / "a" / "run")
    step_b, gen_b, critic_b, opt_b = _weights(tmp_path / "b" / "run")
    assert step_a == step_b == 4
    assert "net.0.weight" in gen_a and gen_a["net.0.weight"].shape == (16, 8)     # Linear(z_dim, units)
    for a, b in ((gen_a, gen_b), (critic_a, critic_b)):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    for key, state in opt_a["state"].items():
        assert torch.equal(state["square_avg"], opt_b["state"][key]["square_avg"])
    if ema:
        ema_a = read_checkpoint(list_checkpoints(tmp_path / "a" / "run")[-1][1])["generator_ema"]
        ema_b = read_checkpoint(list_checkpoints(tmp_path / "b" / "run")[-1][1])["generator_ema"]
        assert all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)


def test_changing_the_generator_arch_or_units_is_refused_on_resume(tmp_path, mnist_test):
    from wgan.config import ConfigError
    train(tiny(tmp_path, "train.steps=1", "model.g_arch=mlp", "model.g_mlp_units=16"), mnist_test, echo=quiet)
    with pytest.raises(ConfigError, match="model.g_arch is 'dcgan' but the run .* was started with 'mlp'"):
        train(tiny(tmp_path, "train.steps=2", "model.g_mlp_units=16"), mnist_test, echo=quiet)
    with pytest.raises(ConfigError, match="model.g_mlp_units is 32 but the run .* was started with 16"):
        train(tiny(tmp_path, "train.steps=2", "model.g_arch=mlp", "model.g_mlp_units=32"), mnist_test, echo=quiet)


def test_a_run_from_before_the_generator_arch_key_resumes_as_dcgan(tmp_path, mnist_test):
    import yaml

    from wgan.checkpoint import save_checkpoint
    from wgan.config import ConfigError
    cfg = tiny(tmp_path, "train.steps=2", "log.checkpoint_every=2")
    train(cfg, mnist_test, echo=quiet)
    path = os.path.join(cfg.run.dir, "config.yaml")      # as the files of a run from before model.g_arch
    with open(path) as handle:
        tree = yaml.safe_load(handle)
    del tree["model"]["g_arch"], tree["model"]["g_mlp_units"]
    with open(path, "w") as handle:
        yaml.safe_dump(tree, handle)
    state = read_checkpoint(checkpoint_path(cfg.run.dir, 2))
    state.pop("integrity", None)                           # save_checkpoint writes a new digest
    del state["config"]["model"]["g_arch"], state["config"]["model"]["g_mlp_units"]
    save_checkpoint(cfg.run.dir, 2, state, keep=3)
    with pytest.raises(ConfigError, match="model.g_arch is 'mlp' but the run .* was started with 'dcgan'"):
        train(tiny(tmp_path, "train.steps=3", "model.g_arch=mlp"), mnist_test, echo=quiet)
    messages = []
    assert train(tiny(tmp_path, "train.steps=3"), mnist_test, echo=messages.append).step == 3
    assert any("resuming" in m and "step_00000002.pt" in m for m in messages)


def test_old_train_spelling_of_machine_keys_still_works_with_one_note(tmp_path, mnist_test, capsys):
    import warnings

    from wgan.config import ConfigDeprecation
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = load_config(None, ["train.device=cpu", "train.precision=tf32"])
    assert cfg.system.device == "cpu" and cfg.system.precision == "tf32"
    notes = [str(w.message) for w in caught if issubclass(w.category, ConfigDeprecation)]
    assert len(notes) == 2 and "train.device is now system.device" in notes[0]


def test_a_run_saved_with_the_old_spelling_resumes_on_another_device_setting(tmp_path, mnist_test):
    import yaml
    cfg = tiny(tmp_path, "train.steps=2", "log.checkpoint_every=2")
    train(cfg, mnist_test, echo=quiet)
    path = os.path.join(cfg.run.dir, "config.yaml")
    tree = yaml.safe_load(open(path))
    tree["train"].update(tree.pop("system"))             # as a run from before the system: section
    with open(path, "w") as handle:
        yaml.safe_dump(tree, handle)
    result = train(tiny(tmp_path, "train.steps=3", "system.cuda_graphs=false"), mnist_test, echo=quiet)
    assert result.step == 3


# ------------------------------------------------------------ NaN/Inf and run bookkeeping (moved from the fault tests)
# ---------------------------------------------------------------------------- 4. NaN / Inf
@pytest.mark.parametrize("log_every", [2, 5])   # found at a log step / at a checkpoint step
@pytest.mark.parametrize("quantity", ["critic", "generator"])
def test_nan_stops_with_step_and_quantity_and_keeps_the_last_good_checkpoint(quantity, log_every, tmp_path,
                                                                             make_trainer):
    run_dir = tmp_path / "run"
    trainer, _ = make_trainer(run_dir, "train.steps=10", "log.checkpoint_every=2", f"log.log_every={log_every}",
                              "log.sample_every=1000")

    def poison():
        with torch.no_grad():
            next(trainer.critic.parameters()).fill_(float("nan"))

    original_critic, original_generator = trainer.critic_step, trainer.generator_step

    def generator_step():
        if quantity == "generator" and trainer.step == 3:
            poison()                               # after step 4's critic steps: only the generator loss
        original_generator()
        if quantity == "critic" and trainer.step == 3:
            poison()                               # before step 4's critic steps

    trainer.critic_step, trainer.generator_step = original_critic, generator_step
    with pytest.raises(NonFiniteError) as err:
        trainer.run()
    # The poisoned critic weights are the cause, the loss that went NaN first their symptom.
    assert re.fullmatch(rf"(generator and )?critic weights became NaN/Inf by generator step 4 \(first NaN/Inf "
                        rf"loss: {quantity} loss at generator step 4\)", str(err.value)), str(err.value)
    assert [s for s, _ in list_checkpoints(str(run_dir))] == [2]   # no checkpoint of a NaN state
    assert all_finite(read_checkpoint(checkpoint_path(str(run_dir), 2)))
    assert temp_files(run_dir) == [] and not os.path.exists(run_dir / ".lock")


def test_diverging_learning_rate_exits_4_with_one_line_and_writes_no_checkpoint(tiny_overrides):
    with captured() as (_, err):
        rc = train_main(tiny_overrides + ["train.lr=1e30", "train.clip=1e30", "train.steps=5",
                                          "log.checkpoint_every=1", "log.log_every=1"])
    assert rc == 4
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"error: ((critic|generator) loss became NaN/Inf at generator step 1|(generator and critic|critic|generator) weights became "
                        r"NaN/Inf by generator step 1 \(first NaN/Inf loss: \w+ loss at generator step 1\)); the last good "
                        r"checkpoint is kept in \S+/checkpoints", lines[0]), lines[0]
    run_dir = tiny_overrides[-1].split("=", 1)[1]
    assert list_checkpoints(run_dir) == []


# --------------------------------------------------- trainer bookkeeping
def test_restart_before_the_first_checkpoint_does_not_duplicate_metrics(tmp_path, make_trainer, monkeypatch):
    run_dir = tmp_path / "run"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash before the first checkpoint")

    monkeypatch.setattr(ckpt, "save_checkpoint", crash)
    trainer, _ = make_trainer(run_dir, "train.steps=4", "log.checkpoint_every=100", "log.log_every=1")
    with pytest.raises(RuntimeError):
        trainer.run()
    assert [r["step"] for r in read_metrics(str(run_dir))] == [1, 2, 3, 4]
    monkeypatch.undo()
    trainer, _ = make_trainer(run_dir, "train.steps=4", "log.checkpoint_every=100", "log.log_every=1")
    trainer.run()
    assert [r["step"] for r in read_metrics(str(run_dir))] == [1, 2, 3, 4]


def test_rerunning_a_finished_run_reports_its_checkpoint(run_copy, make_trainer):
    trainer, _ = make_trainer(run_copy, *SHORT)
    assert trainer.run().last_checkpoint == checkpoint_path(str(run_copy), 6)
