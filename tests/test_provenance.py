"""A self-describing run: run.json, the config as TensorBoard text, metrics/ tags, clipped_fraction,
and what train() returns and says."""

import json
import logging
import os
import sys

import pytest
import torch

import wgan
from wgan.config import load_config
from wgan.rundir import RunDir
from wgan.trainer import Trainer, TrainingInterrupted, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["data.image_size=16", "model.g_width=4", "model.c_width=4", "model.z_dim=8", "train.batch_size=8",
        "system.device=cpu", f"data.root={os.path.join(REPO, 'data')}", "log.progress=false",
        "log.log_every=2", "log.sample_every=4", "log.checkpoint_every=2"]


def tiny(tmp_path, *extra):
    return load_config(None, TINY + [f"run.dir={tmp_path / 'run'}", *extra])


def quiet(_):
    pass


def attempts(cfg):
    with open(RunDir(cfg.run.dir).run_json) as handle:
        record = json.load(handle)
    assert record["format"] == "wgan-run"
    return record["attempts"]


def test_run_json_describes_a_finished_run_and_a_rerun_returns_its_final_metrics(tmp_path, mnist_test):
    cfg = tiny(tmp_path, "train.steps=4")
    first = train(cfg, mnist_test, echo=quiet)
    (entry,) = attempts(cfg)
    assert entry["status"] == "finished"
    assert (entry["start_step"], entry["end_step"]) == (0, 4)
    assert entry["wgan_version"] == wgan.__version__ and entry["torch_version"] == torch.__version__
    assert entry["device"] == "cpu" and entry["device_name"] == "cpu" and entry["world_size"] == 1
    assert entry["command_line"] == sys.argv
    assert entry["started"] <= entry["finished"]
    commit = entry["git_commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)

    # Trained again: zero steps, the final metrics of the log (the README notebook snippet's case).
    again = train(tiny(tmp_path, "train.steps=4"), mnist_test, echo=quiet)
    assert again.step == 4 and again.metrics == first.metrics
    assert again.metrics["em_distance"] == first.metrics["em_distance"]
    old, new = attempts(cfg)
    assert old == entry                                  # the history is kept
    assert new["status"] == "finished" and (new["start_step"], new["end_step"]) == (4, 4)


def test_run_json_records_an_interrupted_attempt_and_its_resume(tmp_path, mnist_test):
    cfg = tiny(tmp_path, "train.steps=6")
    stopped = Trainer(cfg, mnist_test, echo=quiet)
    stopped.opt_g.register_step_post_hook(
        lambda *a: setattr(stopped, "_stop_signal", 2) if stopped.step == 1 else None)   # during step 2
    with pytest.raises(TrainingInterrupted):
        stopped.run()
    (entry,) = attempts(cfg)
    assert entry["status"] == "interrupted" and entry["end_step"] == 2 and entry["finished"]
    train(tiny(tmp_path, "train.steps=6"), mnist_test, echo=quiet)
    first, second = attempts(cfg)
    assert first == entry
    assert second["status"] == "finished" and (second["start_step"], second["end_step"]) == (2, 6)


def test_run_json_names_the_exception_of_a_failed_attempt_and_a_killed_one(tmp_path, mnist_test):
    cfg = tiny(tmp_path, "train.steps=4")
    trainer = Trainer(cfg, mnist_test, echo=quiet)

    def boom(*_):
        raise ZeroDivisionError("boom")
    trainer.opt_g.register_step_post_hook(boom)
    with pytest.raises(ZeroDivisionError):
        trainer.run()
    (entry,) = attempts(cfg)
    assert entry["status"] == "failed: ZeroDivisionError"
    # An attempt whose process died (kill -9) never wrote its end; the next one says so.
    path = RunDir(cfg.run.dir).run_json
    with open(path) as handle:
        record = json.load(handle)
    record["attempts"][0]["status"] = "running"
    with open(path, "w") as handle:
        json.dump(record, handle)
    train(tiny(tmp_path, "train.steps=4"), mnist_test, echo=quiet)
    assert [a["status"] for a in attempts(cfg)] == ["killed", "finished"]


def test_git_commit_is_none_outside_a_checkout(tmp_path):
    from wgan.provenance import git_commit
    assert git_commit(str(tmp_path)) is None
    assert git_commit(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("objective", ["wgan", "wgan-gp"])
def test_clipped_fraction_is_logged_for_weight_clipping_only(tmp_path, mnist_test, objective):
    cfg = tiny(tmp_path, f"train.objective={objective}", "train.steps=4", "train.lr=0.05")
    train(cfg, mnist_test, echo=quiet)
    rows = [r for r in RunDir(cfg.run.dir).read_metrics() if "em_distance" in r]
    assert len(rows) == 2
    if objective == "wgan":
        assert all(0.0 <= r["clipped_fraction"] <= 1.0 for r in rows)
        assert rows[-1]["clipped_fraction"] > 0           # lr 0.05 drives weights to the bounds
    else:
        assert all("clipped_fraction" not in r for r in rows)


def test_clipped_fraction_counts_the_weights_at_the_bounds(tmp_path, mnist_test):
    trainer = Trainer(tiny(tmp_path), mnist_test, echo=quiet)
    params = list(trainer.critic.parameters())
    total = sum(p.numel() for p in params)
    with torch.no_grad():
        for p in params:
            p.fill_(0.0)
        params[0].view(-1)[:3] = trainer.objective.clip
        params[0].view(-1)[3] = -trainer.objective.clip
    assert trainer._clipped_fraction()["clipped_fraction"].item() == pytest.approx(4 / total)


def test_tensorboard_holds_the_config_as_text_and_quality_metrics_under_metrics(tmp_path, mnist_test):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from wgan.tracking import TAGS
    cfg = tiny(tmp_path, "train.steps=2", "log.eval_every=2", "log.eval_samples=32",
               f"log.inception={tmp_path / 'no-inception.pt'}")
    with pytest.warns(UserWarning, match="FID is skipped"):
        train(cfg, mnist_test, echo=quiet)
    events = EventAccumulator(cfg.run.dir, size_guidance={"tensors": 0, "scalars": 0}).Reload()
    texts = [tag for tag in events.Tags()["tensors"] if tag.startswith("config")]
    assert texts, events.Tags()
    text = events.Tensors(texts[0])[0].tensor_proto.string_val[0].decode()
    assert text.startswith("```yaml\n") and "objective: wgan" in text
    scalars = set(events.Tags()["scalars"])
    assert {"metrics/classes_covered", "metrics/class_kl"} <= scalars
    assert "classes_covered" not in scalars
    assert {TAGS["lr"], TAGS["clipped_fraction"]} <= scalars
    row = [r for r in RunDir(cfg.run.dir).read_metrics() if "classes_covered" in r][0]
    assert "class_kl" in row                                # metrics.jsonl keys stay as they were


def test_messages_go_to_the_wgan_logger_and_the_config_at_debug(tmp_path, mnist_test, caplog, capsys):
    logger = logging.getLogger("wgan")
    saved = logger.level, logger.propagate, list(logger.handlers)
    try:
        logger.handlers[:] = []
        logger.setLevel(logging.INFO)
        logger.propagate = True                           # so that caplog sees the records
        with caplog.at_level(logging.INFO, logger="wgan"):
            train(tiny(tmp_path, "train.steps=2"), mnist_test)
        messages = [r.getMessage() for r in caplog.records if r.name == "wgan"]
        assert any(m.startswith("wgan: wgan on MNIST") for m in messages)
        assert not any(m.startswith("resolved config") for m in messages)       # DEBUG, not shown
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="wgan"):
            train(tiny(tmp_path, "train.steps=2"), mnist_test)
        assert any(r.getMessage().startswith("resolved config") and r.levelno == logging.DEBUG
                   for r in caplog.records)
        caplog.clear()
        logger.setLevel(logging.WARNING)                  # what a notebook user does to silence it
        logger.propagate = False
        capsys.readouterr()
        train(tiny(tmp_path, "train.steps=2"), mnist_test)
        assert capsys.readouterr().out == ""
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]


def test_the_default_handler_prints_to_the_current_stdout(capsys):
    from wgan.logs import get_logger
    logger = logging.getLogger("wgan")
    saved = logger.level, logger.propagate, list(logger.handlers)
    try:
        logger.handlers[:] = []
        logger.setLevel(logging.NOTSET)
        get_logger().info("hello")
        get_logger().debug("hidden")
        assert capsys.readouterr().out == "hello\n"
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers[:] = saved[2]
