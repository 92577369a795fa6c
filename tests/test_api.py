"""The public API is small and importing it has no side effects."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_touches_nothing(tmp_path):
    code = ("import os, torch, wgan; "
            "print(sorted(wgan.__all__)); print(torch.cuda.is_initialized()); print(os.listdir('.'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": REPO}, timeout=120)
    assert out.returncode == 0, out.stderr
    names, cuda, files = out.stdout.strip().splitlines()
    assert names == str(sorted(["Config", "ConfigError", "Critic", "Generator", "Trainer", "TrainResult",
                                "load_config", "load_generator", "train"]))
    assert cuda == "False" and files == "[]"
    assert out.stderr == ""
