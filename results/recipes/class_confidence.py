"""Why class KL is high at 16x16: class counts and the MNIST classifier's confidence, generated vs real.

Usage: python results/recipes/class_confidence.py [RUN_OR_EXPORT ...]

For the real MNIST test digits at 28x28 and resized to 16x16 and 32x32 as the training data is
(``wgan.data.resize_uint8``), then for 10,000 samples of each generator given (latents seeded 0, as scripts/evaluate.py draws them), prints
per class: the count of argmax labels, the mean top probability, and the count classified with
probability > 0.95; and the class KL to uniform that scripts/evaluate.py reports.
"""

import sys

import torch

from wgan import sampling
from wgan.data import load_mnist, resize_uint8
from wgan.export import load_generator
from wgan.metrics.classifier import classify, load_classifier
from wgan.metrics.modes import kl_to_uniform

SURE = 0.95


def report(name: str, images: torch.Tensor, classifier) -> None:
    probs, _ = classify(classifier, images)
    conf, labels = probs.max(1)
    counts = torch.bincount(labels, minlength=10)
    sure = conf > SURE
    print(f"## {name} ({images.shape[-1]}x{images.shape[-1]}, {images.shape[0]} images)")
    print(f"class KL {kl_to_uniform(counts):.4f}; share classified with p > {SURE}: {float(sure.float().mean()):.3f}")
    print("| | " + " | ".join(str(k) for k in range(10)) + " |")
    print("| --- " * 11 + "|")
    print("| count | " + " | ".join(str(int(c)) for c in counts) + " |")
    print("| mean top p | " + " | ".join(f"{float(conf[labels == k].mean()):.2f}" for k in range(10)) + " |")
    print(f"| p > {SURE} | " + " | ".join(str(int(c)) for c in torch.bincount(labels[sure], minlength=10)) + " |")
    print()


def main(paths) -> None:
    torch.manual_seed(0)
    classifier = load_classifier()
    test = load_mnist("data", "test").images[:10000]
    report("real test digits", test, classifier)
    for size in (16, 32):
        report(f"real test digits resized to {size}", resize_uint8(test, size), classifier)
    for path in paths:
        report(path, sampling.generate(load_generator(path, "cpu"), 10000, 0), classifier)


if __name__ == "__main__":
    main(sys.argv[1:])
