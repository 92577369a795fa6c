"""Shipped config names, the bundled-MNIST default data.root, python -m wgan, and --dry-run's clean-up."""

import os
import sys
import tempfile

import pytest
from conftest import REPO, TINY_ARGS

from wgan import ConfigError, load_config
from wgan.cli import COMMANDS, main, train_main
from wgan.resources import bundled_data_root, config_names, resolve_data_root


def test_shipped_config_names_load_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"mnist", "mnist_cpu", "mnist_paper"} <= set(config_names())
    assert sorted(config_names()) == sorted(f[:-5] for f in os.listdir(os.path.join(REPO, "configs"))
                                            if f.endswith(".yaml"))
    by_name, by_path = load_config("mnist"), load_config(os.path.join(REPO, "configs", "mnist.yaml"))
    assert by_name.to_dict() == by_path.to_dict()
    assert load_config("mnist_cpu.yaml").model.g_width == load_config("mnist_cpu").model.g_width


def test_unknown_config_name_lists_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"config file 'mnst' does not exist; .* shipped config \(.*mnist_cpu"):
        load_config("mnst")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("sub/mnist.yaml")            # a path is only ever a path


def test_a_local_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist.yaml").write_text("model:\n  g_width: 7\n")
    assert load_config("mnist.yaml").model.g_width == 7


def test_default_data_root_falls_back_to_the_bundled_mnist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bundled = bundled_data_root()
    assert bundled is not None and os.path.isdir(os.path.join(bundled, "MNIST", "raw"))
    assert load_config("mnist").data.root == bundled
    assert load_config("mnist", ["data.name=stacked_mnist"]).data.root == bundled
    assert load_config("mnist", ["data.root=elsewhere"]).data.root == "elsewhere"      # explicit: as given
    assert load_config("fashion_mnist").data.root == "data"                           # downloads land in ./data
    local = tmp_path / "data" / "MNIST" / "raw"
    local.mkdir(parents=True)
    (local / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert resolve_data_root("mnist", "data") == "data"                                # ./data holds MNIST


def test_python_m_wgan_dispatches(capsys):
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert set(COMMANDS) == {"train", "sample", "evaluate", "export", "view", "sweep"}
    assert main(["train", "--config", "mnist", "train.n_critic=0"]) == 2
    assert capsys.readouterr().err.strip() == "error: train.n_critic must be >= 1, got 0"


def test_dry_run_removes_its_temporary_run_directory(tmp_path, monkeypatch, capsys):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)
    assert train_main(["--dry-run", *TINY_ARGS, "log.progress=false"]) == 0
    assert [name for name in os.listdir(scratch) if name.startswith("wgan-dry-run-")] == []
    out = capsys.readouterr().out
    assert "done: 2 generator steps" in out and "temporary run directory (dry run; removed)" in out


@pytest.mark.parametrize("argv0, expected", [
    ("/venv/bin/wgan-train", "wgan-train"), ("/x/wgan/__main__.py", "python -m wgan train"),
    ("scripts/train.py", "train.py"), ("-c", "train.py")])
def test_usage_names_the_program_as_it_was_started(monkeypatch, argv0, expected):
    from wgan.commandline import OneLineParser, invoked_as

    monkeypatch.setattr(sys, "argv", [argv0, "--help"])
    assert invoked_as("train.py") == expected and OneLineParser(prog="train.py").prog == expected
    if argv0.endswith("__main__.py"):
        assert invoked_as("viewer.py", "view") == "python -m wgan view"
