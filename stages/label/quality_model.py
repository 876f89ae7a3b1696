"""The trained quality classifier as the map phase carries it: plain numpy arrays, pickled to every worker,
and saved beside the labeled dataset (`_quality_model.npz`) so the same scores can be given to other text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit

from stages.label.document_words import DocumentWords
from stages.label.ngram_features import hashed_ngram_features

MODEL_FILE = "_quality_model.npz"


@dataclass(frozen=True)
class QualityModel:
    weights: np.ndarray
    """float64, 2**hash_bits: one weight per hashed n-gram."""
    bias: float
    hash_bits: int

    def probabilities(self, words: DocumentWords) -> np.ndarray:
        """P(good) for each document."""
        features = hashed_ngram_features(words, self.hash_bits)
        return expit(features @ self.weights + self.bias)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights, bias=self.bias, hash_bits=self.hash_bits)

    @classmethod
    def load(cls, path: Path) -> QualityModel:
        with np.load(path) as saved:
            return cls(weights=saved["weights"], bias=float(saved["bias"]), hash_bits=int(saved["hash_bits"]))
