"""Generator export: a pickle-free safetensors file that alone rebuilds the trained network.

An export holds the generator's ``state_dict`` tensors and, in the safetensors header
metadata, everything needed to rebuild it. Every metadata value is a JSON document::

    format          "wgan-generator"        marks the file as ours
    format_version  1 | 2                   bumped on incompatible changes (2: the generator names its arch)
    generator       {"image_size": 32, "channels": 1, "z_dim": 100, "width": 32, "norm": "batch"}
                    (a DCGAN generator); the MLP generator (model.g_arch=mlp) adds "arch": "mlp",
                    its "width" being the hidden units, and is written as format_version 2 so
                    that a wgan which cannot build it says "upgrade wgan"
    step            4000                    generator steps the network was trained for
    dataset         "mnist"                 config data.name of the run
    objective       "wgan"                  config train.objective of the run
    dtype           "float32" | "float16"   storage precision (loaded back as float32)
    wgan_version    "0.1.0"

``load_generator`` also accepts a training checkpoint (``.pt``, read with
``torch.load(weights_only=True)``) or a run directory (its newest good checkpoint). Whatever
goes wrong while loading is reported as one ``ModelLoadError`` naming the file and the
problem; no file is ever unpickled with code execution allowed.

Each export written by ``export_generator`` or ``scripts/export.py`` gets a model card next to
it: ``<name>.README.md`` for ``<name>.safetensors`` (``card_path``), so that several exports can
share one folder (``wgan/assets/`` does). The card is a Hugging Face style README: YAML front
matter (license, library, datasets, metric names), then the generator, the training config
when the source knows it, the steps, the measured metrics when given (``--card-metrics``, the
JSON of ``scripts/evaluate.py --out``, or ``--fid``) and a ``load_generator`` snippet.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Optional, Union

import torch

from .checkpoint import CheckpointError, read_checkpoint
from .files import write_bytes, write_failure, write_text
from .models import GENERATOR_ARCHS, Generator, count_parameters, make_generator
from .rundir import RunDir
from .devices import DeviceUnavailable, resolve_device

# The model the viewer and scripts/sample.py open when none is given.
DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "mnist_generator.safetensors")

FORMAT = "wgan-generator"
FORMAT_VERSION = 2                   # newest version read; a DCGAN generator is still written as 1
GENERATOR_KEYS = ("image_size", "channels", "z_dim", "width", "norm")
ARCH_FORMAT_VERSION = 2              # first version whose generator metadata may hold "arch"
# A safetensors file starts with the header length (8 bytes, little endian) and then its
# JSON header; a torch.save file is a zip archive; an old-style torch file a raw pickle.
ZIP_MAGIC = b"PK\x03\x04"
PICKLE_MAGIC = b"\x80"

PathLike = Union[str, "os.PathLike[str]"]

# Bounds of what an export or checkpoint may claim, checked before anything is built: the
# config's own limits (data.image_size <= 4096, integer keys <= 2**31 - 1), at most 4 channels
# (a picture: gray, RGB, RGBA), and a step counter of 63 bits.
MAX_IMAGE_SIZE = 4096
MAX_CHANNELS = 4
MAX_INT = 2**31 - 1
MAX_STEP = 2**63 - 1
DTYPES = ("float32", "float16")
# Tensor types a stored weight may have; each is converted to the generator's own type.
FLOAT_TYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
INT_TYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


class ModelLoadError(RuntimeError):
    """A model file or run directory cannot be used; the message names it and the problem."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about the generator in it."""

    path: str                       # the file or run directory it came from
    kind: str                       # "export" | "checkpoint"
    image_size: int
    channels: int
    z_dim: int
    width: int
    norm: str
    step: Optional[int]             # generator training steps, None if unknown
    dataset: Optional[str]          # config data.name of the run
    objective: Optional[str]        # config train.objective of the run
    dtype: str = "float32"          # storage precision of the weights
    arch: str = "dcgan"             # generator architecture: dcgan | mlp (config model.g_arch)

    def generator_kwargs(self) -> dict:
        """``describe()`` of the generator, what ``models.make_generator`` builds it from (a DCGAN's
        has no "arch", as before the MLP generator existed; width is the MLP's hidden units)."""
        kwargs = {key: getattr(self, key) for key in GENERATOR_KEYS}
        return kwargs if self.arch == "dcgan" else {"arch": self.arch, **kwargs}

    def summary(self) -> str:
        """One human line, e.g. '32x32 px, 1 channel, z_dim 100, 4,000 training steps, mnist (wgan)'."""
        channels = f"{self.channels} channel" + ("s" if self.channels != 1 else "")
        steps = f"{self.step:,} training steps" if self.step is not None else "training steps unknown"
        origin = self.dataset or "dataset unknown"
        if self.objective:
            origin += f" ({self.objective})"
        arch = f", MLP generator ({self.width} units)" if self.arch == "mlp" else ""
        return f"{self.image_size}x{self.image_size} px, {channels}, z_dim {self.z_dim}{arch}, {steps}, {origin}"


# ------------------------------------------------------------------------------ writing
def save_generator(generator: torch.nn.Module, path: PathLike, *, step: Optional[int] = None,
                   dataset: Optional[str] = None, objective: Optional[str] = None,
                   fp16: bool = False) -> ModelInfo:
    """Write ``generator`` as a safetensors export (atomically, through ``files.write_bytes``).

    Args:
        generator: the network (``models.Generator`` or ``models.MLPGenerator``); its
            ``describe()`` kwargs go into the metadata.
        path: output file, conventionally ``*.safetensors``.
        step, dataset, objective: training facts recorded for the viewer and for provenance.
        fp16: store floating tensors as float16 (half the size; loaded back as float32).

    Raises:
        ModelLoadError: a weight does not fit float16 (only with ``fp16``).
    """
    from safetensors.torch import save

    from . import __version__

    path = os.fspath(path)
    dtype = torch.float16 if fp16 else torch.float32
    tensors = {}
    for name, tensor in generator.state_dict().items():
        tensor = tensor.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.to(dtype)
            # A BatchNorm running variance above 65504 would silently become inf in fp16.
            if not bool(torch.isfinite(tensor).all()):
                raise ModelLoadError(f"cannot export to {path}: {name} holds values that are not finite in "
                                     f"{'float16' if fp16 else 'float32'}; export without --fp16")
        tensors[name] = tensor.contiguous()
    kwargs = generator.describe()
    # A DCGAN generator's file stays version 1, with the metadata and tensors wgan wrote before "arch" existed.
    version = ARCH_FORMAT_VERSION if "arch" in kwargs else 1
    meta = {"format": FORMAT, "format_version": version, "generator": kwargs, "step": step,
            "dataset": dataset, "objective": objective, "dtype": str(dtype).replace("torch.", ""),
            "wgan_version": __version__}
    blob = save(tensors, {key: json.dumps(value) for key, value in meta.items()})
    write_bytes(path, blob)
    return ModelInfo(path=path, kind="export", **kwargs, step=step, dataset=dataset, objective=objective,
                     dtype=meta["dtype"])


def export_generator(source: PathLike, out: PathLike, fp16: bool = False, *, card: bool = True,
                     metrics: Optional[dict] = None) -> ModelInfo:
    """Export the generator of a run directory, checkpoint or export to ``out``, with its model
    card ``card_path(out)`` unless ``card`` is False (``metrics``: see ``write_model_card``)."""
    generator, info = load_model(source)
    saved = save_generator(generator, out, step=info.step, dataset=info.dataset,
                           objective=info.objective, fp16=fp16)
    if card:
        write_model_card(out, saved, config=source_config(source), metrics=metrics,
                         parameters=count_parameters(generator))
    return saved


# ------------------------------------------------------------------------------ model card
CARD_CONFIG_KEYS = (("data", "name"), ("data", "image_size"), ("model", "z_dim"), ("model", "g_width"),
                    ("model", "c_width"), ("model", "g_norm"), ("model", "c_norm"), ("train", "objective"),
                    ("train", "optimizer"), ("train", "lr"), ("train", "lr_decay"), ("train", "batch_size"),
                    ("train", "n_critic"), ("train", "clip"), ("train", "gp_lambda"), ("train", "ema"),
                    ("train", "steps"), ("train", "seed"))


def card_path(export: PathLike) -> str:
    """The model card of an export: ``gen.safetensors`` -> ``gen.README.md`` (same folder)."""
    export = os.fspath(export)
    stem = export[:-len(".safetensors")] if export.endswith(".safetensors") else export
    return stem + ".README.md"


def source_config(source: PathLike) -> Optional[dict]:
    """The training config a run directory or checkpoint holds; None for an export or on failure."""
    source = os.fspath(source)
    try:
        if os.path.isdir(source):
            return RunDir(source).read_config()
        if os.path.isfile(source) and _sniff(source) == "checkpoint":
            config = read_checkpoint(source).get("config")
            return config if isinstance(config, dict) else None
    except Exception:  # the card is a courtesy: an unreadable config leaves its section out
        return None
    return None


def card_metrics(record) -> tuple[dict, Optional[str]]:
    """Numeric metrics and a protocol line from ``scripts/evaluate.py --out`` JSON (one record, or
    the first of a list) or from a plain ``{"fid": 10.8, ...}`` mapping."""
    if isinstance(record, list):
        record = record[0] if record else {}
    if not isinstance(record, dict):
        return {}, None
    values = record.get("metrics", record)
    metrics = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    protocol = None
    if "metrics" in record and record.get("n_generated"):
        protocol = (f"{record['n_generated']:,} generated images vs the {record.get('dataset', 'reference')} "
                    f"{record.get('split', 'test')} split, seed {record.get('seed', 0)}, measured with "
                    f"wgan-evaluate (torch {record.get('torch', '?')}, {record.get('device', '?')})")
    return metrics, protocol


def model_card(info: ModelInfo, *, config: Optional[dict] = None, metrics: Optional[dict] = None,
               protocol: Optional[str] = None, notes: Optional[str] = None,
               parameters: Optional[int] = None) -> str:
    """The text of an export's model card (see the module docstring)."""
    from . import __version__

    name = os.path.basename(info.path)
    datasets = [info.dataset] if info.dataset else []
    front = ["---", "license: mit", "library_name: wgan", "tags:", "- wgan", "- gan", "- pytorch", "- safetensors"]
    if datasets:
        front += ["datasets:"] + [f"- {d}" for d in datasets]
    if metrics:
        front += ["metrics:"] + [f"- {k}" for k in metrics]
    front.append("---")
    steps = f"{info.step:,} generator steps" if info.step is not None else "an unknown number of steps"
    lines = front + ["", f"# {name}", "",
                     f"A Wasserstein GAN generator (`{info.objective or 'objective unknown'}`) trained on "
                     f"{info.dataset or 'an unknown dataset'} for {steps}, exported by wgan {__version__} as a "
                     f"pickle-free safetensors file.", ""]
    if notes:
        lines += [notes.strip(), ""]
    lines += ["## Generator", "", "| key | value |", "| --- | --- |"]
    if info.arch == "mlp":      # a DCGAN card stays as it was before the MLP generator existed
        lines.append("| architecture | MLP (3 hidden ReLU layers; width = hidden units) |")
    lines += [f"| image size | {info.image_size}x{info.image_size} |", f"| channels | {info.channels} |",
              f"| z_dim | {info.z_dim} |", f"| width | {info.width} |", f"| norm | {info.norm} |",
              f"| stored as | {info.dtype} (loaded as float32) |"]
    if parameters is not None:
        lines.append(f"| parameters | {parameters:,} |")
    lines.append(f"| training steps | {info.step if info.step is not None else 'unknown'} |")
    lines.append("")
    if config:
        from .objectives import OBJECTIVES

        rows = []
        objective = OBJECTIVES.get((config.get("train") or {}).get("objective"))
        unused = set() if objective is None else {       # settings the objective does not use
            key for key, used in (("clip", objective.clips_weights), ("gp_lambda", objective.has_penalty)) if not used}
        model = config.get("model") if isinstance(config.get("model"), dict) else {}
        keys = CARD_CONFIG_KEYS
        if model.get("g_arch", "dcgan") == "mlp":          # g_width shapes only the DCGAN generator
            unused.add("g_width")
            at = CARD_CONFIG_KEYS.index(("model", "g_width"))
            keys = keys[:at] + (("model", "g_arch"), ("model", "g_mlp_units")) + keys[at:]
        for section, key in keys:
            value = config.get(section, {}).get(key) if isinstance(config.get(section), dict) else None
            if key in unused:
                continue
            if value is not None:
                rows.append(f"| `{section}.{key}` | {value} |")
        if rows:
            lines += ["## Training config (summary)", "", "| key | value |", "| --- | --- |", *rows, ""]
    if metrics:
        lines += ["## Measured metrics", ""]
        if protocol:
            lines += [protocol, ""]
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()]
        lines.append("")
    else:
        lines += ["## Measured metrics", "", "None recorded with this export; measure them with "
                  f"`wgan-evaluate {name}`.", ""]
    lines += ["## Use", "", "```python", "import torch", "from wgan import load_generator", "",
              f'generator = load_generator("{name}")      # eval mode, float32, on the CPU',
              "with torch.no_grad():",
              f"    images = generator(torch.randn(16, generator.z_dim))   # (16, {info.channels}, "
              f"{info.image_size}, {info.image_size}), values in [-1, 1]", "```", "",
              f"Or from the command line: `wgan-sample {name} --n 64`.", ""]
    return "\n".join(lines)


def write_model_card(export: PathLike, info: ModelInfo, *, config: Optional[dict] = None,
                     metrics=None, notes: Optional[str] = None, parameters: Optional[int] = None) -> str:
    """Write the model card of ``export`` to ``card_path(export)`` (through ``files.write_text``).

    Args:
        export: the export file the card describes.
        info: its ModelInfo (``save_generator`` returns it).
        config: the run's resolved config as a dict, for the config summary.
        metrics: ``scripts/evaluate.py --out`` JSON (a record or a list of them) or a plain
            mapping of metric name to value.
        notes: a paragraph placed under the title (how the metrics were measured, for instance).
        parameters: the generator's parameter count.

    Returns:
        The card's path.
    """
    values, protocol = card_metrics(metrics) if metrics is not None else ({}, None)
    text = model_card(info, config=config, metrics=values, protocol=protocol, notes=notes, parameters=parameters)
    return write_text(card_path(export), text)


# ------------------------------------------------------------------------------ reading
def _sniff(path: str) -> str:
    """'export', 'checkpoint' or 'unknown', from the first bytes of the file."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if head.startswith(ZIP_MAGIC) or head.startswith(PICKLE_MAGIC):
        return "checkpoint"
    if len(head) == 9 and head[8:9] == b"{":
        return "export"
    return "unknown"


def _show(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a hostile file's value may be huge or deep."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):        # deeply nested, or an int of > 4300 digits
        text = f"<a {type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[:limit] + "..."


def _check_kwargs(path: str, kwargs) -> dict:
    """``kwargs`` of a generator as ``ModelInfo`` fields (arch included), or ModelLoadError."""
    if isinstance(kwargs, dict) and "arch" in kwargs:
        arch = kwargs["arch"]
        if not isinstance(arch, str) or arch not in GENERATOR_ARCHS:
            raise ModelLoadError(f"{path}: generator arch must be one of {', '.join(GENERATOR_ARCHS)}, got "
                                 f"{_show(arch)}; upgrade wgan or re-export the model with scripts/export.py")
        kwargs = {key: value for key, value in kwargs.items() if key != "arch"}
    else:
        arch = "dcgan"
    if not isinstance(kwargs, dict) or set(kwargs) != set(GENERATOR_KEYS):
        raise ModelLoadError(f"{path}: the 'generator' metadata must name exactly {', '.join(GENERATOR_KEYS)} "
                             f"(and optionally arch); got {_show(kwargs)}; re-export the model with scripts/export.py")
    limits = {"image_size": (16, MAX_IMAGE_SIZE), "channels": (1, MAX_CHANNELS), "z_dim": (1, MAX_INT),
              "width": (1, MAX_INT)}
    for key, (low, high) in limits.items():
        value = kwargs[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ModelLoadError(f"{path}: generator {key} must be an integer from {low} to {high}, got {_show(value)}")
    if kwargs["image_size"] & (kwargs["image_size"] - 1):
        raise ModelLoadError(f"{path}: generator image_size must be a power of two, got {kwargs['image_size']}")
    if not isinstance(kwargs["norm"], str):
        raise ModelLoadError(f"{path}: generator norm must be a string, got {_show(kwargs['norm'])}")
    return {**kwargs, "arch": arch}


def _check_facts(path: str, step, dataset, objective, dtype="float32") -> None:
    """Refuse training facts of the wrong type or range (shown by summary(), compared by evaluate)."""
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP):
        raise ModelLoadError(f"{path}: its step must be a whole number from 0 to {MAX_STEP} (or absent), got "
                             f"{_show(step)}; re-export the model with scripts/export.py")
    for key, value in (("dataset", dataset), ("objective", objective)):
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise ModelLoadError(f"{path}: its {key} must be a short string (or absent), got {_show(value)}")
    if dtype not in DTYPES:
        raise ModelLoadError(f"{path}: its dtype must be one of {', '.join(DTYPES)}, got {_show(dtype)}")


def _build(path: str, kwargs: dict, tensors: dict, device: torch.device) -> torch.nn.Module:
    """A generator of ``kwargs`` holding ``tensors``; shapes are checked before any allocation."""
    try:
        # On the meta device the network has shapes but no storage, so a header claiming a
        # huge width costs nothing before the mismatch with the stored tensors is found.
        with torch.device("meta"):
            generator = make_generator(**kwargs)
    except (TypeError, ValueError, RuntimeError, OverflowError) as err:  # e.g. a storage size overflow
        reason = str(err).splitlines()[0][:120] if str(err) else err.__class__.__name__
        raise ModelLoadError(f"{path}: cannot build a generator from {_show(kwargs, 200)}: {reason}") from None
    expected = generator.state_dict()
    for name in expected:
        if name not in tensors:
            raise ModelLoadError(f"{path}: tensor '{name}' is missing for a generator with {kwargs}")
        if tuple(tensors[name].shape) != tuple(expected[name].shape):
            raise ModelLoadError(f"{path}: tensor '{name}' has shape {tuple(tensors[name].shape)} but a generator "
                                 f"with {kwargs} needs {tuple(expected[name].shape)} (mismatched shapes)")
        allowed = FLOAT_TYPES if expected[name].is_floating_point() else INT_TYPES
        if tensors[name].dtype not in allowed:
            kind = "floating-point" if allowed is FLOAT_TYPES else "integer"
            raise ModelLoadError(f"{path}: tensor '{name}' holds {str(tensors[name].dtype).replace('torch.', '')} "
                                 f"values, but a generator's '{name}' is {kind}; re-export the model with "
                                 f"scripts/export.py")
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise ModelLoadError(f"{path}: unexpected tensor '{extra[0]}' for a generator with {kwargs}")
    state = {name: t.to(expected[name].dtype) for name, t in tensors.items()}
    if not all(bool(torch.isfinite(t).all()) for t in state.values() if t.is_floating_point()):
        raise ModelLoadError(f"{path}: the weights hold NaN or Inf values; export a checkpoint from before "
                             f"training diverged")
    generator.load_state_dict(state, assign=True)
    return generator.to(device).eval()


def _read_export(path: str, with_tensors: bool) -> tuple[ModelInfo, dict]:
    from safetensors import safe_open

    try:
        with safe_open(path, framework="pt", device="cpu") as handle:
            raw = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()} if with_tensors else {}
    except Exception as err:  # safetensors raises its own error types; all mean "unusable file"
        reason = str(err).splitlines()[0][:200] if str(err) else err.__class__.__name__
        raise ModelLoadError(f"{path} is not a readable safetensors file; it may be truncated or "
                             f"corrupt ({reason})") from None
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value)
        except (ValueError, RecursionError) as err:   # not JSON, nested too deep, a > 4300-digit int
            if key == "format":                         # someone else's safetensors file
                break
            why = "nested too deeply" if isinstance(err, RecursionError) else "not valid JSON"
            raise ModelLoadError(f"{path}: its metadata {_show(key, 40)} is {why}; re-export the model "
                                 f"with scripts/export.py") from None
    if meta.get("format") != FORMAT:
        raise ModelLoadError(f"{path} is a safetensors file but not a wgan generator export (no "
                             f"format={FORMAT} metadata); make one with scripts/export.py")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelLoadError(f"{path} has export format version {_show(version)}, not a version number; "
                             f"re-export the model with scripts/export.py")
    if version > FORMAT_VERSION:
        raise ModelLoadError(f"{path} has export format version {_show(version)}; this wgan reads versions up to "
                             f"{FORMAT_VERSION}: upgrade wgan")
    kwargs = _check_kwargs(path, meta.get("generator"))
    _check_facts(path, meta.get("step"), meta.get("dataset"), meta.get("objective"), meta.get("dtype", "float32"))
    info = ModelInfo(path=path, kind="export", **kwargs, step=meta.get("step"), dataset=meta.get("dataset"),
                     objective=meta.get("objective"), dtype=str(meta.get("dtype", "float32")))
    return info, tensors


def _config_value(path: str, config, section: str, key: str, kind: type):
    try:
        value = config[section][key]
    except (KeyError, TypeError):
        raise ModelLoadError(f"{path}: the checkpoint's config has no {section}.{key}; it is not a wgan "
                             f"training checkpoint") from None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelLoadError(f"{path}: the checkpoint's config has {section}.{key}={value!r}, not a {kind.__name__}")
    return value


WEIGHTS = ("average", "live")


def _checkpoint_model(path: str, state: dict, weights: str = "average") -> tuple[ModelInfo, dict]:
    """ModelInfo and generator tensors of a loaded training checkpoint."""
    # Only the keys that shape the generator are read from the saved config, not the whole
    # schema: a checkpoint stays loadable after config keys are added, renamed or removed.
    config = state["config"]
    channels = state.get("channels")
    if isinstance(channels, torch.Tensor):
        if channels.numel() != 1 or channels.dtype not in INT_TYPES:
            raise ModelLoadError(f"{path}: the checkpoint's channels entry is not one whole number")
        channels = int(channels)
    # model.g_arch is absent from the configs of runs started before the MLP generator existed.
    model = config.get("model") if isinstance(config, dict) else None
    arch = model.get("g_arch", "dcgan") if isinstance(model, dict) else "dcgan"
    if not isinstance(arch, str) or arch not in GENERATOR_ARCHS:
        raise ModelLoadError(f"{path}: the checkpoint's config has model.g_arch={_show(arch)}, not one of "
                             f"{', '.join(GENERATOR_ARCHS)}")
    width_key = "g_mlp_units" if arch == "mlp" else "g_width"
    kwargs = {"image_size": _config_value(path, config, "data", "image_size", int), "channels": channels,
              "z_dim": _config_value(path, config, "model", "z_dim", int),
              "width": _config_value(path, config, "model", width_key, int),
              "norm": _config_value(path, config, "model", "g_norm", str)}
    if arch != "dcgan":
        kwargs["arch"] = arch
    kwargs = _check_kwargs(path, kwargs)
    # The weight average (train.ema) is the generator a run samples and evaluates with.
    tensors = state.get("generator_ema", state["generator"]) if weights == "average" else state["generator"]
    if not isinstance(tensors, dict) or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
        raise ModelLoadError(f"{path}: the checkpoint's 'generator' entry is not a state_dict of tensors")
    step = state["step"]
    if isinstance(step, torch.Tensor) and step.numel() == 1:
        step = int(step)
    if isinstance(step, bool) or not isinstance(step, int):
        raise ModelLoadError(f"{path}: the checkpoint's step is {_show(step)}, not a whole number")
    info = ModelInfo(path=path, kind="checkpoint", **kwargs, step=step,
                     dataset=_config_value(path, config, "data", "name", str),
                     objective=_config_value(path, config, "train", "objective", str))
    _check_facts(path, info.step, info.dataset, info.objective)
    return info, tensors


def _read_checkpoint(path: str, weights: str = "average") -> tuple[ModelInfo, dict]:
    try:
        state = read_checkpoint(path)   # torch.load(weights_only=True): no code runs
    except CheckpointError as err:
        raise ModelLoadError(str(err)) from None
    return _checkpoint_model(path, state, weights)


def _read_run_dir(path: str, device: torch.device, weights: str) -> tuple[Generator, ModelInfo]:
    """The newest checkpoint of a run that loads, warning about each newer one that does not."""
    run = RunDir(path)
    candidates = run.list_checkpoints()
    if not candidates:
        raise ModelLoadError(f"{path} is a directory without checkpoints (looked in {run.checkpoints}); pass a "
                             f"run directory that has trained for a while, a checkpoint .pt or an export")
    problems = []
    for _, checkpoint in reversed(candidates):
        try:
            with _unusable_file(checkpoint):
                info, tensors = _read_checkpoint(checkpoint, weights)
                return _build(checkpoint, info.generator_kwargs(), tensors, device), info
        except ModelLoadError as err:
            problems.append(str(err))
            warnings.warn(f"{err}; trying an older checkpoint", stacklevel=3)
    raise ModelLoadError(f"no usable checkpoint in {run.checkpoints}: " + "; ".join(problems))


def _resolve(path: Optional[PathLike]) -> str:
    if path is None or os.fspath(path) == "":
        if not os.path.exists(DEFAULT_MODEL):
            raise ModelLoadError(
                f"the default model {DEFAULT_MODEL} does not exist yet; pass a model (an export .safetensors, a "
                f"checkpoint .pt or a run directory), or make one with: python scripts/export.py RUN_DIR "
                f"{DEFAULT_MODEL}")
        return DEFAULT_MODEL
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelLoadError(f"{path} does not exist; pass an export .safetensors, a checkpoint .pt or a run directory")
    return path


def load_model(path: Optional[PathLike] = None, device="cpu",
               weights: str = "average") -> tuple[Generator, ModelInfo]:
    """Generator (eval mode, float32, on ``device``) and its ModelInfo.

    Args:
        path: an export (``.safetensors``), a training checkpoint (``.pt``) or a run directory
            (its newest usable checkpoint); None opens ``DEFAULT_MODEL``.
        device: "cpu", "cuda", "auto" or a torch.device.
        weights: of a training checkpoint made with ``train.ema``, "average" (the weight
            average, what the run sampled and evaluated) or "live" (the trained weights).
            Checkpoints without an average and exports have one generator; both give it.

    Raises:
        ModelLoadError: the path is missing, empty, truncated, foreign, or holds tensors that
            do not fit the generator its metadata describes.
    """
    path = _resolve(path)
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    try:
        target = resolve_device(device)
    except DeviceUnavailable as err:
        raise ModelLoadError(f"cannot load {path}: {err}") from None
    with _unusable_file(path):
        return _load_file(path, target, weights)


# What a malformed file can still make the readers raise past the checks above (a hostile file is
# not a bug in wgan): each becomes one ModelLoadError naming the file.
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError, OverflowError,
              RecursionError, MemoryError, UnicodeError)


@contextlib.contextmanager
def _unusable_file(path: str):
    try:
        yield
    except ModelLoadError:
        raise
    except _MALFORMED as err:
        reason = str(err).splitlines()[0][:160] if str(err) else ""
        raise ModelLoadError(f"{path} cannot be loaded as a wgan generator ({err.__class__.__name__}"
                             f"{': ' + reason if reason else ''}); re-export the model with scripts/export.py") from None


def _load_file(path: str, target: torch.device, weights: str) -> tuple[Generator, ModelInfo]:
    if os.path.isdir(path):
        return _read_run_dir(path, target, weights)
    try:
        if os.path.getsize(path) == 0:
            raise ModelLoadError(f"{path} is empty (0 bytes); export the model again")
        kind = _sniff(path)
    except OSError as err:
        raise ModelLoadError(f"{path} cannot be read: {err.strerror}") from None
    if kind == "export":
        info, tensors = _read_export(path, with_tensors=True)
    elif kind == "checkpoint":
        info, tensors = _read_checkpoint(path, weights)
    else:
        raise ModelLoadError(f"{path} is neither a wgan generator export (.safetensors) nor a training "
                             f"checkpoint (.pt); make an export with scripts/export.py")
    return _build(path, info.generator_kwargs(), tensors, target), info


def load_generator(path: Optional[PathLike] = None, device="cpu", weights: str = "average") -> Generator:
    """The eval-mode generator of an export, checkpoint or run directory (see ``load_model``)."""
    return load_model(path, device, weights)[0]


def model_info(path: Optional[PathLike] = None) -> ModelInfo:
    """The facts about a model (image size, channels, z_dim, steps, dataset, ...).

    For an export only the header is read; a checkpoint or run directory is loaded whole.
    """
    path = _resolve(path)
    with _unusable_file(path):
        if os.path.isfile(path) and os.path.getsize(path) > 0 and _sniff(path) == "export":
            return _read_export(path, with_tensors=False)[0]
    return load_model(path)[1]


# ------------------------------------------------------------------------------ command line
def main(argv: Optional[list[str]] = None) -> int:
    """``scripts/export.py RUN_DIR_OR_CHECKPOINT OUT [--fp16]``; returns the exit status."""
    from .commandline import invoked_as

    parser = argparse.ArgumentParser(
        prog=invoked_as("export.py"), description="Write a trained generator as a pickle-free .safetensors file.",
        epilog="example: export.py runs/mnist wgan/assets/mnist_generator.safetensors --fp16")
    parser.add_argument("source", help="run directory (newest good checkpoint), checkpoint .pt or an export")
    parser.add_argument("out", help="output file, e.g. mnist_generator.safetensors")
    parser.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    parser.add_argument("--card-metrics", metavar="JSON", default=None,
                        help="metrics for the model card: the file scripts/evaluate.py --out wrote")
    parser.add_argument("--fid", type=float, default=None, help="a measured FID for the model card")
    parser.add_argument("--no-card", action="store_true", help="do not write the model card OUT's .README.md")
    args = parser.parse_args(argv)
    if os.path.isdir(args.out):
        print(f"error: {args.out} is a directory; give a file name such as {args.out}/generator.safetensors",
              file=sys.stderr)
        return 2
    metrics = None
    if args.card_metrics is not None:
        try:
            with open(args.card_metrics, encoding="utf-8") as handle:
                metrics = json.load(handle)
        except (OSError, ValueError) as err:
            print(f"error: --card-metrics {args.card_metrics} cannot be read as JSON ({err})", file=sys.stderr)
            return 2
    if args.fid is not None:
        values, _ = card_metrics(metrics) if metrics is not None else ({}, None)
        metrics = {**(metrics if isinstance(metrics, dict) and "metrics" in metrics else {}),
                   "metrics": {**values, "fid": args.fid}}
    try:
        generator, info = load_model(args.source)
        info = save_generator(generator, args.out, step=info.step, dataset=info.dataset,
                              objective=info.objective, fp16=args.fp16)
        card = None if args.no_card else write_model_card(
            args.out, info, config=source_config(args.source), metrics=metrics,
            parameters=count_parameters(generator))
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:      # a full disk (also inside the writer), a read-only folder, OUT below a file
        print(f"error: {write_failure(err, args.out, 'OUT')}", file=sys.stderr)
        return 2
    size_mb = os.path.getsize(args.out) / 1e6
    print(f"wrote {args.out}: {info.summary()}; {count_parameters(generator):,} parameters, {info.dtype}, "
          f"{size_mb:.2f} MB" + (f"; model card {card}" if card else ""))
    return 0
