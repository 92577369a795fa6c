"""scripts/plot_curves.py: the Spearman correlation it reports and the FID files it reads."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import plot_curves  # noqa: E402


def test_spearman_matches_hand_computed_values():
    assert plot_curves.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert plot_curves.spearman([1, 2, 3, 4], [9, 7, 5, 1]) == pytest.approx(-1.0)
    # ranks x = 1 2 3 4 5, y = 2 1 4 3 5: d^2 sum 4, rho = 1 - 6*4 / (5*24) = 0.8
    assert plot_curves.spearman([0.1, 0.2, 0.3, 0.4, 0.5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    assert plot_curves.ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]      # ties share the average


def test_fid_is_read_from_text_and_from_evaluate_json(tmp_path):
    text = tmp_path / "fid.txt"
    text.write_text("4000 50.5\n8000 40.25\n")
    assert plot_curves.read_fid(str(text)) == [(4000.0, 50.5), (8000.0, 40.25)]
    records = [{"model": "runs/x/checkpoints/step_00008000.pt", "metrics": {"fid": 40.0}},   # no "step" key
               {"model": "runs/x/checkpoints/step_00004000.pt", "step": 4000, "metrics": {"fid": 50.0}}]
    js = tmp_path / "fid.json"
    js.write_text(json.dumps(records))
    assert plot_curves.read_fid(str(js)) == [(4000.0, 50.0), (8000.0, 40.0)]


def test_em_at_takes_the_last_value_logged_at_or_before_the_step():
    em = [(100, 1.0), (200, 0.8), (300, 0.6)]
    assert [plot_curves.em_at(em, s) for s in (50, 200, 250, 999)] == [1.0, 0.8, 0.8, 0.6]
