"""The README's notebook example runs as written (with its run.dir moved to a temp folder)."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def notebook_example() -> str:
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = readme.split("## Use from a notebook", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_notebook_example_runs(tmp_path, monkeypatch, capsys):
    code = notebook_example()
    assert "run.dir=runs/notebook" in code
    code = code.replace("run.dir=runs/notebook", f"run.dir={tmp_path / 'notebook'}")
    monkeypatch.chdir(REPO)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    # The shape the README's comment promises, read from the README so the two cannot drift.
    promised = re.search(r"print\(images\.shape\)\s+# (torch\.Size\(\[[\d, ]+\]\))", code)
    assert promised, "the README's example no longer says which shape it prints"
    assert promised.group(1) == "torch.Size([16, 1, 32, 32])"     # mnist_cpu's 32x32
    assert promised.group(1) in out
    assert re.search(r"^20 -?\d+\.\d+$", out, re.M)
