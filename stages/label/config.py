"""Settings of the label stage: how the quality classifier is trained, how topics are assigned, and the
optional mix/threshold step that drops documents by their labels."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from stages.core.stage import StageConfig
from stages.label.topic_keywords import ALL_TOPIC_LABELS

QUALITY_REASON_FAMILIES = ("gopher_quality", "gopher_repetition", "c4", "fineweb")
"""Reason prefixes of the clean stage's rejects that mean "not good text" (language, blocklist and toxicity
drops say nothing about the writing, so they are not negatives for the quality classifier)."""


class LabelConfig(StageConfig):
    # Quality classifier: hashed word uni+bigrams and logistic regression, trained when the stage runs.
    train_sample: int = Field(
        20_000, ge=2, description="documents sampled for training and evaluation, at most half of each class"
    )
    eval_fraction: float = Field(0.2, gt=0, lt=1, description="share of each class held out for evaluation")
    min_class_examples: int = Field(
        20, ge=2, description="fewer examples of either class than this: no classifier, quality_score null"
    )
    hash_bits: int = Field(18, ge=10, le=24, description="feature space of 2**hash_bits hashed n-grams")
    l2: float = Field(1e-4, ge=0, description="L2 penalty on the weights (per example, on the mean log loss)")
    max_iterations: int = Field(300, ge=1, description="L-BFGS iterations of the logistic regression")
    seed: int = Field(0, description="seed of the training sample and the held-out split")
    negative_reasons: list[str] = Field(
        default_factory=lambda: list(QUALITY_REASON_FAMILIES),
        description="reason families (text before ':') of upstream rejects used as negative examples",
    )
    negatives_path: Path | None = Field(
        None,
        description="negative examples instead of the upstream rejects: a dataset directory (its _rejects "
        "with negative_reasons) or a Parquet/JSONL file or directory whose every row (a `text`) is one",
    )
    labels_path: Path | None = Field(
        None,
        description="user-provided labels instead of pass/fail rules: Parquet/JSONL with `label` (1 good, "
        "0 bad) and `text`, or `id` of documents in the input",
    )
    # Topics: a keyword taxonomy.
    min_topic_hits: int = Field(
        3, ge=1, description="topic keyword occurrences a document needs for a topic other than `other`"
    )
    # Toxicity: the clean stage's word list, plus more words.
    extra_toxic_words: list[str] = Field(default_factory=list)
    toxic_words_file: Path | None = None
    # Mix/threshold step: None keeps every document.
    min_quality_score: float | None = Field(None, ge=0, le=1, description="drop below: label:low_quality")
    max_toxicity_score: float | None = Field(None, ge=0, le=1, description="drop above: label:toxic")
    topics: list[str] | None = Field(None, description="keep only these topics; others: label:topic_excluded")

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: list[str] | None) -> list[str] | None:
        if topics is None:
            return None
        unknown = sorted(set(topics) - set(ALL_TOPIC_LABELS))
        if unknown:
            raise ValueError(f"unknown topics {unknown}; known: {', '.join(ALL_TOPIC_LABELS)}")
        return topics
