"""Hostile YAML (issue 16, classes 7 and 11): alias bombs, duplicate keys, absurd sizes are refused
at once with one ConfigError naming the file, the line and the key."""

import time

import pytest

from wgan.config import ConfigError, load_config


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" document: each level a list of ``width`` aliases of the level before,
    ``width ** levels`` strings (387,420,489 for 9x9) from a few hundred bytes, in one value."""
    lines = ["train:", "  betas: [&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol],"]
    for level in range(1, levels):
        lines.append(f"    &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "],")
    lines.append(f"    *l{levels - 1}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_in_well_under_a_second_naming_the_file(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert len(path.read_bytes()) < 600
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed                       # before: a minute and 6.7 GB
    text = str(err.value)
    assert str(path) in text and "line 3" in text and "alias *l0" in text and "\n" not in text


def test_an_anchor_without_aliases_is_harmless(tmp_path):
    path = tmp_path / "anchor.yaml"
    path.write_text("train: &t\n  steps: 5\n")
    assert load_config(str(path)).train.steps == 5


def test_an_alias_of_a_single_value_still_works(tmp_path):
    path = tmp_path / "scalar_alias.yaml"
    path.write_text("model:\n  g_width: &w 48\n  c_width: *w\n")
    assert load_config(str(path)).model.c_width == 48


@pytest.mark.parametrize("text,key,lines", [
    ("train:\n  lr: 1.0e-4\nmodel:\n  z_dim: 8\ntrain:\n  steps: 5\n", "train", (1, 5)),
    ("train:\n  lr: 1.0e-4\n  steps: 3\n  lr: 2.0e-4\n", "lr", (2, 4)),
    ("log: {n_samples: 4, n_samples: 8}\n", "n_samples", (1, 1)),
])
def test_duplicate_sections_and_keys_are_an_error_naming_the_key_and_both_lines(tmp_path, text, key, lines):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert f"duplicate key '{key}' at lines {lines[0]} and {lines[1]}" in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("value", ["1000000000", "1e9", "4097"])
def test_huge_log_n_samples_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match=r"log\.n_samples must be <= 4096"):
        load_config(None, [f"log.n_samples={value}"])
    assert load_config(None, ["log.n_samples=4096"]).log.n_samples == 4096
