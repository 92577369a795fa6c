"""Config schema: YAML + overrides, defaults, validation messages, and every shipped config."""

import glob
import os
import subprocess
import sys

import pytest

from wgan.config import Config, ConfigError, all_keys, load_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_are_algorithm_1_of_the_paper():
    cfg = load_config(None)
    t = cfg.train
    assert (t.optimizer, t.lr, t.clip, t.n_critic, t.batch_size) == ("rmsprop", 5e-5, 0.01, 5, 64)


def test_yaml_and_dotted_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 1.0e-3\n  steps: 7\ndata:\n  image_size: 32\n")
    cfg = load_config(str(path), ["train.lr=1e-4", "run.dir=runs/x", "train.betas=[0.1, 0.2]"])
    assert cfg.train.lr == 1e-4 and cfg.train.steps == 7 and cfg.data.image_size == 32
    assert cfg.run.dir == "runs/x" and cfg.train.betas == [0.1, 0.2]


def test_round_trip_through_yaml(tmp_path):
    cfg = load_config(None, ["train.seed=5", "model.c_norm=layer"])
    path = tmp_path / "resolved.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(str(path)) == cfg


@pytest.mark.parametrize("override, message", [
    ("train.n_critc=3", "unknown config key 'train.n_critc'; did you mean 'train.n_critic'?"),
    ("trian.lr=1", "unknown config key 'trian.lr'; did you mean 'train.lr'?"),
    ("train.n_critic=0", "train.n_critic must be >= 1, got 0"),
    ("train.clip=0", "train.clip must be > 0, got 0.0"),
    ("train.clip=-0.01", "train.clip must be > 0"),
    ("data.image_size=48", "data.image_size must be a power of two >= 16"),
    ("data.image_size=8", "data.image_size must be a power of two >= 16"),
    ("train.batch_size=0", "train.batch_size must be >= 1, got 0"),
    ("train.steps=ten", "train.steps must be an integer, got 'ten'"),
    ("train.lr=fast", "train.lr must be a number, got 'fast'"),
    ("system.device=tpu", "system.device must be one of auto, cpu, cuda, got 'tpu'"),
    ("data.name=mnsit", "did you mean 'mnist'?"),
    ("train.lr", "not of the form key=value"),
    ("model.g_arch=resnet", "model.g_arch must be one of dcgan, mlp, got 'resnet'"),
    ("model.g_arch=mpl", "model.g_arch must be one of dcgan, mlp, got 'mpl'; did you mean 'mlp'?"),
    ("model.g_mlp_units=0", "model.g_mlp_units must be >= 1, got 0"),
    ("model.g_mlp_units=-512", "model.g_mlp_units must be >= 1, got -512"),
    ("model.g_mlp_units=wide", "model.g_mlp_units must be an integer, got 'wide'"),
    ("model.g_mlp_units=3000000000", "model.g_mlp_units must be <= 2147483647"),
])
def test_bad_values_name_the_key_and_the_fix(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file 'nope.yaml' does not exist"):
        load_config("nope.yaml")


def test_cli_reports_one_line_exit_2_no_traceback(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train.py"), "--config",
                           os.path.join(REPO, "configs", "mnist_cpu.yaml"), "train.n_critic=0",
                           f"run.dir={run_dir}"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: train.n_critic must be >= 1, got 0"
    assert "Traceback" not in proc.stderr
    assert not run_dir.exists()


def test_every_key_is_documented_in_the_readme():
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    missing = [key for key in all_keys() if f"`{key}`" not in readme]
    assert not missing, f"README.md does not document: {missing}"


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "configs", "*.yaml"))))
def test_every_shipped_config_loads_and_validates(path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    assert cfg.run.dir.startswith("runs/")


def test_mlp_generator_keys_and_their_defaults():
    m = load_config(None).model
    assert (m.g_arch, m.g_mlp_units, m.g_norm) == ("dcgan", 512, "batch")
    m = load_config(None, ["model.g_arch=mlp", "model.g_norm=none"]).model
    assert (m.g_arch, m.g_mlp_units, m.g_norm) == ("mlp", 512, "none")


def test_resume_treats_a_key_the_saved_config_lacks_as_its_default():
    from wgan.config import resume_conflict
    cfg = load_config(None)
    saved = cfg.to_dict()
    for key in ("g_arch", "g_mlp_units"):          # a run started before these keys existed
        del saved["model"][key]
    assert resume_conflict(saved, cfg) is None
    assert resume_conflict(saved, load_config(None, ["model.g_arch=mlp"])) == ("model.g_arch", "dcgan", "mlp")
    mlp = load_config(None, ["model.g_arch=mlp", "model.g_mlp_units=64"])
    assert resume_conflict(mlp.to_dict(), mlp) is None
    assert resume_conflict(mlp.to_dict(), load_config(None, ["model.g_arch=mlp"])) == ("model.g_mlp_units", 64, 512)
    assert resume_conflict(mlp.to_dict(), load_config(None, ["model.g_mlp_units=64"])) == \
        ("model.g_arch", "mlp", "dcgan")
