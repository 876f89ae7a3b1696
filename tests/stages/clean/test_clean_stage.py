"""CleanStage on Arrow batches: counts add up, schemas stay fixed, meta is merged, reasons are named."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable

import pyarrow as pa
import pytest

from stages.clean import CleanConfig, CleanStage
from stages.clean.stage import LANGUAGE_COLUMN, LANGUAGE_CONFIDENCE_COLUMN
from stages.core.schema import DOCUMENT_SCHEMA
from stages.core.stage import REASON_COLUMN, REASON_DETAIL_COLUMN, BatchResult

TableBuilder = Callable[..., pa.Table]

FRENCH = (
    "La vieille ville portuaire se trouve à l'embouchure d'une rivière lente. Pendant la plus grande partie de "
    "son histoire, les marées décidaient du moment où les gens travaillaient et se reposaient. Les bateaux de "
    "pêche partaient avant l'aube et revenaient avec la lumière de l'après-midi, tandis que le marché près du "
    "quai n'ouvrait que lorsque les premières caisses étaient portées à terre."
)
GERMAN = (
    "Die alte Hafenstadt liegt an der Mündung eines langsamen Flusses. Die meiste Zeit ihrer Geschichte "
    "bestimmten die Gezeiten, wann die Menschen arbeiteten und wann sie sich ausruhten. Die Fischerboote fuhren "
    "vor der Morgendämmerung hinaus und kamen mit dem Nachmittagslicht zurück, und der Markt am Kai öffnete erst, "
    "wenn die ersten Kisten an Land getragen wurden."
)


@pytest.fixture(scope="module")
def stage() -> CleanStage:
    return CleanStage(CleanConfig())


def assert_consistent(result: BatchResult, rows_in: int) -> None:
    assert result.kept.num_rows + result.rejected.num_rows == rows_in
    assert result.kept.schema == CleanStage.kept_schema(DOCUMENT_SCHEMA)
    assert result.rejected.schema == CleanStage.rejected_schema(DOCUMENT_SCHEMA)


def test_mixed_batch(stage: CleanStage, english_prose: str, documents_table: TableBuilder) -> None:
    texts = [
        english_prose,
        FRENCH,
        GERMAN,
        "The old harbour town sits at the mouth of a slow river, and the tides decided when people worked.",
        english_prose.replace("flats, shops", "fl\u00c3\u00a2ts, shops")
        + "\nContact: jane@example.org today.",
        english_prose,
    ]
    urls = [None, None, None, None, None, "https://www.pornhub.com/x"]
    result = stage.process_batch(documents_table(texts, urls=urls))
    assert_consistent(result, len(texts))
    assert result.kept.column("id").to_pylist() == ["doc-0", "doc-4"]
    reasons = dict(
        zip(
            result.rejected.column("id").to_pylist(),
            result.rejected.column(REASON_COLUMN).to_pylist(),
            strict=True,
        )
    )
    assert reasons == {
        "doc-1": "language:not_allowed",
        "doc-2": "language:not_allowed",
        "doc-3": "gopher_quality:too_few_words",
        "doc-5": "blocklist:domain",
    }
    assert all(result.rejected.column(REASON_DETAIL_COLUMN).to_pylist())
    assert result.dropped_by_reason["language:not_allowed"] == 2
    assert result.stats["pii:email"] == 1


def test_kept_rows_have_cleaned_text_and_merged_meta(
    stage: CleanStage, english_prose: str, documents_table: TableBuilder
) -> None:
    text = (
        "  "
        + english_prose.replace("museum", "muse\u0301um")
        + "\nWrite to jane@example.org or call 415-555-0132."
    )
    meta = json.dumps({"crawl": "CC-MAIN-2024", "pii": "old", "nested": {"a": 1}})
    result = stage.process_batch(documents_table([text], metas=[meta]))
    row = result.kept.to_pylist()[0]
    assert row["text"].startswith("The old harbour town")
    assert "mus\u00e9um" in row["text"]
    assert row["text"].endswith("Write to <EMAIL> or call <PHONE>.")
    merged = json.loads(row["meta"])
    assert merged["crawl"] == "CC-MAIN-2024"
    assert merged["nested"] == {"a": 1}
    assert merged["language"] == "en"
    assert merged["language_confidence"] > 0.9
    assert merged["pii"] == {"email": 1, "phone": 1}
    assert row[LANGUAGE_COLUMN] == "en"
    assert row[LANGUAGE_CONFIDENCE_COLUMN] > 0.9


def test_rejected_rows_keep_the_input_unchanged(stage: CleanStage, documents_table: TableBuilder) -> None:
    text = "The old  harbour town sits at the mouth of a slow river, and the cafÃ© opened when\x00 boats came in."
    result = stage.process_batch(documents_table([text], metas=['{"k": 1}']))
    rejected = result.rejected.to_pylist()[0]
    assert rejected["text"] == text
    assert rejected["meta"] == '{"k": 1}'
    assert rejected[REASON_COLUMN] == "gopher_quality:too_few_words"
    assert rejected[REASON_DETAIL_COLUMN] == "word_count=20 < 50"


def test_meta_that_is_not_an_object_is_preserved(
    stage: CleanStage, english_prose: str, documents_table: TableBuilder
) -> None:
    result = stage.process_batch(documents_table([english_prose] * 3, metas=[None, "[1, 2]", "not json"]))
    metas = [json.loads(meta) for meta in result.kept.column("meta").to_pylist()]
    assert metas[0]["language"] == "en" and "original_meta" not in metas[0]
    assert metas[1]["original_meta"] == [1, 2]
    assert metas[2]["original_meta"] == "not json"


def test_empty_batch_has_the_same_schemas(stage: CleanStage, documents_table: TableBuilder) -> None:
    result = stage.process_batch(documents_table([]))
    assert_consistent(result, 0)
    assert result.stats == {}


def test_batch_where_everything_is_dropped(stage: CleanStage, documents_table: TableBuilder) -> None:
    result = stage.process_batch(documents_table(["short", FRENCH, "lorem"]))
    assert_consistent(result, 3)
    assert result.kept.num_rows == 0


def test_schemas_agree_across_batches(
    stage: CleanStage, english_prose: str, documents_table: TableBuilder
) -> None:
    all_kept = stage.process_batch(documents_table([english_prose]))
    all_dropped = stage.process_batch(documents_table(["short"]))
    assert all_kept.kept.schema == all_dropped.kept.schema
    assert all_kept.rejected.schema == all_dropped.rejected.schema


def test_disabled_rule_does_not_fire(english_prose: str, documents_table: TableBuilder) -> None:
    config = CleanConfig.model_validate({"language": {"enabled": False}, "blocklist": {"enabled": False}})
    result = CleanStage(config).process_batch(
        documents_table([FRENCH + "\n" + GERMAN + "\n" + english_prose], urls=["https://pornhub.com/"])
    )
    assert result.rejected.num_rows == 0
    assert result.kept.column(LANGUAGE_COLUMN).to_pylist() == [None]
    assert json.loads(result.kept.column("meta")[0].as_py())["language"] is None


def test_line_removals_are_counted(
    stage: CleanStage, english_prose: str, documents_table: TableBuilder
) -> None:
    text = (
        "Home | Shop | Blog\n" + english_prose + "\nPlease enable JavaScript to see the map of the harbour."
    )
    result = stage.process_batch(documents_table([text]))
    prose_lines = "\n".join(line for line in english_prose.strip().splitlines() if line)
    assert result.kept.column("text")[0].as_py() == prose_lines
    assert result.stats["c4:lines_removed"] == 2
    assert result.stats["c4:lines_removed:javascript"] == 1


def test_stage_pickles_without_its_cleaner(
    stage: CleanStage, english_prose: str, documents_table: TableBuilder
) -> None:
    stage.process_batch(documents_table([english_prose]))
    clone = pickle.loads(pickle.dumps(stage))
    assert "cleaner" not in clone.__dict__
    assert clone.config == stage.config
    assert clone.process_batch(documents_table([english_prose])).kept.num_rows == 1


def test_missing_document_columns_are_an_error(stage: CleanStage) -> None:
    with pytest.raises(ValueError, match="url"):
        stage.process_batch(pa.table({"id": ["a"], "text": ["b"]}))


def test_a_batch_is_cleaned_as_its_documents_are_one_by_one(english_prose: str) -> None:
    """`clean_batch` runs normalisation and language id for the whole batch first: the outcomes must not change."""
    cleaner = CleanStage(CleanConfig(languages={"zh": {"c4": {"min_sentences": 1}}})).cleaner
    texts = [
        english_prose,
        FRENCH,
        GERMAN,
        "",
        "Buy now!!! " * 40,
        english_prose.replace("river", "rivér").replace(".", ".\u00a0 Ã©"),
        "新华社上海11月30日电 习近平30日上午在上海主持召开座谈会并发表重要讲话。他强调，要进一步提升创新能力。"
        * 3,
        english_prose + "\nContact me at jane.doe@example.org or 555-123-4567.",
    ]
    urls = [None, None, None, None, "https://casino.example.xyz/", None, None, "https://example.org/a"]
    batch = cleaner.clean_batch(texts, urls)
    assert batch == [cleaner.clean(text, url) for text, url in zip(texts, urls, strict=True)]
    assert {outcome.document is None for outcome in batch} == {True, False}
