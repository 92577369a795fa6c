"""Bad input never gives a traceback: one line ``error: ...`` naming the key and the fix, exit 2,
and nothing created in the run directory.

tests/bad_configs/*.yaml is a corpus of broken configs; each file says on ``# expect:`` lines
what its error message must contain. Most cases run in-process through wgan.cli.train_main; a
few through a real ``scripts/train.py`` subprocess; hypothesis feeds random overrides and files.
"""

import os
import string
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import wgan.cli
import wgan.trainer
from wgan.cli import train_main
from wgan.config import Config, ConfigError, all_keys, load_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_DIR = os.path.join(REPO, "tests", "bad_configs")
CORPUS = sorted(f for f in os.listdir(CORPUS_DIR) if f.endswith(".yaml"))
# Every message says how to fix the problem; these are the words such a sentence uses.
FIX_WORDS = ("did you mean", "must", "set ", "use ", "give", "pass", "fix", "lower", "keep", "choose", "start from",
             "save it", "check", "e.g.", "see ")


def expectations(path: str) -> list[str]:
    with open(path, "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("# expect:")]


def assert_one_line_error(rc: int, err: str, *expected: str) -> str:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), repr(err)
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert any(word in lines[0] for word in FIX_WORDS), lines[0]
    return lines[0]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current directory (with data/ linked to the bundled MNIST) that must stay empty.

    Training must never start here: should a bad input be accepted, the test fails at once
    rather than training the default experiment.
    """
    os.symlink(os.path.join(REPO, "data"), tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(wgan.trainer.Trainer, "run", lambda self: pytest.fail("bad input started training"))
    yield tmp_path
    assert sorted(os.listdir(tmp_path)) == ["data"], "bad input created files"


def test_corpus_has_at_least_30_bad_configs():
    assert len(CORPUS) >= 30
    assert all(expectations(os.path.join(CORPUS_DIR, name)) for name in CORPUS)


@pytest.mark.parametrize("name", CORPUS)
def test_bad_config_file_gives_one_line_naming_the_key_and_the_fix(name, workdir, capsys):
    path = os.path.join(CORPUS_DIR, name)
    rc = train_main(["--config", path])          # default run.dir runs/mnist, relative to workdir
    out, err = capsys.readouterr()
    assert_one_line_error(rc, err, *expectations(path))
    assert out == ""
    assert not os.path.exists(workdir / "PWNED")  # python_object_tag.yaml: nothing was executed


TINY = ["data.image_size=16", "model.g_width=4", "model.c_width=4", "system.device=cpu", "data.split=test"]

BAD_OVERRIDES = [
    (["train.lr"], ["'train.lr' is not of the form key=value"]),
    (["=5"], ["has no key"]),
    (["configs/mnist.yaml"], ["pass --config configs/mnist.yaml"]),
    (["train.lrr=1e-4"], ["train.lrr", "did you mean 'train.lr'"]),
    (["trian.lr=1e-4"], ["trian.lr", "did you mean 'train.lr'"]),
    (["train=5"], ["'train' is a config section, not a key"]),
    (["train.steps=abc"], ["train.steps must be an integer, got 'abc'"]),
    (["train.steps=1.5"], ["train.steps must be an integer"]),
    (["train.steps="], ["train.steps must not be empty"]),
    (["train.steps=-5"], ["train.steps must be >= 1, got -5"]),
    (["train.steps=3000000000"], ["train.steps must be <= 2147483647"]),
    (["train.batch_size=[8]"], ["train.batch_size must be an integer, got [8]"]),
    (["train.batch_size=0"], ["train.batch_size must be >= 1"]),
    (["data.image_size=100"], ["data.image_size must be a power of two"]),
    (["data.image_size=" + "9" * 5000], ["data.image_size must be an integer"]),   # > 4300 digits
    (["train.lr=" + "9" * 400], ["train.lr must be a number"]),                    # too large for a float
    (["train.lr=1e400"], ["train.lr must be a finite number"]),
    (["train.lr=0"], ["train.lr must be > 0"]),
    (["train.seed=2020-13-45"], ["train.seed must be an integer"]),                 # PyYAML: ValueError
    (["train.seed=-1"], ["train.seed"]),
    (["train.seed=18446744073709551616"], ["train.seed"]),
    (["train.betas=[0.5"], ["train.betas must be a list"]),
    (["train.betas=[false, 0.9]", "train.objective=gan"], ["train.betas must be two numbers"]),
    (["train.betas=" + "[" * 600 + "]" * 600], ["train.betas"]),                  # RecursionError in PyYAML
    (["data.name=imagenet"], ["data.name", "did you mean"]),
    (["model.g_arch=transformer"], ["model.g_arch must be one of dcgan, mlp, got 'transformer'"]),
    (["model.g_mlp_units=0"], ["model.g_mlp_units must be >= 1, got 0"]),
    (["data.name=mni\u2028st"], ["data.name", "\\u2028"]),                          # a line separator stays escaped
    (["train.objective=wgan-gp", "model.c_norm=batch"],
     ["model.c_norm=batch cannot be used with train.objective=wgan-gp"]),
    (["log.progress=maybe"], ["log.progress must be true or false"]),
    (["run.dir="], ["run.dir must not be empty"]),
    (["train.lr=!!python/object/apply:os.system ['touch PWNED']"], ["train.lr must be a number"]),
    (["--confg", "x.yaml"], ["unrecognized arguments: --confg", "see train.py --help"]),
    (["--config"], ["argument --config: expected one argument"]),
    (["--config", "missing.yaml"], ["config file 'missing.yaml' does not exist", "pass an existing file"]),
    (["--config", "data"], ["config path 'data' is a directory", "pass a YAML file"]),
    (["--config", "/dev/null"], ["config path '/dev/null' is not a regular file"]),
    (TINY + ["train.batch_size=20000"], ["train.batch_size=20000", "larger than the dataset", "lower"]),
    (TINY + ["data.root=nowhere"], ["MNIST test split not found", "set data.root"]),
]


@pytest.mark.parametrize("args,expected", BAD_OVERRIDES, ids=lambda v: str(v)[:40] if isinstance(v, list) else "")
def test_bad_override_gives_one_line_naming_the_key_and_the_fix(args, expected, workdir, capsys):
    rc = train_main(args)
    out, err = capsys.readouterr()
    assert_one_line_error(rc, err, *expected)
    assert out == ""


def test_empty_config_file_is_one_line_exit_2(workdir, capsys):
    (workdir / "empty.yaml").write_bytes(b"")
    rc = train_main(["--config", "empty.yaml"])
    os.unlink(workdir / "empty.yaml")
    assert_one_line_error(rc, capsys.readouterr().err, "config file 'empty.yaml' is empty")


def test_cuda_device_without_a_gpu_is_refused_before_loading_data(workdir, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr(wgan.cli, "load_dataset", lambda cfg: pytest.fail("dataset loaded"))
    rc = train_main(["system.device=cuda"])
    assert_one_line_error(rc, capsys.readouterr().err, "system.device=cuda but no CUDA device is available")


def test_unreadable_dataset_file_is_one_line_exit_2(workdir, capsys):
    raw = workdir / "broken" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in os.listdir(os.path.join(REPO, "data", "MNIST", "raw")):
        with open(os.path.join(REPO, "data", "MNIST", "raw", name), "rb") as handle:
            data = handle.read()
        (raw / name).write_bytes(data[: len(data) // 2] if name.startswith("t10k-images") else data)
    rc = train_main(TINY + ["data.root=broken"])
    import shutil
    shutil.rmtree(workdir / "broken")
    assert_one_line_error(rc, capsys.readouterr().err, "data.name=mnist in data.root=broken cannot be read")


def test_out_of_memory_is_one_line_exit_2(workdir, capsys, monkeypatch):
    def oom(cfg, dataset=None, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 1099511627776 bytes.")

    monkeypatch.setattr(wgan.trainer, "train", oom)
    rc = train_main(TINY)
    assert_one_line_error(rc, capsys.readouterr().err, "out of memory", "lower train.batch_size")


def test_dry_run_with_bad_input_leaves_no_temporary_directory(workdir, capsys, monkeypatch, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for args in (["--dry-run", "train.lr=abc"], ["--dry-run", "data.root=nowhere"]):
        assert train_main(args) == 2
    assert os.listdir(scratch) == []
    capsys.readouterr()


def test_other_exceptions_are_not_swallowed(workdir, monkeypatch):
    def bug(cfg, dataset=None, **kwargs):
        raise KeyError("a programming error must keep its traceback")

    monkeypatch.setattr(wgan.trainer, "train", bug)
    with pytest.raises(KeyError):
        train_main(TINY)


# ----------------------------------------------------------------------- real subprocesses
@pytest.mark.parametrize("args,expected", [
    (["--config", os.path.join(CORPUS_DIR, "malformed_yaml.yaml")], ["is not valid YAML at line 5, column 8"]),
    (["train.n_critic=five"], ["train.n_critic must be an integer, got 'five'"]),
])
def test_bad_input_in_a_real_process_exits_2_with_one_line(args, expected, tmp_path, run_train):
    proc = run_train(args + [f"run.dir={tmp_path / 'run'}"], cwd=str(tmp_path))
    assert proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, *expected)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------- property tests
SCALARS = st.one_of(
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "null", "~", "true", "no", "[]", "{}", "[0.5, 0.9]", "[1, [2]]", "{a: 1}", "'quoted'",
                     "1e-4", "0x10", "1_000", "2020-01-01", "2020-13-45", ".nan", "-.inf", "[", "]", "{", "&a x",
                     "*a", "!!str 5", "!!python/name:os.system", "a: b: c", "- x", "#", "64 # comment",
                     "mnist", "wgan-gp", "batch", "cuda", "bf16"]),
    st.text(max_size=20),
)
KEYS = st.one_of(st.sampled_from(all_keys()), st.sampled_from(["train", "data.", ".lr", "train..lr", "x.y.z"]),
                 st.text(alphabet=string.ascii_letters + "._-", max_size=15))
OVERRIDES = st.lists(st.one_of(st.builds(lambda k, v: f"{k}={v}", KEYS, SCALARS), st.text(max_size=20)),
                     max_size=6)


@settings(max_examples=300, deadline=None)
@given(overrides=OVERRIDES)
def test_random_overrides_give_a_config_or_a_one_line_config_error(overrides):
    try:
        cfg = load_config(None, overrides)
    except ConfigError as err:
        message = str(err)
        assert message and len(message.splitlines()) == 1 and message == message.strip(), repr(message)
    else:
        assert isinstance(cfg, Config)


TREES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.one_of(st.sampled_from(["data", "model", "train", "log", "run"]
                                                                         + [k.split(".")[1] for k in all_keys()]),
                                                         st.text(max_size=6)), children, max_size=4)),
    max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=TREES, raw=st.text(max_size=60), use_raw=st.booleans())
def test_random_config_files_give_a_config_or_a_one_line_config_error(tree, raw, use_raw, tmp_path):
    path = tmp_path / "random.yaml"
    path.write_text(raw if use_raw else yaml.safe_dump(tree), encoding="utf-8")
    try:
        load_config(str(path))
    except ConfigError as err:
        assert len(str(err).splitlines()) == 1, repr(str(err))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=OVERRIDES)
def test_train_main_on_random_overrides_exits_0_or_2_with_one_line(overrides, tmp_path, monkeypatch, capsys):
    assume(not any(o.startswith("-") for o in overrides))          # options are argparse's business
    started = []
    monkeypatch.setattr(wgan.trainer, "train", lambda cfg, dataset=None, **kw: started.append(cfg) or _Done(cfg))
    monkeypatch.setattr(wgan.cli, "load_dataset", lambda cfg: None, raising=False)
    run_dir = tmp_path / "run"
    rc = train_main(overrides + [f"run.dir={run_dir}"])           # stop before training: train is patched
    err = capsys.readouterr().err
    if rc == 0:
        assert err == "" and len(started) == 1
    else:
        assert rc == 2 and not started
        assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, repr(err)
    assert not run_dir.exists()


class _Done:
    def __init__(self, cfg):
        self.step, self.run_dir, self.last_checkpoint = 0, cfg.run.dir, None
