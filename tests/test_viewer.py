"""The Tk viewer, driven through its methods on a private Xvfb display."""

import shutil
import threading
import time

import numpy as np
import pytest
from PIL import Image

tk = pytest.importorskip("tkinter", reason="the viewer needs Tk (Debian: apt-get install python3-tk)")

from helpers import tiny_generator  # noqa: E402

from wgan import export, sampling, viewer  # noqa: E402
from wgan.export import save_generator  # noqa: E402
from wgan.viewer import ViewerApp, display_image  # noqa: E402


@pytest.fixture(scope="module")
def display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install -y xvfb); the viewer tests need an X display")
    with viewer.virtual_display(800, 600) as name:
        yield name


@pytest.fixture
def root(display):
    window = tk.Tk(screenName=display)
    yield window
    window.destroy()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for channels, size in ((1, 16), (3, 32)):
        path = folder / f"g{channels}_{size}.safetensors"
        save_generator(tiny_generator(channels, size), path, step=12, dataset="mnist", objective="wgan")
        paths[channels, size] = str(path)
    return paths


def test_generate_changes_the_grid_and_matches_sample_script(root, models, tmp_path):
    model = models[1, 16]
    app = ViewerApp(root, model, grid=4)
    app.wait()                                   # opening a model shows a first grid
    assert app.image is not None and "16x16 px" in app.info_var.get() and "12 training steps" in app.info_var.get()
    assert app.generate(5) == 5
    app.wait()
    first = np.asarray(app.image)
    app.generate(6)
    app.wait()
    second = np.asarray(app.image)
    assert app.seed == 6 and "seed 6" in app.status_var.get() and not app.status_is_error
    assert first.shape == second.shape == (4 * 18 + 2, 4 * 18 + 2) and not np.array_equal(first, second)
    out = tmp_path / "script.png"
    assert sampling.main([model, "--n", "16", "--seed", "6", "--out", str(out), "--device", "cpu"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), second)


def test_small_grids_are_enlarged_with_nearest_neighbour(root, models):
    app = ViewerApp(root, models[1, 16], grid=4, seed=1)
    app.wait()
    shown = display_image(app.image)
    factor = shown.width // app.image.width
    assert factor >= 4 and shown.size == (app.image.width * factor, app.image.height * factor)
    assert np.array_equal(np.asarray(shown)[::factor, ::factor], np.asarray(app.image))   # pixel blocks
    assert app.picture.winfo_reqwidth() >= shown.width
    big = Image.new("L", (2000, 1000))
    assert max(display_image(big).size) == viewer.DISPLAY_MAX


def test_rgb_model_and_grid_choice(root, models):
    app = ViewerApp(root, models[3, 32], grid=6, seed=2)
    app.wait()
    assert app.image.mode == "RGB" and app.image.size == (6 * 34 + 2, 6 * 34 + 2)
    assert "3 channels" in app.info_var.get()
    app.grid_var.set("8x8")
    app.generate()
    app.wait()
    assert app.image.size == (8 * 34 + 2, 8 * 34 + 2) and app.seed == 2   # the Seed field is reused


def test_seed_field_empty_means_random_and_bad_text_is_reported(root, models):
    app = ViewerApp(root, models[1, 16], grid=4)
    app.wait()
    app.seed_var.set("")
    seed = app.generate()
    app.wait()
    assert isinstance(seed, int) and app.seed == seed and f"seed {seed}" in app.status_var.get()
    app.seed_var.set("not a number")
    assert app.generate() is None
    assert app.status_is_error and "not a number" in app.status_var.get()
    assert app.seed == seed                      # the old grid stays


def test_generation_runs_off_the_main_thread(root, models, monkeypatch):
    app = ViewerApp(root, models[1, 16], grid=4, seed=0)
    app.wait()
    release, threads = threading.Event(), []

    def slow_grid(*args, **kwargs):
        threads.append(threading.current_thread())
        release.wait(10)
        return sampling.grid_image(*args, **kwargs)

    monkeypatch.setattr(viewer, "grid_image", slow_grid)
    started = time.perf_counter()
    app.generate(9)
    assert time.perf_counter() - started < 0.5 and app.busy()
    ticks = []
    root.after(1, lambda: ticks.append(1))
    for _ in range(20):                          # the event loop keeps running meanwhile
        root.update()
        time.sleep(0.01)
    assert ticks and app.busy() and app.seed == 0
    release.set()
    app.wait()
    assert app.seed == 9 and threads and threads[0] is not threading.main_thread()


def test_save_writes_the_native_grid(root, models, tmp_path):
    app = ViewerApp(root, models[1, 16], grid=4, seed=3)
    app.wait()
    path = app.save(str(tmp_path / "saved.png"))
    assert path and np.array_equal(np.asarray(Image.open(path)), np.asarray(app.image))
    assert "saved" in app.status_var.get()
    (tmp_path / "a_file").write_text("")
    assert app.save(str(tmp_path / "a_file" / "x.png")) is None           # its folder is a file
    assert app.status_is_error and "could not save" in app.status_var.get()


@pytest.mark.parametrize("case", ["garbage file", "missing file", "missing default"])
def test_bad_model_shows_a_message_instead_of_raising(root, tmp_path, monkeypatch, case):
    if case == "garbage file":
        path = tmp_path / "garbage.safetensors"
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
        expected = str(path)
    elif case == "missing file":
        path, expected = tmp_path / "nowhere.pt", "does not exist"
    else:
        monkeypatch.setattr(export, "DEFAULT_MODEL", str(tmp_path / "absent.safetensors"))
        path, expected = None, "does not exist yet"
    app = ViewerApp(root, None if path is None else str(path))
    root.update()
    assert app.status_is_error and expected in app.status_var.get()
    assert app.generator is None and app.image is None
    assert app.generate() is None and "no model is open" in app.status_var.get()
    assert app.save(str(tmp_path / "x.png")) is None and "nothing to save" in app.status_var.get()


def test_opening_a_bad_model_keeps_the_current_one(root, models, tmp_path):
    app = ViewerApp(root, models[1, 16], grid=4, seed=4)
    app.wait()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert app.open_model(str(bad)) is False
    assert app.status_is_error and str(bad) in app.status_var.get()
    assert app.generator is not None and app.generate(4) == 4
    app.wait()
    assert app.open_model(models[3, 32]) is True
    app.wait()
    assert app.image.mode == "RGB"
