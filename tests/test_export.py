"""Generator export (safetensors) and loading: round trips, refusal of unsafe and broken files."""

import json
import os
import pickle

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from wgan import export
from wgan.checkpoint import save_checkpoint
from wgan.config import load_config
from wgan.export import (
    ModelLoadError,
    export_generator,
    load_generator,
    load_model,
    model_info,
    save_generator,
)
from wgan.models import Generator, build_models
from wgan.rundir import write_config

Z_DIM = 8


def make_run(run_dir, step=7, channels=1, seed=0, model=()):
    """A run directory holding one training checkpoint of a tiny 16x16 model (``model``: more
    model.* overrides); returns its generator."""
    torch.manual_seed(seed)
    cfg = load_config(None, ["data.image_size=16", f"model.z_dim={Z_DIM}", "model.g_width=4", "model.c_width=4",
                             *model, f"run.dir={run_dir}"])
    gen, critic = build_models(cfg, channels)
    with torch.no_grad():           # move the BatchNorm running statistics away from their init,
        gen(torch.randn(32, Z_DIM))  # so an export that dropped buffers would give other images
    state = {"step": step, "generator": gen.state_dict(), "critic": critic.state_dict(), "opt_g": {},
             "opt_c": {}, "config": cfg.to_dict(), "channels": channels, "fixed_z": torch.randn(4, Z_DIM),
             "rng": {}}
    save_checkpoint(str(run_dir), step, state, keep=3)
    write_config(str(run_dir), cfg)
    return gen.eval()


def write_export(path, tensors, **meta):
    """A hand-made safetensors file with our metadata convention (every value JSON)."""
    base = {"format": "wgan-generator", "format_version": 1,
            "generator": {"image_size": 16, "channels": 1, "z_dim": Z_DIM, "width": 4, "norm": "batch"},
            "step": 1, "dataset": "mnist", "objective": "wgan"}
    base.update(meta)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path),
              metadata={k: json.dumps(v) for k, v in base.items()})
    return path


@pytest.fixture
def run(tmp_path):
    run_dir = tmp_path / "run"
    return run_dir, make_run(run_dir)


@pytest.mark.parametrize("channels", [1, 3])
def test_export_round_trip_gives_identical_images(tmp_path, channels):
    run_dir = tmp_path / "run"
    gen = make_run(run_dir, channels=channels)
    out = tmp_path / "g.safetensors"
    export_generator(run_dir, out)
    loaded = load_generator(out)
    assert isinstance(loaded, Generator) and not loaded.training
    assert loaded.describe() == gen.describe()
    z = torch.randn(6, Z_DIM)
    with torch.no_grad():
        assert torch.equal(loaded(z), gen(z))
    for name, tensor in gen.state_dict().items():       # buffers too (BatchNorm running stats)
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_export_metadata_describes_the_network(run, tmp_path):
    run_dir, gen = run
    out = tmp_path / "g.safetensors"
    export_generator(run_dir, out)
    with safe_open(str(out), framework="pt") as handle:
        meta = {k: json.loads(v) for k, v in handle.metadata().items()}
    assert meta["format"] == "wgan-generator" and meta["format_version"] == 1
    assert meta["generator"] == gen.describe()
    assert (meta["step"], meta["dataset"], meta["objective"]) == (7, "mnist", "wgan")
    info = model_info(out)
    assert (info.image_size, info.channels, info.z_dim, info.step, info.dataset) == (16, 1, Z_DIM, 7, "mnist")
    assert info.kind == "export"
    assert "16x16 px" in info.summary() and "7 training steps" in info.summary()


def test_export_file_holds_no_pickle(run, tmp_path):
    out = tmp_path / "g.safetensors"
    export_generator(run[0], out)
    raw = out.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    json.loads(raw[8:8 + header_len])                   # the header is plain JSON ...
    assert not raw.startswith(b"PK") and b"\x80\x02" not in raw[:8 + header_len]   # ... no zip, no pickle


def test_fp16_export_is_smaller_and_loads_as_float32(run, tmp_path):
    run_dir, gen = run
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    export_generator(run_dir, full)
    info = export_generator(run_dir, half, fp16=True)
    assert info.dtype == "float16" and model_info(half).dtype == "float16"
    assert os.path.getsize(half) < 0.6 * os.path.getsize(full)
    loaded = load_generator(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    z = torch.randn(4, Z_DIM)
    with torch.no_grad():
        assert torch.allclose(loaded(z), gen(z), atol=2e-2)


def test_checkpoint_and_run_dir_load_like_the_export(run, tmp_path):
    run_dir, gen = run
    ckpt = run_dir / "checkpoints" / "step_00000007.pt"
    z = torch.randn(4, Z_DIM)
    with torch.no_grad():
        for source in (ckpt, run_dir, str(run_dir)):
            assert torch.equal(load_generator(source)(z), gen(z))
    assert model_info(ckpt).kind == "checkpoint" and model_info(run_dir).step == 7


def test_checkpoint_from_an_older_config_schema_still_loads(tmp_path):
    run_dir = tmp_path / "run"
    gen = make_run(run_dir)
    path = run_dir / "checkpoints" / "step_00000007.pt"
    state = torch.load(path, weights_only=True)
    state.pop("integrity", None)                                 # save_checkpoint writes a new digest
    state["config"]["train"]["a_key_since_removed"] = True     # only the generator's keys are read
    del state["config"]["log"]
    save_checkpoint(str(run_dir), 7, state, keep=3)
    z = torch.randn(2, Z_DIM)
    with torch.no_grad():
        assert torch.equal(load_generator(path)(z), gen(z))
    del state["config"]["model"]["g_width"]
    save_checkpoint(str(run_dir), 7, state, keep=3)
    with pytest.raises(ModelLoadError, match="config has no model.g_width"):
        load_generator(path)


def test_run_dir_uses_newest_good_checkpoint(run, tmp_path):
    run_dir, _ = run
    newer = make_run(run_dir, step=9, seed=1)
    z = torch.randn(4, Z_DIM)
    with torch.no_grad():
        assert torch.equal(load_generator(run_dir)(z), newer(z))
    assert model_info(run_dir).step == 9
    (run_dir / "checkpoints" / "step_00000009.pt").write_bytes(b"PK\x03\x04 broken")
    with pytest.warns(UserWarning, match="step_00000009"):
        info = model_info(run_dir)
    assert info.step == 7 and info.path.endswith("step_00000007.pt")


class _Payload:
    """Unpickling this calls open(marker, 'w'): proof of code execution if the marker appears."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("container", ["torch.save zip", "raw pickle named .safetensors"])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, container):
    marker = tmp_path / "code_ran"
    payload = {"step": 1, "generator": _Payload(str(marker)), "critic": {}, "opt_g": {}, "opt_c": {},
               "config": {}, "rng": {}}
    if container == "torch.save zip":
        path = tmp_path / "evil.pt"
        torch.save(payload, path)
    else:
        path = tmp_path / "evil.safetensors"
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(ModelLoadError) as err:
        load_generator(path)
    assert str(path) in str(err.value)
    with pytest.raises(ModelLoadError):
        model_info(path)
    assert not marker.exists()
    if container == "torch.save zip":   # the payload is live: an unsafe load does run it
        torch.load(path, weights_only=False)
        assert marker.exists()


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_FILES = {
    "empty": (lambda p, good, ckpt: p.write_bytes(b""), "empty"),
    "text": (lambda p, good, ckpt: p.write_text("hello, not a model\n"), "neither a wgan generator export"),
    "truncated export": (lambda p, good, ckpt: (p.write_bytes(good.read_bytes()), _truncated(p)),
                         "truncated or corrupt"),
    "truncated checkpoint": (lambda p, good, ckpt: (p.write_bytes(ckpt.read_bytes()), _truncated(p)),
                             "corrupt, truncated"),
    "foreign safetensors": (lambda p, good, ckpt: save_file({"w": torch.zeros(3)}, str(p)),
                            "not a wgan generator export"),
    "foreign torch file": (lambda p, good, ckpt: torch.save({"w": torch.zeros(3)}, p),
                           "not a wgan training checkpoint"),
    "newer format": (lambda p, good, ckpt: write_export(p, load_generator(good).state_dict(), format_version=99),
                     "upgrade wgan"),
    "mismatched shapes": (lambda p, good, ckpt: write_export(
        p, load_generator(good).state_dict(),
        generator={"image_size": 16, "channels": 1, "z_dim": Z_DIM + 1, "width": 4, "norm": "batch"}),
        "mismatched shapes"),
    "missing tensor": (lambda p, good, ckpt: write_export(
        p, {k: v for k, v in load_generator(good).state_dict().items() if k != "net.1.running_var"}),
        "'net.1.running_var' is missing"),
    "bad generator metadata": (lambda p, good, ckpt: write_export(p, load_generator(good).state_dict(),
                                                                  generator={"image_size": 16}),
                               "must name exactly"),
    "nan weights": (lambda p, good, ckpt: write_export(
        p, {k: v.fill_(float("nan")) if k == "net.0.weight" else v
            for k, v in load_generator(good).state_dict().items()}), "NaN"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_one_clear_error(run, tmp_path, case):
    good = tmp_path / "good.safetensors"
    export_generator(run[0], good)
    ckpt = run[0] / "checkpoints" / "step_00000007.pt"
    make, expected = BAD_FILES[case]
    path = tmp_path / f"bad_{case.replace(' ', '_')}.bin"
    make(path, good, ckpt)
    with pytest.raises(ModelLoadError) as err:
        load_generator(path)
    message = str(err.value)
    assert str(path) in message and expected in message and "\n" not in message


def test_missing_paths_and_empty_run_dirs_are_named(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_generator(tmp_path / "nothing.safetensors")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(ModelLoadError, match="without checkpoints"):
        load_generator(tmp_path / "empty_run")


def test_default_model_constant_and_missing_default(tmp_path, monkeypatch):
    assert export.DEFAULT_MODEL.endswith(os.path.join("wgan", "assets", "mnist_generator.safetensors"))
    monkeypatch.setattr(export, "DEFAULT_MODEL", str(tmp_path / "absent.safetensors"))
    with pytest.raises(ModelLoadError, match="default model .* does not exist yet.*scripts/export.py"):
        load_model()
    gen = Generator(16, 1, Z_DIM, 4)
    save_generator(gen, export.DEFAULT_MODEL, step=3)
    assert model_info().step == 3 and load_generator().z_dim == Z_DIM


def test_export_refuses_weights_that_overflow_fp16(tmp_path):
    gen = Generator(16, 1, Z_DIM, 4)
    gen.net[1].running_var.fill_(1e6)   # above float16's largest finite value, 65504
    with pytest.raises(ModelLoadError, match="without --fp16"):
        save_generator(gen, tmp_path / "g.safetensors", fp16=True)
    assert not (tmp_path / "g.safetensors").exists()


def test_export_command_line(run, tmp_path, capsys):
    out = tmp_path / "cli.safetensors"
    assert export.main([str(run[0]), str(out), "--fp16"]) == 0
    assert "wrote" in capsys.readouterr().out and model_info(out).dtype == "float16"
    missing = tmp_path / "absent"
    assert export.main([str(missing), str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and str(missing) in err and err.count("\n") == 1
    assert not (tmp_path / "x.safetensors").exists()


# ------------------------------------------------------------------ a real full disk (issue 16, class 1)
@pytest.mark.parametrize("free", [0, 2048, 5000])      # the run's export takes 7 kB
def test_export_on_a_real_full_disk_is_one_line_exit_2_and_keeps_the_old_file(run, disk, free, capsys):
    out = os.path.join(disk.path, "g.safetensors")
    save_generator(Generator(16, 1, Z_DIM, 4), out, step=1)        # a previous export: kept
    old = open(out, "rb").read()
    disk.leave(free)
    with pytest.raises(OSError) as err:
        save_generator(Generator(32, 3, Z_DIM, 64), out)           # 3.4 MB of weights
    assert err.value.filename == out
    assert export.main([str(run[0]), out]) == 2
    line = capsys.readouterr().err
    assert line == f"error: cannot write {out}: No space left on device; free some disk space\n"
    assert open(out, "rb").read() == old
    assert [n for n in os.listdir(disk.path) if n.startswith(".tmp_")] == []


def test_export_below_a_regular_file_is_one_line(run, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert export.main([str(run[0]), str(tmp_path / "file" / "g.safetensors")]) == 2
    assert capsys.readouterr().err == (f"error: cannot write {tmp_path / 'file' / 'g.safetensors'}: "
                                       f"{tmp_path / 'file'} is a file, not a folder; choose another OUT\n")


# ------------------------------------------------------------------ malformed exports (issue 16, class 6)
@pytest.fixture(scope="module")
def malformed(tmp_path_factory):
    from helpers import malformed_exports
    return malformed_exports(tmp_path_factory.mktemp("malformed"))


MALFORMED_CASES = ["int64 weights", "bool weights", "complex weights", "generator nested 100000 deep",
                   "step nested 100000 deep", "format nested 100000 deep", "image_size 2**1000", "image_size 2**40",
                   "width 2**62", "width 2**31-1 at 4096 px", "norm a number", "step a string", "step negative",
                   "step NaN", "step of 5000 digits", "dataset a list", "objective a mapping", "dtype a list",
                   "format_version true", "step not JSON"]


@pytest.mark.parametrize("case", MALFORMED_CASES)
def test_malformed_export_is_one_model_load_error(malformed, case):
    path, expected = malformed[case]
    for load in (load_generator, load_model):
        with pytest.raises(ModelLoadError) as err:
            load(path)
        message = str(err.value)
        assert message.startswith(path) and expected in message and "\n" not in message and len(message) < 400


@pytest.mark.parametrize("case", ["int64 weights", "generator nested 100000 deep", "image_size 2**1000",
                                  "step a string", "dataset a list", "step of 5000 digits"])
def test_malformed_export_is_one_line_exit_2_in_every_command(malformed, case, tmp_path, capsys):
    from wgan import sampling
    from wgan.metrics import evaluate

    path, expected = malformed[case]
    out = tmp_path / "out"
    for command in (lambda: sampling.main([path, "--n", "4", "--out", str(out) + ".png"]),
                    lambda: export.main([path, str(out) + ".safetensors"]),     # refused before writing
                    lambda: evaluate.main([path, "--n", "4"])):
        assert command() == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}") and expected in err and err.count("\n") == 1, err
    assert os.listdir(tmp_path) == []


def test_model_info_of_a_malformed_export_is_one_model_load_error(malformed):
    for case in ("step a string", "generator nested 100000 deep", "image_size 2**1000", "dataset a list"):
        path, expected = malformed[case]
        with pytest.raises(ModelLoadError, match="re-export|must be|nested"):
            model_info(path)


def test_malformed_checkpoint_in_a_run_dir_falls_back_to_an_older_one(run, tmp_path):
    """A checkpoint whose generator holds integer tensors of the right shapes: named, and the run
    directory's next checkpoint is used."""
    import shutil

    from wgan.checkpoint import read_checkpoint
    run_dir = tmp_path / "copy"
    shutil.copytree(run[0], run_dir)
    state = read_checkpoint(str(run_dir / "checkpoints" / "step_00000007.pt"))
    state["step"] = 9
    state["generator"] = {k: v.to(torch.int64) for k, v in state["generator"].items()}
    save_checkpoint(str(run_dir), 9, state, keep=3)
    with pytest.warns(UserWarning, match="step_00000009.pt: tensor 'net.0.weight' holds int64 values"):
        assert load_model(run_dir)[1].step == 7


def _front_matter(text):
    import yaml
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_export_writes_a_model_card_next_to_it(run, tmp_path):
    out = tmp_path / "g.safetensors"
    export_generator(run[0], out)
    card = tmp_path / "g.README.md"
    assert export.card_path(out) == str(card)
    text = card.read_text()
    meta = _front_matter(text)
    assert meta["license"] == "mit" and meta["library_name"] == "wgan" and meta["datasets"] == ["mnist"]
    assert "metrics" not in meta                          # none measured, none claimed
    assert "| `train.objective` | wgan |" in text and "| `model.g_width` | 4 |" in text   # from the run's config
    assert "| training steps | 7 |" in text
    assert 'load_generator("g.safetensors")' in text
    # The snippet runs as written next to the export.
    snippet = text.split("```python\n")[1].split("```")[0]
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        scope = {}
        exec(snippet, scope)
        assert scope["images"].shape == (16, 1, 16, 16)
    finally:
        os.chdir(cwd)


def test_export_command_puts_measured_metrics_on_the_card(run, tmp_path, capsys):
    record = {"model": "x", "step": 7, "n_generated": 10000, "seed": 0, "dataset": "mnist", "split": "test",
              "metrics": {"fid": 10.8, "kid": 0.0052, "classes_covered": 10}, "torch": "2.14.1", "device": "cpu"}
    (tmp_path / "eval.json").write_text(json.dumps(record))
    out = tmp_path / "m.safetensors"
    assert export.main([str(run[0]), str(out), "--card-metrics", str(tmp_path / "eval.json")]) == 0
    assert "model card" in capsys.readouterr().out
    text = (tmp_path / "m.README.md").read_text()
    assert _front_matter(text)["metrics"] == ["fid", "kid", "classes_covered"]
    assert "| fid | 10.8 |" in text and "10,000 generated images vs the mnist test split" in text
    assert export.main([str(run[0]), str(out), "--fid", "12.5"]) == 0
    assert "| fid | 12.5 |" in (tmp_path / "m.README.md").read_text()
    assert export.main([str(run[0]), str(tmp_path / "n.safetensors"), "--no-card"]) == 0
    assert not (tmp_path / "n.README.md").exists()
    assert export.main([str(run[0]), str(out), "--card-metrics", str(tmp_path / "absent.json")]) == 2


def test_exports_and_cards_are_readable_by_group_and_others(run, tmp_path):
    import stat
    old = os.umask(0o022)
    try:
        out = tmp_path / "g.safetensors"
        export_generator(run[0], out)
    finally:
        os.umask(old)
    for path in (out, tmp_path / "g.README.md"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path


def test_the_shipped_generator_has_a_model_card_with_its_measured_metrics():
    card = export.card_path(export.DEFAULT_MODEL)
    text = open(card, encoding="utf-8").read()
    meta = _front_matter(text)
    assert meta["license"] == "mit" and meta["library_name"] == "wgan" and meta["datasets"] == ["mnist"]
    assert "fid" in meta["metrics"]
    assert "| fid | 6.63 |" in text and "| classifier_fid | 10.88 |" in text and "| class_kl | 0.0242 |" in text
    assert "200,000 generator steps" in text and "load_generator()" in text


# ---------------------------------------------------------------- the MLP generator (model.g_arch=mlp)
def make_mlp_run(run_dir, norm="batch", channels=1, step=7):
    """make_run for a run whose generator is the paper's MLP (16 hidden units here)."""
    return make_run(run_dir, step, channels, model=("model.g_arch=mlp", "model.g_mlp_units=16", f"model.g_norm={norm}"))


@pytest.mark.parametrize("norm", ["batch", "none"])
@pytest.mark.parametrize("channels", [1, 3])
def test_mlp_export_round_trip_gives_identical_samples(tmp_path, norm, channels):
    from wgan.models import MLPGenerator
    from wgan.sampling import generate
    gen = make_mlp_run(tmp_path / "run", norm, channels)
    out = tmp_path / "g.safetensors"
    info = export_generator(tmp_path / "run", out)
    assert (info.arch, info.width, info.norm, info.channels) == ("mlp", 16, norm, channels)
    loaded = load_generator(out)
    assert isinstance(loaded, MLPGenerator) and not loaded.training
    assert loaded.describe() == gen.describe()
    for name, tensor in gen.state_dict().items():       # buffers too (BatchNorm1d running stats)
        assert torch.equal(loaded.state_dict()[name], tensor), name
    z = torch.randn(6, Z_DIM)
    with torch.no_grad():
        assert torch.equal(loaded(z), gen(z))
    assert torch.equal(generate(loaded, 5, seed=3), generate(gen, 5, seed=3))
    # The checkpoint and the run directory rebuild the same network.
    assert torch.equal(generate(load_generator(tmp_path / "run"), 5, seed=3), generate(gen, 5, seed=3))
    # save_generator directly, and an fp16 export loads back as float32 close to it.
    save_generator(gen, tmp_path / "direct.safetensors", step=7)
    assert torch.equal(generate(load_generator(tmp_path / "direct.safetensors"), 5, seed=3), generate(gen, 5, seed=3))
    save_generator(gen, tmp_path / "half.safetensors", fp16=True)
    half = generate(load_generator(tmp_path / "half.safetensors"), 5, seed=3).float()
    assert (half - generate(gen, 5, seed=3).float()).abs().max() <= 0.02 * (1 if half.max() <= 1 else 255)


def test_mlp_export_metadata_names_its_arch_and_format_version_2(tmp_path):
    gen = make_mlp_run(tmp_path / "run")
    out = tmp_path / "g.safetensors"
    export_generator(tmp_path / "run", out)
    with safe_open(str(out), framework="pt") as handle:
        meta = {k: json.loads(v) for k, v in handle.metadata().items()}
    assert meta["format_version"] == 2
    assert meta["generator"] == gen.describe() == {"arch": "mlp", "image_size": 16, "channels": 1, "z_dim": Z_DIM,
                                                   "width": 16, "norm": "batch"}
    info = model_info(out)
    assert info.arch == "mlp" and "MLP generator (16 units)" in info.summary()
    assert model_info(tmp_path / "run").arch == "mlp"
    card = (tmp_path / "g.README.md").read_text()
    assert "| architecture | MLP" in card and "| `model.g_arch` | mlp |" in card and "| `model.g_mlp_units` | 16 |" in card
    assert "`model.g_width`" not in card                  # not used by the MLP
    # A wgan that reads only version 1 (before the MLP generator) says to upgrade.
    export.FORMAT_VERSION, saved = 1, export.FORMAT_VERSION
    try:
        with pytest.raises(ModelLoadError, match="export format version 2; this wgan reads versions up to 1: upgrade"):
            load_generator(out)
    finally:
        export.FORMAT_VERSION = saved


def test_dcgan_export_and_card_are_as_before_the_mlp_generator(run, tmp_path):
    out = tmp_path / "g.safetensors"
    info = export_generator(run[0], out)
    with safe_open(str(out), framework="pt") as handle:
        meta = {k: json.loads(v) for k, v in handle.metadata().items()}
    assert meta["format_version"] == 1 and "arch" not in meta["generator"]
    assert set(meta) == {"format", "format_version", "generator", "step", "dataset", "objective", "dtype",
                         "wgan_version"}
    card = (tmp_path / "g.README.md").read_text()
    assert "architecture" not in card and "g_arch" not in card and "g_mlp_units" not in card
    assert info.arch == "dcgan" and "MLP" not in info.summary()


def test_checkpoint_without_generator_arch_loads_as_dcgan(tmp_path):
    run_dir = tmp_path / "run"
    gen = make_run(run_dir)
    path = run_dir / "checkpoints" / "step_00000007.pt"
    state = torch.load(path, weights_only=True)
    state.pop("integrity", None)
    del state["config"]["model"]["g_arch"], state["config"]["model"]["g_mlp_units"]   # a run from before them
    save_checkpoint(str(run_dir), 7, state, keep=3)
    z = torch.randn(2, Z_DIM)
    with torch.no_grad():
        assert torch.equal(load_generator(path)(z), gen(z))
    state["config"]["model"]["g_arch"] = "resnet"
    save_checkpoint(str(run_dir), 7, state, keep=3)
    with pytest.raises(ModelLoadError, match="config has model.g_arch='resnet', not one of dcgan, mlp"):
        load_generator(path)


@pytest.mark.parametrize("generator, expected", [
    ({"arch": "resnet", "image_size": 16, "channels": 1, "z_dim": Z_DIM, "width": 16, "norm": "batch"},
     "generator arch must be one of dcgan, mlp, got 'resnet'"),
    ({"arch": ["mlp"], "image_size": 16, "channels": 1, "z_dim": Z_DIM, "width": 16, "norm": "batch"},
     "generator arch must be one of dcgan, mlp, got ['mlp']"),
    ({"arch": "mlp", "image_size": 16, "channels": 1, "z_dim": Z_DIM, "width": 17, "norm": "batch"},
     "mismatched shapes"),
    ({"arch": "mlp", "image_size": 16, "channels": 1, "z_dim": Z_DIM, "width": 16, "norm": "group"},
     "generator norm must be 'batch' or 'none'"),
    ({"arch": "mlp", "image_size": 4096, "channels": 4, "z_dim": Z_DIM, "width": 2**31 - 1, "norm": "none"},
     "cannot build a generator"),                       # on the meta device: refused before any allocation
    ({"image_size": 16, "channels": 1, "z_dim": Z_DIM, "width": 16, "norm": "batch"},    # a DCGAN's header
     "mismatched shapes"),
])
def test_bad_mlp_export_metadata_gives_one_clear_error(tmp_path, generator, expected):
    gen = make_mlp_run(tmp_path / "run")
    path = write_export(tmp_path / "bad.safetensors", gen.state_dict(), format_version=2, generator=generator)
    with pytest.raises(ModelLoadError) as err:
        load_generator(path)
    message = str(err.value)
    assert str(path) in message and expected in message and "\n" not in message
