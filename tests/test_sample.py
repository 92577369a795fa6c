"""Seeded sampling, grid tiling, interpolation and the sample.py command line."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import Z_DIM, tiny_generator
from PIL import Image

from wgan import sampling
from wgan.export import save_generator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_generator(tiny_generator(), path, step=5, dataset="mnist", objective="wgan")
    return str(path)


@pytest.mark.parametrize("n, cols, shape", [(64, None, (8, 8)), (16, None, (4, 4)), (10, None, (3, 4)),
                                            (12, None, (3, 4)), (7, None, (3, 3)), (1, None, (1, 1)),
                                            (5, 5, (1, 5))])
def test_grid_shape_is_near_square(n, cols, shape):
    assert sampling.grid_shape(n, cols) == shape


def test_tile_places_images_row_major_with_padding():
    images = torch.tensor([10, 20, 30], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 1, 2, 2)
    grid = sampling.tile(images, cols=2, padding=2)
    assert grid.shape == (2 * 4 + 2, 2 * 4 + 2)
    assert (grid[2:4, 2:4] == 10).all() and (grid[2:4, 6:8] == 20).all() and (grid[6:8, 2:4] == 30).all()
    assert (grid[6:8, 6:8] == 255).all()                  # empty cell keeps the padding colour
    assert (grid[0] == 255).all() and (grid[:, 4:6] == 255).all()
    rgb = sampling.tile(torch.zeros(4, 3, 5, 5, dtype=torch.uint8))
    assert rgb.shape == (2 * 7 + 2, 2 * 7 + 2, 3) and sampling.to_image(rgb).mode == "RGB"


def test_generate_is_seeded_and_leaves_the_generator_untouched():
    gen = tiny_generator().train()
    stats = gen.net[1].running_mean.clone()
    a, b, c = (sampling.generate(gen, 6, seed) for seed in (3, 3, 4))
    assert a.dtype == torch.uint8 and a.shape == (6, 1, 16, 16)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert gen.training and torch.equal(gen.net[1].running_mean, stats)    # sampled in eval mode
    assert torch.equal(sampling.latents(6, Z_DIM, 3), sampling.latents(6, Z_DIM, 3))
    with pytest.raises(ValueError, match="seed"):
        sampling.latents(1, Z_DIM, -1)


def test_slerp_follows_the_great_circle():
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    assert torch.allclose(sampling.slerp(z0, z1, 0.0), z0) and torch.allclose(sampling.slerp(z0, z1, 1.0), z1)
    mid = sampling.slerp(z0, z1, 0.5)
    assert torch.allclose(mid.norm(), torch.tensor(3.0))                 # lerp's midpoint has norm 2.12
    assert torch.allclose(mid, torch.tensor([1.0, 1.0]) * 3 / 2 ** 0.5)
    same = sampling.slerp(z0, 2 * z0, 0.5)                               # parallel: no NaN
    assert torch.allclose(same, 1.5 * z0)
    path = sampling.interpolation_latents(Z_DIM, 5, seed=1)
    assert path.shape == (10, Z_DIM)
    assert torch.allclose(path[0], path[5]) and torch.allclose(path[4], path[9], atol=1e-5)
    assert torch.allclose(path[2], (path[0] + path[4]) / 2, atol=1e-6)


def test_sample_script_is_deterministic_across_processes(model, tmp_path, child_env):
    each = tmp_path / "each"
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "sample.py"), model, "--n", "9", "--seed", "3",
                    "--out", str(tmp_path / "a.png"), "--each", str(each), "--device", "cpu"],
                   check=True, capture_output=True, cwd=tmp_path, timeout=120, env=child_env())
    assert sampling.main([model, "--n", "9", "--seed", "3", "--out", str(tmp_path / "b.png"), "--device", "cpu"]) == 0
    assert sampling.main([model, "--n", "9", "--seed", "4", "--out", str(tmp_path / "c.png"), "--device", "cpu"]) == 0
    a, b, c = ((tmp_path / f"{name}.png").read_bytes() for name in "abc")
    assert a == b and a != c
    grid = np.asarray(Image.open(tmp_path / "a.png"))
    assert grid.shape == (3 * 18 + 2, 3 * 18 + 2)
    files = sorted(os.listdir(each))
    assert files == [f"{i:03d}.png" for i in range(9)]
    fifth = np.asarray(Image.open(each / "004.png"))                     # row 1, column 1 of the grid
    assert fifth.shape == (16, 16) and np.array_equal(fifth, grid[20:36, 20:36])


def test_interpolate_writes_linear_and_spherical_rows(model, tmp_path):
    out = tmp_path / "walk.png"
    assert sampling.main([model, "--interpolate", "5", "--seed", "2", "--out", str(out)]) == 0
    strip = np.asarray(Image.open(out)).astype(int)
    assert strip.shape == (2 * 18 + 2, 5 * 18 + 2)

    def cell(row, col):
        return strip[2 + 18 * row: 18 * (row + 1), 2 + 18 * col: 18 * (col + 1)]

    assert np.abs(cell(0, 0) - cell(1, 0)).max() <= 1          # both rows start at z0 ...
    assert np.abs(cell(0, 4) - cell(1, 4)).max() <= 1          # ... and end at z1
    assert np.abs(cell(0, 2) - cell(1, 2)).max() > 1           # but take different paths
    assert not np.array_equal(cell(0, 0), cell(0, 4))


@pytest.mark.parametrize("args, expected", [(["--n", "0"], "--n must be at least 1"),
                                            (["--seed", "-1"], "seed must be"),
                                            (["--interpolate", "1"], "at least 2 steps"),
                                            (["--n", "1000000000"], "--n must be at most 65536")])
def test_bad_arguments_give_one_error_line(model, tmp_path, capsys, args, expected):
    assert sampling.main([model, "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_bad_model_and_missing_cuda_are_reported(tmp_path, capsys):
    assert sampling.main([str(tmp_path / "absent.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "absent.pt does not exist" in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(sampling.DeviceUnavailable, match="no CUDA device"):
            sampling.resolve_device("cuda")
    assert sampling.resolve_device("cpu") == torch.device("cpu")


# ------------------------------------------------------------------ where the grid cannot go (issue 16)
@pytest.mark.parametrize("free", [0, 4096, 60_000])
def test_grid_on_a_real_full_disk_is_one_line_exit_2(model, disk, free, capsys):
    out = os.path.join(disk.path, "grid.png")
    disk.leave(free)
    with pytest.raises(OSError) as err:
        sampling.save_png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 600, 3), np.uint8)), out)
    assert err.value.filename == out
    assert sampling.main([model, "--n", "4096", "--out", out]) == 2        # a 1 MB grid
    assert capsys.readouterr().err == f"error: cannot write {out}: No space left on device; free some disk space\n"
    assert sorted(os.listdir(disk.path)) == [".fill"]


@pytest.mark.parametrize("option", ["--out", "--each"])
def test_output_below_a_regular_file_is_one_line(model, tmp_path, capsys, option):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / ("x.png" if option == "--out" else "each")
    args = [model, "--n", "4"] + (["--out", str(target)] if option == "--out"
                                  else ["--out", str(tmp_path / "g.png"), "--each", str(target)])
    assert sampling.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write ") and f"{tmp_path / 'file'} is a file, not a folder; " \
        f"choose another {option}\n" in err and err.count("\n") == 1
