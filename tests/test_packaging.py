"""The package as a user gets it: build the wheel, install it into a fresh venv, run it elsewhere.

The venv re-uses this interpreter's torch (no download): it is made without pip and a .pth file
puts this environment's site-packages after its own, so the installed wheel, not the checkout,
is what gets imported; every command runs in a temporary folder outside the checkout.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import sysconfig
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ("wgan-evaluate", "wgan-export", "wgan-sample", "wgan-sweep", "wgan-train", "wgan-view")   # sorted
TINY = ["model.g_width=4", "model.c_width=4", "data.image_size=16", "train.batch_size=8", "train.device=cpu",
        "log.progress=false", "data.on_device=false"]


def _pip_available() -> bool:
    try:
        return subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_pip = pytest.mark.skipif(not _pip_available(), reason=f"pip is not installed for {sys.executable}, so "
                               "the wheel cannot be built (python -m pip wheel)")


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    if not _pip_available():
        pytest.skip(f"pip is not installed for {sys.executable}, so the wheel cannot be built")
    try:
        import setuptools
        version = tuple(int(part) for part in setuptools.__version__.split(".")[:2])
    except (ImportError, ValueError):
        version = (0, 0)
    assert version >= (77, 0), ("building the wheel without isolation needs setuptools>=77 in this environment "
                                "(pip install -e '.[test]' installs it)")
    out = tmp_path_factory.mktemp("wheel")
    # --no-build-isolation: build with this environment's setuptools (no download).
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), REPO], capture_output=True, text=True, timeout=300, env=_clean_env())
    assert done.returncode == 0, done.stderr[-3000:]
    wheels = [name for name in os.listdir(out) if name.endswith(".whl")]
    assert len(wheels) == 1, wheels
    return str(out / wheels[0])


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> str:
    """bin/ of a fresh venv holding the wheel, with this environment's packages (torch) behind it."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = str(root / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, "outer_env.pth"), "w", encoding="utf-8") as handle:
        handle.write(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel],
                          capture_output=True, text=True, timeout=300, env=_clean_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return str(root / "bin")


def test_wheel_holds_every_module_config_and_the_bundled_mnist(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {os.path.relpath(os.path.join(d, f), REPO).replace(os.sep, "/")
               for d, _, files in os.walk(os.path.join(REPO, "wgan")) for f in files if f.endswith(".py")}
    missing = sorted(modules - names)
    assert not missing, f"not in the wheel (add the subpackage to [tool.setuptools] packages): {missing}"
    configs = {f"wgan/configs/{f}" for f in os.listdir(os.path.join(REPO, "configs")) if f.endswith(".yaml")}
    assert configs and configs <= names
    raw = os.path.join(REPO, "data", "MNIST", "raw")
    assert {f"wgan/bundled/MNIST/raw/{f}" for f in os.listdir(raw)} <= names
    assert {"wgan/assets/mnist_generator.safetensors", "wgan/assets/mnist_classifier.pt"} <= names
    assert not any(name.startswith(("tests/", "configs/", "data/", "scripts/")) for name in names)


def test_wheel_metadata_license_version_and_bounds(wheel):
    with zipfile.ZipFile(wheel) as whl:
        meta_name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(whl.read(meta_name))
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in whl.namelist())
        scripts = whl.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    with open(os.path.join(REPO, "wgan", "__init__.py"), encoding="utf-8") as handle:
        version = re.search(r'^__version__ = "([^"]+)"', handle.read(), re.M).group(1)
    assert meta["Version"] == version                       # the one version source: wgan.__version__
    assert meta["License-Expression"] == "MIT"
    requires = meta.get_all("Requires-Dist")
    pinned = [r for r in requires if "<" in r.split(";")[0] or "==" in r.split(";")[0]]
    assert not pinned, f"upper pins force downgrades: {pinned}"
    for command in COMMANDS:
        assert f"{command} = wgan.cli:" in scripts


@needs_pip
def test_installed_wheel_trains_from_another_folder(venv, tmp_path):
    """The README's promise: after pip install, --config NAME and the bundled MNIST work anywhere."""
    where = subprocess.run([os.path.join(venv, "python"), "-c",
                            "import wgan, wgan.resources as r; print(wgan.__file__); print(r.configs_dir()); "
                            "print(r.bundled_data_root())"],
                           cwd=tmp_path, capture_output=True, text=True, env=_clean_env(), timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    package, configs, data = where.stdout.split()
    venv_root = os.path.dirname(venv)
    for path in (package, configs, data):
        assert path.startswith(venv_root), f"{path} is not from the installed wheel"
    run_dir = tmp_path / "run"
    done = subprocess.run([os.path.join(venv, "wgan-train"), "--config", "mnist_cpu", "train.steps=2",
                           "log.log_every=1", "log.sample_every=1", "log.checkpoint_every=1", *TINY,
                           f"run.dir={run_dir}"],
                          cwd=tmp_path, capture_output=True, text=True, env=_clean_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "done: 2 generator steps" in done.stdout
    assert (run_dir / "checkpoints" / "step_00000002.pt").is_file()
    assert sorted(os.listdir(tmp_path)) == ["run"]          # nothing else written in the working folder
    # python -m wgan is the same command; an unknown config name lists the shipped ones.
    bad = subprocess.run([os.path.join(venv, "python"), "-m", "wgan", "train", "--config", "mnst"],
                         cwd=tmp_path, capture_output=True, text=True, env=_clean_env(), timeout=120)
    assert bad.returncode == 2
    assert "shipped config" in bad.stderr and "mnist_cpu" in bad.stderr


HELP_ALL = """
import contextlib, io, sys
from importlib.metadata import entry_points
for ep in sorted((e for e in entry_points(group="console_scripts") if e.name.startswith("wgan-")),
                key=lambda e: e.name):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            code = ep.load()(["--help"])
        except SystemExit as done:
            code = done.code
    print(ep.name, code or 0, "usage:" in out.getvalue())
"""


@needs_pip
def test_installed_commands_answer_help(venv, tmp_path):
    """Each console script exists, and its entry point loads and prints its --help (one process: each
    command alone would spend seconds importing torch)."""
    for command in COMMANDS:
        assert os.access(os.path.join(venv, command), os.X_OK), command
    done = subprocess.run([os.path.join(venv, "python"), "-c", HELP_ALL], cwd=tmp_path, capture_output=True,
                          text=True, env=_clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:-1] == [f"{command} 0 True" for command in COMMANDS], done.stdout
