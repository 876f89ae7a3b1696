"""The clean stage: document-schema batches in, cleaned kept rows and rejected rows (with reasons) out.

Kept rows get their cleaned `text`, their `meta` JSON extended with `language`, `language_confidence` and `pii`
(counts by kind; other keys untouched), and two real columns, `language` and `language_confidence`, so later
stages can filter on them without parsing JSON. Rejected rows are the input rows as they came in, plus `reason`
and `reason_detail`.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cached_property
from typing import Any, ClassVar

import pyarrow as pa

from stages.clean.config import CleanConfig
from stages.clean.document_cleaner import CleanedDocument, DocumentCleaner
from stages.core.schema import missing_document_columns
from stages.core.stage import BatchResult, Resources, empty_rejects, split_by_reason

LANGUAGE_COLUMN = "language"
LANGUAGE_CONFIDENCE_COLUMN = "language_confidence"
LANGUAGE_FIELDS = (
    pa.field(LANGUAGE_COLUMN, pa.string()),
    pa.field(LANGUAGE_CONFIDENCE_COLUMN, pa.float64()),
)


def merged_meta(meta: str | None, document: CleanedDocument) -> str:
    """`meta` (a JSON object, or anything else kept under `original_meta`) with the clean stage's keys added."""
    parsed: Any = None
    if meta:
        try:
            parsed = json.loads(meta)
        except json.JSONDecodeError:
            parsed = meta
    fields: dict[str, Any] = (
        parsed if isinstance(parsed, dict) else ({} if parsed is None else {"original_meta": parsed})
    )
    language = document.language
    fields["language"] = language.code if language else None
    fields["language_confidence"] = round(language.confidence, 4) if language else None
    fields["pii"] = dict(document.pii_counts)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


class CleanStage:
    """Normalises, filters and redacts documents; see `stages.clean.document_cleaner` for the filter order."""

    name: ClassVar[str] = "clean"
    version: ClassVar[str] = "1"

    def __init__(self, config: CleanConfig | None = None, resources: Resources | None = None) -> None:
        self.config = config or CleanConfig()
        self.resources = resources or Resources(cpus=1.0, memory_gb=1.0)

    @cached_property
    def cleaner(self) -> DocumentCleaner:
        return DocumentCleaner(self.config)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("cleaner", None)
        return state

    @staticmethod
    def kept_schema(input_schema: pa.Schema) -> pa.Schema:
        """The schema of every kept table for batches of `input_schema`: the input plus the language columns."""
        schema = input_schema
        for language_field in LANGUAGE_FIELDS:
            position = schema.get_field_index(language_field.name)
            schema = schema.set(position, language_field) if position >= 0 else schema.append(language_field)
        return schema

    @staticmethod
    def rejected_schema(input_schema: pa.Schema) -> pa.Schema:
        """The schema of every rejects table for batches of `input_schema`: the input plus the reason columns."""
        return empty_rejects(input_schema).schema

    def process_batch(self, table: pa.Table) -> BatchResult:
        missing = missing_document_columns(table.schema)
        if missing:
            raise ValueError(f"clean stage input lacks document columns {missing}")
        texts = table.column("text").to_pylist()
        urls = table.column("url").to_pylist()
        cleaner = self.cleaner
        stats: Counter[str] = Counter()
        reasons: list[str | None] = []
        details: list[str | None] = []
        kept_documents: list[CleanedDocument] = []
        for outcome in cleaner.clean_batch([text or "" for text in texts], urls):
            stats.update(outcome.stats)
            if outcome.document is None:
                assert outcome.drop is not None
                reasons.append(outcome.drop.reason)
                details.append(outcome.drop.detail)
            else:
                reasons.append(None)
                details.append(None)
                kept_documents.append(outcome.document)
        result = split_by_reason(table, reasons, details)
        result.kept = self._with_cleaned_columns(result.kept, kept_documents)
        result.stats.update(stats)
        return result

    def _with_cleaned_columns(self, kept: pa.Table, documents: list[CleanedDocument]) -> pa.Table:
        schema = kept.schema
        text_index = schema.get_field_index("text")
        meta_index = schema.get_field_index("meta")
        metas = kept.column(meta_index).to_pylist()
        kept = kept.set_column(
            text_index,
            schema.field(text_index),
            pa.array([document.text for document in documents], schema.field(text_index).type),
        )
        kept = kept.set_column(
            meta_index,
            schema.field(meta_index),
            pa.array(
                [merged_meta(meta, document) for meta, document in zip(metas, documents, strict=True)],
                schema.field(meta_index).type,
            ),
        )
        languages = [document.language for document in documents]
        columns = {
            LANGUAGE_COLUMN: pa.array(
                [language.code if language else None for language in languages], pa.string()
            ),
            LANGUAGE_CONFIDENCE_COLUMN: pa.array(
                [language.confidence if language else None for language in languages], pa.float64()
            ),
        }
        for language_field in LANGUAGE_FIELDS:
            column = columns[language_field.name]
            position = kept.schema.get_field_index(language_field.name)
            if position >= 0:
                kept = kept.set_column(position, language_field, column)
            else:
                kept = kept.append_column(language_field, column)
        return kept
