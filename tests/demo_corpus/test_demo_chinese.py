"""The Chinese pages of `--languages en,zh`: real sentences, the same ground truth as English, dedup's units."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from demo_corpus import DemoCorpusConfig, DemoCorpusTruth, generate_demo_corpus, true_jaccard
from demo_corpus.chinese_sentences import SENTENCES_FILE, chinese_sentences, is_chinese_page
from demo_corpus.config import KIND_CLEAN, KIND_PII, MULTILINGUAL_KINDS
from demo_corpus.personal_data import passes_luhn
from demo_corpus.shingles import (
    CHARACTER_DOCUMENT_SHARE,
    CHARACTER_NGRAM,
    CHARACTER_TOKEN_RANGES,
    WORD_NGRAM,
    character_tokens,
    normalised_tokens,
)
from flows.cli import main
from stages.dedup.config import DedupConfig
from stages.dedup.minhash import CHARACTER_DOCUMENT_SHARE as DEDUP_CHARACTER_DOCUMENT_SHARE
from stages.dedup.normalise import CHARACTER_TOKEN_RANGES as DEDUP_CHARACTER_TOKEN_RANGES
from stages.dedup.normalise import character_token_count, normalised_tokens_of
from tests.demo_corpus.test_demo_corpus import directory_digest, read_documents

NUM_DOCS = 1200
SEED = 5
MAGIC_HTML = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "zh-crawl" / "magic-html"
HAN = re.compile(r"[\u4e00-\u9fff]")
SENTENCE = re.compile(r"[^。！？]+[。！？]+[”」』]?")

Corpus = tuple[Path, DemoCorpusTruth, dict[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    directory = tmp_path_factory.mktemp("demo-zh")
    config = DemoCorpusConfig(languages=("en", "zh"))
    truth = generate_demo_corpus(directory, NUM_DOCS, SEED, shard_docs=500, config=config)
    return directory, truth, read_documents(directory, truth)


def test_every_kind_comes_in_both_languages_and_copies_keep_their_originals(corpus: Corpus) -> None:
    _, truth, documents = corpus
    assert set(truth.languages) == set(truth.kinds)
    for doc_id, record in documents.items():
        assert record["meta"]["language"] == truth.languages[doc_id]
    counts = Counter((truth.kinds[doc_id], language) for doc_id, language in truth.languages.items())
    for kind in MULTILINGUAL_KINDS:
        assert counts[kind, "zh"] > 0 and counts[kind, "en"] > 0, kind
    multilingual = [doc_id for doc_id, kind in truth.kinds.items() if kind in MULTILINGUAL_KINDS]
    chinese_share = sum(truth.languages[doc_id] == "zh" for doc_id in multilingual) / len(multilingual)
    assert 0.4 < chinese_share < 0.6
    for cluster in truth.clusters:
        assert len({truth.languages[doc_id] for doc_id in cluster}) == 1, cluster
    for doc_id in truth.ids_of_language("zh"):
        assert HAN.search(documents[doc_id]["text"]) or truth.kinds[doc_id] == "short", doc_id


def test_good_chinese_pages_are_made_of_real_sentences(corpus: Corpus) -> None:
    """Every sentence of a good Chinese page is a sentence of the vendored pool, and its title a clause of one."""
    _, truth, documents = corpus
    pool = set(chinese_sentences())
    pool_text = "\n".join(pool)
    pages = truth.ids_of_language("zh", KIND_CLEAN)
    assert len(pages) > 300
    for doc_id in pages:
        title, *paragraphs = documents[doc_id]["text"].split("\n\n")
        assert title in pool_text and not title.endswith(("。", "！", "？"))
        assert 3 <= len(paragraphs) <= 6
        for paragraph in paragraphs:
            sentences = SENTENCE.findall(paragraph)
            assert "".join(sentences) == paragraph
            assert all(sentence in pool for sentence in sentences), paragraph
    lengths = [len(documents[doc_id]["text"]) for doc_id in pages]
    assert 400 <= sum(lengths) / len(lengths) <= 1200


def test_sentence_pool_is_real_text_with_its_provenance() -> None:
    with gzip.open(SENTENCES_FILE, "rt", encoding="utf-8") as lines:
        header = [line for line in lines if line.startswith("#")]
    assert any("opendatalab/magic-html" in line for line in header)
    assert any("Apache-2.0" in line for line in header)
    sentences = chinese_sentences()
    assert len(sentences) >= 1000 and len(set(sentences)) == len(sentences)
    assert all(len(HAN.findall(sentence)) >= 0.7 * len(sentence) for sentence in sentences)
    if not MAGIC_HTML.is_dir():
        pytest.skip(f"{MAGIC_HTML} is not on this machine: the sentences' source cannot be checked")
    pages = [
        page["content"]
        for name in ("article/base.json", "forum/base.json")
        for page in json.loads((MAGIC_HTML / name).read_text(encoding="utf-8")).values()
        if is_chinese_page(page["content"])
    ]
    source = "\n".join(pages)
    assert [sentence for sentence in sentences if sentence not in source] == []


def dedup_shingles(text: str) -> set[tuple[str, ...]]:
    """Shingles as dedup's own plain-Python reference defines them (normalise.py, minhash.py), at its defaults."""
    config = DedupConfig()
    tokens = normalised_tokens_of(text, simplified=config.chinese_script == "simplified")
    by_characters = character_token_count(tokens) >= DEDUP_CHARACTER_DOCUMENT_SHARE * len(tokens)
    width = config.character_ngram if by_characters else config.ngram
    if len(tokens) < width:
        return {tuple(tokens)}
    return {tuple(tokens[start : start + width]) for start in range(len(tokens) - width + 1)}


def test_the_demo_measures_chinese_in_dedups_units() -> None:
    assert CHARACTER_TOKEN_RANGES == DEDUP_CHARACTER_TOKEN_RANGES
    assert CHARACTER_DOCUMENT_SHARE == DEDUP_CHARACTER_DOCUMENT_SHARE
    assert (DedupConfig().ngram, DedupConfig().character_ngram) == (WORD_NGRAM, CHARACTER_NGRAM)
    texts = [
        "中国式现代化，是人口规模巨大的现代化。Ａｐｐｌｅ发布了iPhone 15手机，售价5999元！",
        "這是繁體中文的句子，與簡體的寫法不同。",  # traditional: hashed as simplified by default
        "東京は日本の首都です。カタカナ・ひらがな",  # kana and the katakana middle dot (a separator)
        "Mostly English text with one 中文 word in it.",
    ]
    for text in texts:
        tokens, _ = character_tokens(text)
        assert tokens == normalised_tokens_of(text, simplified=True), text
    assert true_jaccard("这是繁体中文的句子", "這是繁體中文的句子") == 1.0
    assert true_jaccard("一二三四五", "一二三四六") == pytest.approx(2 / 4)  # 3 trigrams each, 2 shared
    assert normalised_tokens("Plain English, as before!") == ["plain", "english", "as", "before"]


def test_recorded_chinese_jaccards_are_dedups_character_trigram_jaccards(corpus: Corpus) -> None:
    _, truth, documents = corpus
    chinese = [pair for pair in truth.duplicate_pairs if truth.languages[pair[0]] == "zh"]
    assert len(chinese) > 30
    for id_a, id_b, jaccard, how in chinese:
        text_a, text_b = documents[id_a]["text"], documents[id_b]["text"]
        assert true_jaccard(text_a, text_b) == jaccard
        shingles_a, shingles_b = dedup_shingles(text_a), dedup_shingles(text_b)
        assert {len(shingle) for shingle in shingles_a | shingles_b} == {CHARACTER_NGRAM}
        assert len(shingles_a & shingles_b) / len(shingles_a | shingles_b) == pytest.approx(jaccard)
        if how == "exact":
            assert text_a == text_b
        elif how == "normalised":
            assert text_a != text_b and jaccard == 1.0
        else:
            assert how == "near" and jaccard < 1.0


def test_chinese_near_duplicates_cover_the_jaccard_levels(corpus: Corpus) -> None:
    _, truth, _ = corpus
    originals = {cluster[0] for cluster in truth.clusters}
    reached = [
        jaccard
        for a, b, jaccard, how in truth.duplicate_pairs
        if how == "near" and (a in originals or b in originals) and truth.languages[a] == "zh"
    ]
    covered = [
        level
        for level in DemoCorpusConfig().near_duplicate_jaccards
        if any(abs(jaccard - level) <= 0.03 for jaccard in reached)
    ]
    assert len(covered) >= len(DemoCorpusConfig().near_duplicate_jaccards) - 1, (covered, sorted(reached))
    assert sum(jaccard >= 0.8 for jaccard in reached) >= 10


def test_normalised_chinese_copies_differ_only_in_form(corpus: Corpus) -> None:
    _, truth, documents = corpus
    pairs = [
        (documents[a]["text"], documents[b]["text"])
        for a, b, _, how in truth.duplicate_pairs
        if how == "normalised" and truth.languages[a] == "zh"
    ]
    assert pairs
    for text_a, text_b in pairs:
        assert normalised_tokens(text_a) == normalised_tokens(text_b)


def test_unrelated_chinese_pages_share_almost_no_shingles(corpus: Corpus) -> None:
    _, truth, documents = corpus
    in_clusters = {doc_id for cluster in truth.clusters for doc_id in cluster}
    pages = [
        doc_id for doc_id in truth.ids_of_language("zh", KIND_CLEAN, KIND_PII) if doc_id not in in_clusters
    ]
    values = [
        true_jaccard(documents[a]["text"], documents[b]["text"])
        for a, b in zip(pages[::2], pages[1::2], strict=False)
    ]
    assert max(values) < 0.1
    assert sum(values) / len(values) < 0.03


def id_number_is_valid(number: str) -> bool:
    """GB 11643-1999: the weighted sum of the 17 digits (weights 2^(17-i) mod 11) picks the check character."""
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(number[:17]))
    return "10X98765432"[total % 11] == number[17]


def test_chinese_personal_data_is_well_formed_and_where_it_was_put(corpus: Corpus) -> None:
    _, truth, documents = corpus
    chinese = [doc_id for doc_id in truth.pii if truth.languages[doc_id] == "zh"]
    assert set(chinese) == set(truth.ids_of_language("zh", KIND_PII))
    kinds: Counter[str] = Counter()
    for doc_id in chinese:
        for kind, value in truth.pii_values[doc_id]:
            kinds[kind] += 1
            assert value in documents[doc_id]["text"]
            digits = re.sub(r"[ +-]", "", value)
            if kind == "phone":
                assert re.fullmatch(r"(86)?1[3-9][0-9]{9}", digits), value
            elif kind == "id_number":
                assert re.fullmatch(r"[1-6][0-9]{16}[0-9X]", value) and id_number_is_valid(value), value
            elif kind == "credit_card":
                assert digits.startswith("62") and len(digits) in (16, 19) and passes_luhn(digits), value
            else:
                assert kind == "email" and "@" in value
    assert set(kinds) == {"phone", "id_number", "credit_card", "email"}, kinds


def test_default_corpus_stays_english(tmp_path: Path) -> None:
    default = generate_demo_corpus(tmp_path / "default", 200, 1)
    explicit = generate_demo_corpus(tmp_path / "explicit", 200, 1, config=DemoCorpusConfig(languages=("en",)))
    assert directory_digest(tmp_path / "default") == directory_digest(tmp_path / "explicit")
    assert set(default.languages.values()) <= {"en", "la", "fr", "de", "es"} and explicit == default
    texts = [record["text"] for record in read_documents(tmp_path / "default", default).values()]
    assert not any(HAN.search(text) for text in texts)


def test_chinese_only_and_bad_language_lists(tmp_path: Path) -> None:
    truth = generate_demo_corpus(tmp_path, 100, 2, config=DemoCorpusConfig(languages=("zh",)))
    multilingual = [doc_id for doc_id, kind in truth.kinds.items() if kind in MULTILINGUAL_KINDS]
    assert {truth.languages[doc_id] for doc_id in multilingual} == {"zh"}
    assert {truth.kinds[doc_id] for doc_id in truth.ids_of_language("zh")} <= set(MULTILINGUAL_KINDS)
    with pytest.raises(ValueError):
        DemoCorpusConfig(languages=("en", "fr"))
    with pytest.raises(ValueError):
        DemoCorpusConfig(languages=("zh", "zh"))
    with pytest.raises(ValueError):
        DemoCorpusConfig(languages=())


def test_cli_writes_a_bilingual_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-corpus", "--docs", "60", "--output", str(tmp_path / "c"), "--languages", "en,zh"]) == 0
    printed = capsys.readouterr().out
    assert "languages:" in printed and "zh " in printed
    truth = DemoCorpusTruth.load(tmp_path / "c")
    assert truth.config["languages"] == ["en", "zh"] and "zh" in truth.languages.values()
    assert main(["demo-corpus", "--docs", "10", "--output", str(tmp_path / "d"), "--languages", "en,xx"]) == 2
    assert "--languages" in capsys.readouterr().err
