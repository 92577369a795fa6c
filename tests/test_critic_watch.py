"""The dead-critic warning, replayed on the EM curves of real GPU runs kept in results/."""

import os

from wgan.critic_watch import CriticWatch
from wgan.rundir import read_metrics_file

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")


def replay(path):
    watch, warnings = CriticWatch(), []
    for row in read_metrics_file(path):
        message = watch.update(row["step"], row["em_distance"])
        if message:
            warnings.append((row["step"], message))
    return warnings


def test_fashion_run_whose_critic_died_is_flagged_once_soon_after():
    warnings = replay(os.path.join(RESULTS, "datasets", "fashion", "metrics.jsonl.gz"))
    assert len(warnings) == 1
    step, message = warnings[0]
    assert 58_000 <= step <= 64_000, step          # the EM estimate fell to ~0 at ~58k-62k steps
    assert "critic has probably died" in message and "train.lr" in message


def test_healthy_runs_are_not_flagged():
    for path in (("datasets", "mnist"), ("datasets", "stacked"), ("recipes", "lr2e4_ema_32px"),
                 ("recipes", "paper_ema")):
        assert replay(os.path.join(RESULTS, *path, "metrics.jsonl.gz")) == [], path


def test_warning_needs_consecutive_low_values():
    watch = CriticWatch(fraction=0.1, patience=3)
    values = [1.0, 0.05, 0.05, 0.5, 0.05, 0.05, 0.05, 0.05]
    out = [watch.update(i, v) for i, v in enumerate(values)]
    assert [i for i, m in enumerate(out) if m] == [6]       # the reset at 0.5 restarts the count
    assert "since generator step 4" in out[6]
