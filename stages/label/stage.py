"""The label stage's map phase: label columns added to every document, then the mix/threshold step.

Kept rows are the input columns (with `language` and `language_confidence` carried from cleaning: kept if
present, else read from `meta`, else null) plus `quality_score`, `topic`, `topic_confidence` and
`toxicity_score`. Rejected rows carry the same columns plus `reason` (`label:toxic`, `label:low_quality`,
`label:topic_excluded`: the first rule a document fails, in that order, the most specific first; a null
quality score never fails) and `reason_detail` (the value).
The bias audit's counters, over the kept rows, go into `BatchResult.stats`.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from stages.core.stage import REASON_COLUMN, REASON_DETAIL_COLUMN, BatchResult, Resources, split_by_reason
from stages.label.bias_audit import IdentityTermAudit
from stages.label.config import LabelConfig
from stages.label.document_words import DocumentWords, WordLookup
from stages.label.negative_words import NEGATIVE_WORDS
from stages.label.quality_model import QualityModel
from stages.label.topic_taxonomy import TopicTaxonomy
from stages.label.toxicity_score import toxic_words, toxicity_scores

LANGUAGE_FIELDS = (pa.field("language", pa.string()), pa.field("language_confidence", pa.float64()))
LABEL_FIELDS = (
    pa.field("quality_score", pa.float64()),
    pa.field("topic", pa.string()),
    pa.field("topic_confidence", pa.float64()),
    pa.field("toxicity_score", pa.float64()),
)
LABEL_COLUMNS = tuple(field.name for field in LABEL_FIELDS)
TOXIC, LOW_QUALITY, TOPIC_EXCLUDED = "label:toxic", "label:low_quality", "label:topic_excluded"


def _meta_values(metas: list[str | None], key: str) -> list[Any]:
    values: list[Any] = []
    for meta in metas:
        try:
            parsed = json.loads(meta) if meta else None
        except json.JSONDecodeError:
            parsed = None
        values.append(parsed.get(key) if isinstance(parsed, dict) else None)
    return values


def carried_language(table: pa.Table) -> dict[str, pa.Array]:
    """`language` and `language_confidence` per row: the column if there is one, else `meta`'s key, else null."""
    metas: list[str | None] | None = None
    columns: dict[str, pa.Array] = {}
    for language_field in LANGUAGE_FIELDS:
        if language_field.name in table.column_names:
            columns[language_field.name] = (
                table.column(language_field.name).combine_chunks().cast(language_field.type)
            )
            continue
        if metas is None:
            metas = table.column("meta").to_pylist() if "meta" in table.column_names else [None] * len(table)
        values = _meta_values(metas, language_field.name)
        if language_field.type == pa.float64():
            values = [
                value if isinstance(value, int | float) and not isinstance(value, bool) else None
                for value in values
            ]
        else:
            values = [value if isinstance(value, str) else None for value in values]
        columns[language_field.name] = pa.array(values, language_field.type)
    return columns


def with_columns(table: pa.Table, fields: tuple[pa.Field, ...], columns: dict[str, pa.Array]) -> pa.Table:
    """Set each field's column in place where the table has it, else append it (a fixed schema either way)."""
    for column_field in fields:
        position = table.schema.get_field_index(column_field.name)
        column = columns[column_field.name]
        if position >= 0:
            table = table.set_column(position, column_field, column)
        else:
            table = table.append_column(column_field, column)
    return table


class LabelStage:
    """Labels documents; `quality_model` is the classifier the driver trained (None: null quality scores)."""

    name: ClassVar[str] = "label"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        config: LabelConfig | None = None,
        quality_model: QualityModel | None = None,
        resources: Resources | None = None,
    ) -> None:
        self.config = config or LabelConfig()
        self.quality_model = quality_model
        self.resources = resources or Resources(cpus=1.0, memory_gb=1.0)

    @cached_property
    def taxonomy(self) -> TopicTaxonomy:
        return TopicTaxonomy(self.config.min_topic_hits)

    @cached_property
    def toxic_lookup(self) -> WordLookup:
        return WordLookup.of_words(toxic_words(self.config))

    @cached_property
    def negative_lookup(self) -> WordLookup:
        return WordLookup.of_words(NEGATIVE_WORDS)

    @cached_property
    def identity_audit(self) -> IdentityTermAudit:
        return IdentityTermAudit()

    def __getstate__(self) -> dict[str, Any]:
        lazily_built = ("taxonomy", "toxic_lookup", "negative_lookup", "identity_audit")
        return {key: value for key, value in self.__dict__.items() if key not in lazily_built}

    def process_batch(self, table: pa.Table) -> BatchResult:
        if "text" not in table.column_names:
            raise ValueError("label stage input lacks a `text` column")
        table = table.drop_columns(
            [
                name
                for name in (*LABEL_COLUMNS, REASON_COLUMN, REASON_DETAIL_COLUMN)
                if name in table.column_names
            ]
        )
        words = DocumentWords.of_texts(table.column("text"))
        quality = (
            self.quality_model.probabilities(words)
            if self.quality_model is not None
            else np.full(words.num_docs, np.nan)
        )
        topics, topic_confidence = self.taxonomy.classify(words)
        toxic_counts = words.count_per_document(self.toxic_lookup.contains(words.hashes))
        toxicity = toxicity_scores(toxic_counts, words.word_counts)
        negative_counts = words.count_per_document(self.negative_lookup.contains(words.hashes))

        labelled = with_columns(table, LANGUAGE_FIELDS, carried_language(table))
        labelled = with_columns(
            labelled,
            LABEL_FIELDS,
            {
                "quality_score": pa.array(quality, pa.float64(), from_pandas=True),
                "topic": topics,
                "topic_confidence": pa.array(topic_confidence, pa.float64()),
                "toxicity_score": pa.array(toxicity, pa.float64()),
            },
        )
        reasons, details = self.threshold_reasons(quality, toxicity, topics.to_pylist())
        result = split_by_reason(labelled, reasons, details)
        kept = np.array([reason is None for reason in reasons], dtype=bool)
        result.stats.update(
            IdentityTermAudit.counts(
                self.identity_audit.mentions(words)[kept], toxic_counts[kept] > 0, negative_counts[kept] > 0
            )
        )
        return result

    def threshold_reasons(
        self, quality: np.ndarray, toxicity: np.ndarray, topics: list[str]
    ) -> tuple[list[str | None], list[str | None]]:
        """The mix/threshold step: the first rule each document fails (None: kept), with the value."""
        config = self.config
        allowed = set(config.topics) if config.topics is not None else None
        reasons: list[str | None] = []
        details: list[str | None] = []
        for score, toxic, topic in zip(quality.tolist(), toxicity.tolist(), topics, strict=True):
            if config.max_toxicity_score is not None and toxic > config.max_toxicity_score:
                reasons.append(TOXIC)
                details.append(f"toxicity_score={toxic:.4f} > {config.max_toxicity_score:g}")
            elif config.min_quality_score is not None and score == score and score < config.min_quality_score:
                reasons.append(LOW_QUALITY)
                details.append(f"quality_score={score:.4f} < {config.min_quality_score:g}")
            elif allowed is not None and topic not in allowed:
                reasons.append(TOPIC_EXCLUDED)
                details.append(f"topic={topic}")
            else:
                reasons.append(None)
                details.append(None)
        return reasons, details
