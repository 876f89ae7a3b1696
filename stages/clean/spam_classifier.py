"""The Chinese spam classifier: a logistic regression over `stages.clean.spam_features`, for the gambling,
adult and SEO-spam pages that hold too few listed words for the word lists (spun babble, keyword directories,
fake-invoice and private-server farms).

The model is a weight vector in `spam_model_zh.npz` beside this module (123 KB), trained by
benchmarks/zh_spam_train.py on 607 real HPLT pages read and labelled by hand: the `dev` half of
tests/stages/clean/data/zh_spam_labels.jsonl and tests/stages/clean/data/zh_spam_labels_extra.jsonl (see the .md
files beside them), and, as more good examples, the 37 hand-annotated magic-html main texts the zh rules were
derived on (without them the cross-validated, lightly regularised model took a real Federal Reserve news article
for finance spam). The `held_out` half of the first file is never trained or tuned on: it measures the model.
Training is deterministic (fixed hashing, L-BFGS from zeros; `--check` retrains and compares); the L2 strength
(1e-5) and the threshold are the cross-validated ones at which at most 3% of the good training crawl pages are
dropped by URL rules, lists and model together.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from stages.clean.spam_features import HASH_BITS, page_features

MODEL_FILE = "spam_model_zh.npz"


@dataclass(frozen=True)
class SpamClassifier:
    weights: np.ndarray
    """float32, 2**HASH_BITS: one weight per hashed feature."""
    bias: float
    threshold: float
    """The probability from which a page is spam: chosen by cross-validation on the training pages."""

    def probability(self, text: str) -> float:
        """P(spam) of one page."""
        features = page_features(text)
        if len(features.columns) == 0:
            return 0.0
        margin = float(features.values @ self.weights[features.columns]) + self.bias
        return float(1.0 / (1.0 + np.exp(-margin)))

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, weights=self.weights.astype(np.float32), bias=self.bias, threshold=self.threshold
        )

    @classmethod
    def load(cls, path: Path) -> SpamClassifier:
        with np.load(path) as saved:
            weights = saved["weights"].astype(np.float32)
            if len(weights) != 2**HASH_BITS:
                raise ValueError(f"{path}: {len(weights)} weights, the features have {2**HASH_BITS} columns")
            return cls(weights=weights, bias=float(saved["bias"]), threshold=float(saved["threshold"]))


@cache
def builtin_classifier() -> SpamClassifier:
    """The shipped Chinese model, read once per process."""
    with resources.as_file(resources.files("stages.clean").joinpath(MODEL_FILE)) as path:
        return SpamClassifier.load(path)
