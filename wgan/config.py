"""Typed experiment configuration: YAML file + dotted ``key=value`` overrides.

Every key lives in one of the dataclasses below, with its default and a comment saying what
it means. ``load_config`` merges a YAML file and overrides into these defaults and validates
everything before any work starts; every problem is reported as a ``ConfigError`` whose
message is one line naming the key and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, Optional, Union, get_args, get_origin, get_type_hints

import yaml

from .objectives import OBJECTIVES

DATASETS = ("mnist", "fashion_mnist", "cifar10", "folder", "stacked_mnist")
CRITIC_NORMS = ("none", "batch", "instance", "layer")
GENERATOR_NORMS = ("batch", "none")
GENERATOR_ARCHS = ("dcgan", "mlp")
OPTIMIZERS = ("rmsprop", "adam")
LR_DECAYS = ("none", "linear", "linear-generator")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "tf32", "bf16")


class ConfigError(ValueError):
    """A configuration problem; the message is one line naming the key and the fix."""


class ConfigDeprecation(FutureWarning):
    """A config key that still works under an old name; the message names the new one."""


MAX_INT = 2**31 - 1                     # upper bound of every integer key except train.seed
MAX_SEED = 2**62                        # train.seed must lie in [0, MAX_SEED)
MAX_IMAGE_SIZE = 4096                   # largest data.image_size the DCGAN models are built for
# log.n_samples images are generated (and their latents kept on the device) at every sample step
# and tiled into one PNG: 4096 is a 64x64 grid, already 4096 px wide at 64 px per image; more is
# no longer a grid anyone looks at, and 1e9 would only exhaust memory before saying why.
MAX_GRID_SAMPLES = 4096


def escape_controls(text: Any) -> str:
    """``text`` with line breaks and other control characters escaped, so it prints as one line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(text))


def _show(value: Any, limit: int = 60) -> str:
    """A short, one-line repr of a user-given value for error messages."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. an integer with more than 4300 digits
        text = f"<a {type(value).__name__} too large to print>"
    text = escape_controls(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _oneline(text: Any, limit: int = 60) -> str:
    """User-given text shortened and with control characters escaped, so a message stays one line."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return escape_controls(text)


def _q(text: Any, limit: int = 60) -> str:
    """A user-given name quoted for a one-line message: 'name'."""
    return "'" + _oneline(text, limit) + "'"


class RefusedYAML(yaml.MarkedYAMLError):
    """Valid YAML that a wgan config may not hold (a duplicate key, an alias); ``problem`` says why."""


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing duplicate mapping keys (a second ``train:`` would silently
    replace the first) and aliases of lists or mappings: a few hundred bytes of nested aliases
    of lists ("billion laughs") expand to billions of values when the config is read. An alias of
    a single value (``c_width: *w``) cannot expand and stays allowed."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None and not isinstance(target, yaml.ScalarNode):
                raise RefusedYAML(None, None, f"YAML alias *{_oneline(event.anchor, 40)} of a list or mapping is "
                                  f"not allowed in a wgan config; write the values out instead", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is None:
                    continue
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise RefusedYAML(None, None, f"duplicate key {_q(key, 40)} at lines {seen[key]} and {line} "
                                      f"(the second would silently replace the first); keep one",
                                      key_node.start_mark)
                seen[key] = line
        return super().construct_mapping(node, deep)


def _safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` (no duplicate keys, no aliases: see _StrictLoader) that raises only
    yaml.YAMLError (PyYAML also raises ValueError for e.g. 2020-13-45 or 5000-digit integers,
    and RecursionError for deeply nested documents)."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as err:
        raise yaml.YAMLError(str(err).splitlines()[0] if str(err) else err.__class__.__name__) from None


@dataclass
class DataConfig:
    name: str = "mnist"                 # mnist | fashion_mnist | cifar10 | folder | stacked_mnist
    root: str = "data"                  # where datasets live (MNIST ships in data/MNIST/raw)
    image_size: int = 64                # side of the square training images; power of two >= 16
    split: str = "train"                # train | test: which split the critic sees
    on_device: bool = True              # keep the whole dataset as uint8 on the training device
    stacked_size: int = 60000           # stacked_mnist only: number of 3-digit images to build


@dataclass
class ModelConfig:
    z_dim: int = 100                    # length of the latent vector z ~ N(0, I)
    g_width: int = 64                   # generator width (DCGAN ngf): channels of its last hidden layer
    c_width: int = 64                   # critic width (DCGAN ndf): channels of its first layer
    g_norm: str = "batch"               # generator normalisation: batch | none (mlp: BatchNorm1d after each hidden
                                        # linear map; the paper's MLP generator has none: set g_norm=none)
    g_arch: str = "dcgan"               # generator: dcgan (transposed convolutions) | mlp (the WGAN paper's 4-layer
                                        # ReLU MLP, section 4.3); the critic is the DCGAN critic either way
    g_mlp_units: int = 512              # mlp only: hidden units of each of the MLP generator's 3 hidden layers
    c_norm: Optional[str] = None        # critic normalisation: none | batch | instance | layer; None = objective
                                        # default (batch; layer for the gradient penalties, none with spectral norm)


@dataclass
class TrainConfig:
    objective: str = "wgan"             # wgan (weight clipping) | wgan-gp | wgan-lp | wgan-sn | hinge | gan
    steps: int = 10000                  # generator steps (each follows n_critic critic steps)
    batch_size: int = 64                # images per critic and per generator step
    n_critic: int = 5                   # critic steps per generator step (Algorithm 1's n_critic)
    lr: Optional[float] = None          # learning rate of both optimisers; None = objective default (wgan 5e-5)
    optimizer: Optional[str] = None     # rmsprop | adam; None = objective default (wgan: rmsprop)
    betas: Optional[list] = None        # Adam betas; None = objective default
    lr_decay: str = "none"              # none | linear: both learning rates fall linearly to 0 at train.steps |
                                        # linear-generator: only the generator's does, the critic's stays
    clip: float = 0.01                  # wgan: critic weights are clipped to [-clip, clip]
    gp_lambda: float = 10.0             # wgan-gp, wgan-lp: weight of the gradient penalty
    ema: float = 0.0                    # decay of an average of the generator's weights that grids, metrics and
                                        # exports use (e.g. 0.999); 0 = off, the live generator is used
    critic_warmup: bool = False         # official code's schedule: 100 critic steps for the first 25
                                        # generator steps and every 500th
    seed: int = 0                       # drives every random number generator of the run


@dataclass
class SystemConfig:
    """How the machine runs the experiment; may change when a run is resumed elsewhere."""

    device: str = "auto"                # auto (cuda if available) | cpu | cuda
    precision: str = "fp32"             # CUDA math: fp32 (TF32 off) | tf32 (TF32 convs/matmuls) | bf16 (autocast)
    channels_last: bool = False         # CUDA only: NHWC memory layout for models and batches
    cuda_graphs: bool = True            # CUDA only: replay captured critic/generator steps
    check_replicas: bool = False        # torchrun debug: assert equal parameters on all ranks at log steps
    deterministic: bool = False         # CUDA: deterministic cuDNN algorithms, no autotuning (bitwise repeatable)


@dataclass
class LogConfig:
    log_every: int = 50                 # generator steps between scalar logs (TensorBoard, metrics.jsonl)
    sample_every: int = 500             # generator steps between fixed-noise sample grids
    checkpoint_every: int = 1000        # generator steps between checkpoints (one is also written at the end)
    keep_checkpoints: int = 3           # newest checkpoints kept on disk (older are deleted)
    n_samples: int = 64                 # images in the fixed-noise and real grids
    progress: bool = True               # show a tqdm progress bar
    eval_every: int = 0                 # generator steps between quality metrics (FID, MNIST classifier); 0 = off
    eval_samples: int = 2000            # generated images per evaluation (logged as fid_2k for 2000)
    inception: Optional[str] = None     # TorchScript FID Inception file; None = search (docs/metrics.md)


@dataclass
class RunConfig:
    dir: str = "runs/mnist"             # run directory; re-running with the same one resumes


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    system: SystemConfig = field(default_factory=SystemConfig)
    log: LogConfig = field(default_factory=LogConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


SECTIONS = {f.name: f.type for f in fields(Config)}
# Machine settings that lived in train: before the system: section existed; still accepted.
MOVED_KEYS = {f"train.{f.name}": f"system.{f.name}" for f in fields(SystemConfig)}


def all_keys() -> list[str]:
    """Every dotted key the schema knows, e.g. ``train.lr``."""
    hints = get_type_hints(Config)
    keys = []
    for section, cls in hints.items():
        keys.extend(f"{section}.{f.name}" for f in fields(cls))
    return keys


def _closest(key: str) -> str:
    match = difflib.get_close_matches(key, all_keys(), n=1, cutoff=0.0)
    return match[0] if match else ""


def _unknown(key: str) -> ConfigError:
    if key in SECTIONS:
        example = next(k for k in all_keys() if k.startswith(key + "."))
        return ConfigError(f"'{key}' is a config section, not a key; set one of its keys, e.g. {example}=...")
    return ConfigError(f"unknown config key {_q(key)}; did you mean '{_closest(key)}'?")


def _unknown_section(section: str) -> ConfigError:
    match = difflib.get_close_matches(section, list(SECTIONS), n=1, cutoff=0.0)
    return ConfigError(f"unknown config section {_q(section)}; did you mean '{match[0]}'? "
                       f"(sections: {', '.join(SECTIONS)})")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert ``value`` to the annotated type or raise a one-line ConfigError."""
    optional = False
    if get_origin(hint) is Union:
        args = [a for a in get_args(hint) if a is not type(None)]
        optional = len(args) < len(get_args(hint))
        hint = args[0]
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key} must not be empty; give a {hint.__name__} value")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key} must be true or false, got {_show(value)}")
    if hint is int:
        bad = ConfigError(f"{key} must be an integer, got {_show(value)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
            try:
                value = float(value)
            except (ValueError, OverflowError):
                raise bad from None
        if not math.isfinite(value) or value != int(value):
            raise bad
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{key} must be a number, got {_show(value)}")
        try:
            number = float(value)
        except (ValueError, OverflowError):
            raise ConfigError(f"{key} must be a number, got {_show(value)}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{key} must be a finite number, got {_show(value)}")
        return number
    if hint is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{key} must be a string, got {_show(value)}")
        return str(value)
    if hint is list:
        if isinstance(value, str):
            try:
                value = _safe_yaml(value)
            except yaml.YAMLError:
                raise ConfigError(f"{key} must be a list such as [0.5, 0.999], got {_show(value)}") from None
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list such as [0.5, 0.999], got {_show(value)}")
        return list(value)
    raise ConfigError(f"{key}: unsupported type {hint}")  # pragma: no cover - schema bug


def _parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        hint = ""
        if text.endswith((".yaml", ".yml")):
            hint = f"; to read a config file pass --config {text}"
        raise ConfigError(f"override {_q(text)} is not of the form key=value, e.g. train.lr=1e-4{hint}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {_q(text)} has no key; write it as key=value, e.g. train.lr=1e-4")
    try:
        value = _safe_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key, value


def _read_yaml(path: str) -> dict:
    shown = _q(path, limit=200)
    if not os.path.exists(path):
        from .resources import config_names, shipped_config
        # A bare name (mnist, mnist.yaml) that is not a file here is one of the shipped configs.
        shipped = shipped_config(path) if path and os.path.basename(path) == path else None
        if shipped is None:
            names = ", ".join(config_names()) or "none in this installation"
            raise ConfigError(f"config file {shown} does not exist; pass an existing file or the name of a "
                              f"shipped config ({names})")
        path = shipped
    if os.path.isdir(path):
        raise ConfigError(f"config path {shown} is a directory; pass a YAML file such as configs/mnist.yaml")
    if not os.path.isfile(path):
        raise ConfigError(f"config path {shown} is not a regular file; pass a YAML file such as configs/mnist.yaml")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise ConfigError(f"config file {shown} is not UTF-8 text; save it as UTF-8 YAML") from None
    except OSError as err:
        raise ConfigError(f"config file {shown} cannot be read ({err.strerror or err.__class__.__name__}); "
                          f"check the file and its permissions") from None
    try:
        loaded = _safe_yaml(text)
    except RefusedYAML as err:
        raise ConfigError(f"config file {shown} is refused at line {err.problem_mark.line + 1}: "
                          f"{err.problem}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or (str(err) if not mark else "")
        why = f" ({_oneline(problem, 80)})" if problem else ""
        raise ConfigError(f"config file {shown} is not valid YAML{where}{why}; fix its syntax") from None
    if loaded is None:
        raise ConfigError(f"config file {shown} is empty; start from configs/mnist.yaml")
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {shown} must hold a mapping of sections (data:, model:, train:, ...)")
    return loaded


def _flatten(tree: dict) -> dict[str, Any]:
    flat = {}
    for section, body in tree.items():
        section = str(section)
        if section not in SECTIONS:
            raise _unknown_section(section)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"section '{section}' must be a mapping of keys (e.g. '{section}:' followed by "
                              f"indented 'key: value' lines), got {_show(body)}")
        for key, value in body.items():
            flat[f"{section}.{key}"] = value
    return flat


def _rename_moved_keys(values: dict[str, Any], warn: bool) -> dict[str, Any]:
    """``values`` with the old spellings of moved keys (train.device, ...) renamed; with ``warn``,
    one ConfigDeprecation per old key. A key given in both spellings keeps the new one's value."""
    out = {}
    for key, value in values.items():
        new = MOVED_KEYS.get(key)
        if new is None:
            out[key] = value
            continue
        if warn:
            warnings.warn(f"config key {key} is now {new} (machine settings moved to the system: section); "
                          f"the old name still works", ConfigDeprecation, stacklevel=4)
        out.setdefault(new, value)
    return out


def build_config(values: dict[str, Any], warn_moved: bool = True) -> Config:
    """Build a validated Config from dotted keys, e.g. ``{"train.lr": 1e-4}``."""
    cfg = Config()
    hints = {name: get_type_hints(type(getattr(cfg, name))) for name in SECTIONS}
    values = _rename_moved_keys(values, warn_moved)
    for key, value in values.items():
        section, _, name = key.partition(".")
        if section not in SECTIONS or name not in hints[section]:
            raise _unknown(key)
        setattr(getattr(cfg, section), name, _coerce(key, value, hints[section][name]))
    apply_objective_defaults(cfg)
    validate(cfg)
    return cfg


def load_config(path: Optional[str] = None, overrides: Optional[list[str]] = None) -> Config:
    """Load a YAML config, apply ``key=value`` overrides and validate the result.

    Args:
        path: YAML file with sections data/model/train/log/run, or the name of a shipped config
            (``"mnist"``, ``"mnist_cpu"``, ...: configs/*.yaml, installed with the package); None
            starts from defaults. With ``data.root`` left at ``data`` and no MNIST under ./data,
            mnist and stacked_mnist use the MNIST bundled with the package.
        overrides: dotted assignments such as ``["train.lr=1e-4", "run.dir=runs/x"]``.

    Raises:
        ConfigError: one line naming the offending key and the fix.
    """
    values = _flatten(_read_yaml(path)) if path is not None else {}
    for text in overrides or []:
        key, value = _parse_override(text)
        values[key] = value
    cfg = build_config(values)
    from .resources import resolve_data_root
    cfg.data.root = resolve_data_root(cfg.data.name, cfg.data.root)   # default "data" outside a checkout
    return cfg


def apply_objective_defaults(cfg: Config) -> None:
    """Fill the keys the config leaves unset (None) from the objective's published defaults."""
    objective = OBJECTIVES.get(cfg.train.objective)
    if objective is None:
        return  # validate() reports the unknown objective
    if cfg.model.c_norm is None:
        cfg.model.c_norm = objective.critic_norm
    for key, value in objective.defaults.items():
        if getattr(cfg.train, key) is None:
            setattr(cfg.train, key, value)


def _choice(key: str, value: str, allowed: tuple) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value)[:100], allowed, n=1, cutoff=0.0)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {_q(value)}{hint}")


def _positive(key: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{key} must be > 0, got {value}")


def _at_least(key: str, value: int, low: int) -> None:
    if value < low:
        raise ConfigError(f"{key} must be >= {low}, got {_show(value)}")
    if value > MAX_INT:
        raise ConfigError(f"{key} must be <= {MAX_INT}, got {_show(value)}")


def validate(cfg: Config) -> None:
    """Check values and combinations; raise ConfigError with a one-line fix."""
    d, m, t, log = cfg.data, cfg.model, cfg.train, cfg.log
    _choice("train.objective", t.objective, tuple(OBJECTIVES))     # first: other defaults depend on it
    _choice("data.name", d.name, DATASETS)
    _choice("data.split", d.split, ("train", "test"))
    size = d.image_size
    if size < 16 or size > MAX_IMAGE_SIZE or size & (size - 1):
        raise ConfigError(f"data.image_size must be a power of two >= 16 (16, 32, 64, 128, ...) and "
                          f"<= {MAX_IMAGE_SIZE}, got {_show(size)}")
    _at_least("data.stacked_size", d.stacked_size, 1)
    if not d.root:
        raise ConfigError("data.root must name a directory, e.g. data.root=data")
    _at_least("model.z_dim", m.z_dim, 1)
    _at_least("model.g_width", m.g_width, 1)
    _at_least("model.c_width", m.c_width, 1)
    _choice("model.g_norm", m.g_norm, GENERATOR_NORMS)
    _choice("model.g_arch", m.g_arch, GENERATOR_ARCHS)
    _at_least("model.g_mlp_units", m.g_mlp_units, 1)
    _choice("model.c_norm", m.c_norm, CRITIC_NORMS)
    _at_least("train.steps", t.steps, 1)
    _at_least("train.batch_size", t.batch_size, 1)
    _at_least("train.n_critic", t.n_critic, 1)
    _positive("train.lr", t.lr)
    _choice("train.optimizer", t.optimizer, OPTIMIZERS)
    _choice("train.lr_decay", t.lr_decay, LR_DECAYS)
    if len(t.betas) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1
                                    for b in t.betas):
        raise ConfigError(f"train.betas must be two numbers in [0, 1), e.g. [0.5, 0.999], got {_show(t.betas)}")
    if not 0 <= t.seed < MAX_SEED:
        raise ConfigError(f"train.seed must be an integer in [0, 2**62), got {_show(t.seed)}")
    if isinstance(t.ema, bool) or not isinstance(t.ema, (int, float)) or not 0 <= t.ema < 1:
        raise ConfigError(f"train.ema must be a number in [0, 1), e.g. 0.999 (0 turns the average off), "
                          f"got {_show(t.ema)}")
    _positive("train.clip", t.clip)
    _positive("train.gp_lambda", t.gp_lambda)
    _choice("system.device", cfg.system.device, DEVICES)
    _choice("system.precision", cfg.system.precision, PRECISIONS)
    problem = OBJECTIVES[t.objective].check(cfg)
    if problem:
        raise ConfigError(problem)
    _at_least("log.log_every", log.log_every, 1)
    _at_least("log.sample_every", log.sample_every, 1)
    _at_least("log.checkpoint_every", log.checkpoint_every, 1)
    _at_least("log.keep_checkpoints", log.keep_checkpoints, 1)
    _at_least("log.n_samples", log.n_samples, 1)
    if log.n_samples > MAX_GRID_SAMPLES:
        raise ConfigError(f"log.n_samples must be <= {MAX_GRID_SAMPLES} (the images of one sample grid), got "
                          f"{_show(log.n_samples)}; lower log.n_samples")
    _at_least("log.eval_every", log.eval_every, 0)
    _at_least("log.eval_samples", log.eval_samples, 2)
    if not cfg.run.dir:
        raise ConfigError("run.dir must name a directory, e.g. run.dir=runs/mnist")


def config_from_dict(tree: dict) -> Config:
    """Rebuild a Config from ``Config.to_dict()`` output (e.g. a checkpoint's copy); a config
    saved before the system: section existed is read silently."""
    return build_config(_flatten(tree), warn_moved=False)


# What a resumed run may change without becoming another experiment: how the machine runs it
# (system), what it writes (log, run), how long it trains, whether an average of the generator
# is kept for sampling (the average starts from the current weights), and where the data lives.
RESUMABLE_SECTIONS = ("system", "log", "run")
RESUMABLE_KEYS = ("train.steps", "train.ema", "data.root", "data.on_device")


def resume_conflict(saved: dict, cfg: Config) -> Optional[tuple[str, Any, Any]]:
    """The first (key, saved value, new value) that a resume of a run saved as ``saved`` (a
    ``to_dict()`` tree) with ``cfg`` may not change, or None when ``cfg`` continues that run.

    A key the saved config lacks was added to the schema after that run started (model.g_arch,
    model.g_mlp_units): the run was trained with its default, so that is what it is compared as."""
    old, new = flat_config(saved), flat_config(cfg.to_dict())
    defaults = flat_config(Config().to_dict())
    for key in sorted(set(old) | set(new)):
        if key in RESUMABLE_KEYS or key.split(".")[0] in RESUMABLE_SECTIONS:
            continue
        before = old[key] if key in old else defaults.get(key)
        if before != new.get(key):
            return key, before, new.get(key)
    return None


def flat_config(tree: dict) -> dict[str, Any]:
    """A saved or current config as {dotted key: value}, old key spellings renamed."""
    return _rename_moved_keys({f"{section}.{key}": value for section, body in tree.items()
                               if isinstance(body, dict) for key, value in body.items()}, warn=False)
