"""GAN quality and mode-coverage metrics (see docs/metrics.md for the protocols).

- ``fid``: Fréchet and kernel distances (FID, KID) between feature sets, in float64.
- ``inception``: the TF-Inception pool3 network, found offline, and its preprocessing.
- ``classifier``: the project's MNIST classifier (mode counting, MNIST IS, classifier FID).
- ``modes``: modes covered, KL to uniform, the classifier inception score.
- ``reference``: reference image sets and their cached feature statistics.
- ``evaluate``: ``MetricSuite`` and the ``scripts/evaluate.py`` command line.
- ``training``: ``TrainingMetrics``, the metrics computed while training.

Importing this package loads no network and reads no file.
"""

from .classifier import ClassifierNotFound, MNISTClassifier, classify, load_classifier
from .evaluate import MetricSuite, generate_images
from .fid import FeatureStats, feature_stats, fid_from_stats, frechet_distance, kernel_distance
from .inception import InceptionFeatures, InceptionNotFound, find_inception, load_inception
from .modes import classifier_score, kl_to_uniform, mode_histogram, mode_metrics, modes_covered, stacked_mode_labels
from .training import TrainingMetrics

__all__ = [
    "ClassifierNotFound", "FeatureStats", "InceptionFeatures", "InceptionNotFound", "MNISTClassifier",
    "MetricSuite", "TrainingMetrics", "classifier_score", "classify", "feature_stats", "fid_from_stats",
    "find_inception", "frechet_distance", "generate_images", "kernel_distance", "kl_to_uniform",
    "load_classifier", "load_inception", "mode_histogram", "mode_metrics", "modes_covered",
    "stacked_mode_labels",
]
