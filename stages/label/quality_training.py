"""The label stage's driver-side phase: sample examples, hold out a share, fit, evaluate.

Returns the model (or None, with the reason, when either class has too few examples: the stage then writes
null quality scores rather than a classifier that learned nothing) and a report for the manifest's `extra`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from stages.label.config import LabelConfig
from stages.label.document_words import DocumentWords
from stages.label.logistic_regression import accuracy, balanced_accuracy, fit_logistic_regression, roc_auc
from stages.label.ngram_features import hashed_ngram_features
from stages.label.quality_examples import (
    input_documents,
    labelled_documents,
    negative_documents,
    sample_texts,
)
from stages.label.quality_model import QualityModel


@dataclass
class QualityTraining:
    model: QualityModel | None
    report: dict[str, Any] = field(default_factory=dict)


def quality_examples(config: LabelConfig, inputs: list[Path]) -> tuple[list[str], list[str], str]:
    """Sampled (good, bad) texts and the name of where they came from."""
    per_class = config.train_sample // 2
    if config.labels_path is not None:
        good, bad = labelled_documents(config.labels_path, inputs)
        return (
            sample_texts([good], per_class, config.seed),
            sample_texts([bad], per_class, config.seed),
            f"labels:{config.labels_path}",
        )
    good_texts = sample_texts(input_documents(inputs), per_class, config.seed)
    negatives = negative_documents(config.negatives_path, inputs, config.negative_reasons)
    bad_texts = sample_texts(negatives, per_class, config.seed)
    source = f"negatives:{config.negatives_path}" if config.negatives_path is not None else "quality_rules"
    return good_texts, bad_texts, source


def held_out_split(count: int, eval_fraction: float) -> int:
    """How many of a class's (randomly ordered) examples to hold out: at least one, never all."""
    return min(count - 1, max(1, round(count * eval_fraction)))


def train_quality_classifier(config: LabelConfig, inputs: list[Path]) -> QualityTraining:
    started = time.perf_counter()
    good, bad, source = quality_examples(config, inputs)
    report: dict[str, Any] = {"source": source, "positives": len(good), "negatives": len(bad)}
    if min(len(good), len(bad)) < config.min_class_examples:
        report["skipped"] = (
            f"too few examples to train ({len(good)} good, {len(bad)} bad; "
            f"min_class_examples={config.min_class_examples}): quality_score is null"
        )
        return QualityTraining(None, report)
    good_eval, bad_eval = (held_out_split(len(texts), config.eval_fraction) for texts in (good, bad))
    train_texts = good[good_eval:] + bad[bad_eval:]
    train_labels = np.array([1] * (len(good) - good_eval) + [0] * (len(bad) - bad_eval), dtype=np.int8)
    eval_texts = good[:good_eval] + bad[:bad_eval]
    eval_labels = np.array([1] * good_eval + [0] * bad_eval, dtype=np.int8)

    features = hashed_ngram_features(
        DocumentWords.of_texts(pa.array(train_texts, pa.string())), config.hash_bits
    )
    fit = fit_logistic_regression(features, train_labels, config.l2, config.max_iterations)
    model = QualityModel(weights=fit.weights, bias=fit.bias, hash_bits=config.hash_bits)
    eval_scores = model.probabilities(DocumentWords.of_texts(pa.array(eval_texts, pa.string())))
    report.update(
        {
            "train_examples": len(train_texts),
            "eval_examples": len(eval_texts),
            "eval_accuracy": round(accuracy(eval_labels, eval_scores), 4),
            "eval_balanced_accuracy": round(balanced_accuracy(eval_labels, eval_scores), 4),
            "eval_auc": None if (auc := roc_auc(eval_labels, eval_scores)) is None else round(auc, 4),
            "hash_bits": config.hash_bits,
            "iterations": fit.iterations,
            "converged": fit.converged,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return QualityTraining(model, report)
