"""A sweep's grid: what it varies, from command-line overrides or a sweep YAML.

Overrides follow Hydra's multirun convention, ``train.lr=5e-5,1e-4`` (a comma list is several
values; commas inside brackets, braces or quotes do not split, so ``train.betas=[0.5,0.9]`` is one
value). A sweep YAML (``configs/sweeps/*.yaml``) has ``config``, ``overrides`` and ``grid``.
``Grid.runs()`` is the cross product, the first key varying slowest.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import yaml

from .config import ConfigError, _safe_yaml, escape_controls

SWEEP_FILE_KEYS = ("config", "overrides", "grid")


def split_values(raw: str) -> list[str]:
    """``raw`` split at the commas outside brackets, braces, parentheses and quotes.

    ``"5e-5,1e-4"`` -> ``["5e-5", "1e-4"]``; ``"[0.5,0.9]"`` -> ``["[0.5,0.9]"]``;
    ``"'a,b',c"`` -> ``["'a,b'", "c"]``. Unbalanced brackets leave the rest as one value (the
    config then refuses it with its own message).
    """
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(raw):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return parts


@dataclass(frozen=True)
class Axis:
    """One swept key and its values, each as override text (what follows ``key=``)."""

    key: str
    values: tuple[str, ...]


@dataclass
class Grid:
    """What a sweep varies: overrides for every run (``fixed``) and the swept ``axes`` in order."""

    config: Optional[str] = None                     # base config: a YAML path or a shipped name
    fixed: list[str] = field(default_factory=list)   # "key=value" applied to every run
    axes: list[Axis] = field(default_factory=list)

    def runs(self) -> list[tuple[tuple[str, str], ...]]:
        """The cross product as ((key, value text), ...) per run; the last axis varies fastest."""
        if not self.axes:
            return [()]
        return [tuple(zip((a.key for a in self.axes), combo))
                for combo in itertools.product(*(a.values for a in self.axes))]

    def merged(self, other: "Grid") -> "Grid":
        """This grid with ``other``'s fixed overrides and axes added; a key of ``other`` replaces this
        grid's value(s) for it (keeping its place), and ``other.config`` wins when given."""
        axes = {a.key: a for a in self.axes}
        fixed = [f for f in self.fixed if f.split("=", 1)[0].strip() not in {a.key for a in other.axes}]
        for axis in other.axes:
            axes[axis.key] = axis
        other_fixed_keys = {f.split("=", 1)[0].strip() for f in other.fixed}
        axes = {k: a for k, a in axes.items() if k not in other_fixed_keys}
        return Grid(other.config or self.config, fixed + list(other.fixed), list(axes.values()))


def _key_of(text: str) -> str:
    if "=" not in text:
        hint = f"; to read a sweep file pass --sweep {text}" if text.endswith((".yaml", ".yml")) else ""
        raise ConfigError(f"override '{escape_controls(text)}' is not of the form key=value or key=v1,v2,..., "
                          f"e.g. train.lr=5e-5,1e-4{hint}")
    key = text.split("=", 1)[0].strip()
    if not key:
        raise ConfigError(f"override '{escape_controls(text)}' has no key; write it as key=value, e.g. train.lr=1e-4")
    return key


def parse_grid(overrides: Sequence[str]) -> Grid:
    """Command-line overrides as a Grid (Hydra's multirun convention).

    ``key=v1,v2,v3`` sweeps ``key`` over three values; ``key=value`` (no top-level comma) and
    ``key=`` (nothing: the key's default, as in a single run) apply to every run. An empty
    value inside a list (``train.lr=1e-4,``) and a key given twice are refused.

    Raises:
        ConfigError: one line naming the override.
    """
    grid, seen = Grid(), set()
    for text in overrides:
        key = _key_of(text)
        if key in seen:
            raise ConfigError(f"{escape_controls(key)} is given twice; give it once, with all its values as "
                              f"{escape_controls(key)}=v1,v2,...")
        seen.add(key)
        raw = text.split("=", 1)[1]
        values = split_values(raw)
        if len(values) == 1:
            grid.fixed.append(text)
            continue
        if any(not v.strip() for v in values):
            raise ConfigError(f"{escape_controls(text)} has an empty value in its list; remove the stray comma "
                              f"(to sweep the default, give the value explicitly)")
        grid.axes.append(Axis(key, tuple(v.strip() for v in values)))
    return grid


def _value_text(value: Any) -> str:
    """A YAML value as override text that the config parser reads back as the same value."""
    if value is None:
        return ""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    return text[:-4].strip() if text.endswith("\n...") else text


def read_sweep_file(path: str) -> Grid:
    """A sweep YAML (``configs/sweeps/*.yaml``) as a Grid::

        config: mnist                  # base config: shipped name, or a path (relative to this file)
        overrides: [train.steps=5000]  # key=value for every run (or a mapping key: value)
        grid:                          # swept keys, in order; the last varies fastest
          train.lr: [5e-5, 1e-4, 2e-4]
          train.n_critic: [1, 5]

    A grid value that is not a list is one value for every run; an empty list is refused; a
    list value (``train.betas``) is written as a list of lists (``[[0.5, 0.9], [0.0, 0.9]]``).

    Raises:
        ConfigError: one line naming the file and the problem.
    """
    shown = f"'{escape_controls(path)}'"
    try:
        with open(path, encoding="utf-8") as handle:
            tree = _safe_yaml(handle.read())
    except FileNotFoundError:
        raise ConfigError(f"sweep file {shown} does not exist; see configs/sweeps/ for examples") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"sweep file {shown} cannot be read ({err.__class__.__name__})") from None
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"sweep file {shown} is not valid YAML ({escape_controls(problem)}); fix its syntax") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"sweep file {shown} must be a mapping with keys {', '.join(SWEEP_FILE_KEYS)}")
    unknown = [str(k) for k in tree if k not in SWEEP_FILE_KEYS]
    if unknown:
        raise ConfigError(f"sweep file {shown} has unknown key '{escape_controls(unknown[0])}'; its keys are "
                          f"{', '.join(SWEEP_FILE_KEYS)}")
    grid = Grid()
    base = tree.get("config")
    if base is not None:
        if not isinstance(base, str) or not base:
            raise ConfigError(f"sweep file {shown}: config must name a config file or a shipped config, e.g. mnist")
        beside = os.path.join(os.path.dirname(path), base)
        grid.config = beside if os.path.sep in base and os.path.exists(beside) else base
    overrides = tree.get("overrides") or []
    if isinstance(overrides, dict):
        overrides = [f"{k}={_value_text(v)}" for k, v in overrides.items()]
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(f"sweep file {shown}: overrides must be a list of key=value strings")
    for text in overrides:
        _key_of(text)
    grid.fixed = list(overrides)
    body = tree.get("grid") or {}
    if not isinstance(body, dict):
        raise ConfigError(f"sweep file {shown}: grid must map keys to lists of values, e.g. train.lr: [5e-5, 1e-4]")
    for key, values in body.items():
        key = str(key)
        if not isinstance(values, list):
            values = [values]
        if not values:
            raise ConfigError(f"sweep file {shown}: grid key {escape_controls(key)} has an empty list of values; "
                              f"give at least one value or remove the key")
        grid.axes.append(Axis(key, tuple(_value_text(v) for v in values)))
    return grid
