"""The device scripts' Python halves under results/recipes/, planned on the CPU: a device call that
fails on its first line costs device time, so what can be checked here is checked here."""

import csv
import importlib.util
import os

from conftest import REPO

from wgan.executor import RunOutcome
from wgan.sweep_summary import write_summaries


def load_script(relative_path):
    spec = importlib.util.spec_from_file_location(os.path.basename(relative_path)[:-3],
                                                  os.path.join(REPO, relative_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recipe_pilot_plans_its_variants_and_writes_their_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)                 # the pilot names configs/mnist.yaml relative to the checkout
    pilot = load_script(os.path.join("results", "recipes", "gpu_mnist_pilot.py"))
    plan = pilot.plan_variants(str(tmp_path / "pilot"), 10)
    names = [run.name for run in plan.runs]
    assert names == list(pilot.VARIANTS)
    steps = {run.name: next(o for o in run.overrides if o.startswith("train.steps=")) for run in plan.runs}
    assert steps["base"] == "train.steps=10" and steps["n_critic1"] == "train.steps=30"   # n_critic 1: 3x the steps
    # The summary has a column per axis of the plan's grid; a run labelled with a key the grid lacks
    # made csv refuse the row (the pilot's first device call ended there).
    csv_path, _ = write_summaries(plan, {name: RunOutcome(name, "pending") for name in names})
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["variant"] for row in rows] == names
