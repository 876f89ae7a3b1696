"""The demo corpus: deterministic bytes, the configured mix, a ground truth that matches the written texts."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from demo_corpus import (
    DemoCorpusConfig,
    DemoCorpusTruth,
    demo_corpus_command,
    generate_demo_corpus,
    true_jaccard,
)
from demo_corpus.config import DROP_KINDS, KIND_CLEAN, KIND_NEAR, KIND_PII
from demo_corpus.personal_data import passes_luhn
from stages.clean.config import LanguageConfig
from stages.clean.language_id import LanguageIdentifier

NUM_DOCS = 2000
SEED = 11
REPO_ROOT = Path(__file__).resolve().parents[2]


def read_documents(directory: Path, truth: DemoCorpusTruth) -> dict[str, dict[str, Any]]:
    documents = {}
    for shard in truth.shards:
        with open(directory / shard, encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                documents[record["id"]] = record
    return documents


def directory_digest(directory: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, DemoCorpusTruth, dict[str, dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("demo")
    started = time.perf_counter()
    truth = generate_demo_corpus(directory, NUM_DOCS, SEED, shard_docs=700)
    elapsed = time.perf_counter() - started
    print(f"\n{NUM_DOCS} demo documents in {elapsed:.2f} s ({NUM_DOCS / elapsed:,.0f} docs/s)")
    return directory, truth, read_documents(directory, truth)


def test_same_seed_gives_the_same_bytes_in_another_process(corpus, tmp_path: Path) -> None:
    directory, _, _ = corpus
    script = (
        "import sys; from pathlib import Path; from demo_corpus import generate_demo_corpus; "
        f"generate_demo_corpus(Path(sys.argv[1]), {NUM_DOCS}, {SEED}, shard_docs=700)"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=REPO_ROOT, env=environment)
    assert directory_digest(tmp_path) == directory_digest(directory)


def test_shard_size_only_splits_the_same_lines(corpus, tmp_path: Path) -> None:
    directory, truth, _ = corpus
    resharded = generate_demo_corpus(tmp_path, NUM_DOCS, SEED, shard_docs=NUM_DOCS)
    assert resharded.shards == ["docs-00000.jsonl"]
    lines = b"".join((directory / shard).read_bytes() for shard in truth.shards)
    assert (tmp_path / "docs-00000.jsonl").read_bytes() == lines
    assert [len((directory / s).read_text().splitlines()) for s in truth.shards] == [700, 700, 600]


def test_another_seed_gives_other_documents(corpus, tmp_path: Path) -> None:
    _, _, documents = corpus
    other = generate_demo_corpus(tmp_path, 50, SEED + 1)
    other_texts = {record["text"] for record in read_documents(tmp_path, other).values()}
    assert len(other_texts & {record["text"] for record in documents.values()}) <= 1  # maybe one empty page


def test_records_have_the_documented_fields(corpus) -> None:
    _, truth, documents = corpus
    assert len(documents) == NUM_DOCS == truth.num_docs
    assert list(documents) == list(truth.kinds)
    assert len({record["url"] for record in documents.values()}) == NUM_DOCS
    for doc_id, record in documents.items():
        assert set(record) == {"id", "text", "url", "meta"}
        assert record["url"].startswith(("http://", "https://"))
        assert record["meta"]["kind"] == truth.kinds[doc_id]
        assert set(record["meta"]) == {"kind", "topic", "style", "language"}


def test_kind_counts_follow_the_config(corpus) -> None:
    _, truth, _ = corpus
    expected = DemoCorpusConfig().kind_counts(NUM_DOCS)
    assert truth.kind_counts() == Counter({kind: count for kind, count in expected.items() if count})
    assert expected[KIND_CLEAN] == NUM_DOCS * 0.7
    assert set(truth.expected_clean_drop_kinds) == set(DROP_KINDS)


def test_a_custom_config_changes_the_mix(tmp_path: Path) -> None:
    config = DemoCorpusConfig(spam_share=0.2, near_duplicate_share=0.0, syndicated_share=0.0)
    truth = generate_demo_corpus(tmp_path, 300, 0, config=config)
    assert truth.kind_counts()["spam"] == 60
    assert KIND_NEAR not in truth.kind_counts()
    assert truth.config["spam_share"] == 0.2


def test_impossible_configs_are_refused() -> None:
    with pytest.raises(ValueError):
        DemoCorpusConfig(spam_share=0.5, near_duplicate_share=0.3)
    with pytest.raises(ValueError):
        DemoCorpusConfig(near_duplicate_jaccards=(1.0,))
    with pytest.raises(ValueError):
        DemoCorpusConfig(unknown_share=0.1)  # type: ignore[call-arg]


def test_every_recorded_jaccard_is_the_true_jaccard_of_the_written_texts(corpus) -> None:
    _, truth, documents = corpus
    assert truth.duplicate_pairs
    for id_a, id_b, jaccard, how in truth.duplicate_pairs:
        text_a, text_b = documents[id_a]["text"], documents[id_b]["text"]
        assert id_a < id_b
        assert true_jaccard(text_a, text_b) == jaccard
        if how == "exact":
            assert text_a == text_b
        elif how == "normalised":
            assert text_a != text_b and jaccard == 1.0
        else:
            assert how == "near" and jaccard < 1.0


def test_clusters_hold_an_original_and_its_copies(corpus) -> None:
    _, truth, _ = corpus
    members = [doc_id for cluster in truth.clusters for doc_id in cluster]
    assert len(members) == len(set(members)), "a document belongs to at most one cluster"
    derived = {doc_id for doc_id, kind in truth.kinds.items() if kind.endswith("_duplicate")}
    assert {doc_id for cluster in truth.clusters for doc_id in cluster[1:]} == derived
    assert all(truth.kinds[cluster[0]] == KIND_CLEAN for cluster in truth.clusters)
    pairs = {(a, b) for a, b, _, _ in truth.duplicate_pairs}
    for cluster in truth.clusters:
        assert {tuple(sorted(pair)) for pair in itertools.combinations(cluster, 2)} <= pairs
    syndicated = [cluster for cluster in truth.clusters if len(cluster) > 2]
    assert syndicated and all(4 <= len(cluster) <= 6 for cluster in syndicated)


def test_near_duplicates_cover_every_jaccard_level(corpus) -> None:
    _, truth, _ = corpus
    originals = {cluster[0] for cluster in truth.clusters}
    reached = [
        jaccard
        for a, b, jaccard, how in truth.duplicate_pairs
        if how == "near" and (a in originals or b in originals)
    ]
    for level in DemoCorpusConfig().near_duplicate_jaccards:
        assert sum(abs(jaccard - level) <= 0.03 for jaccard in reached) >= 3, level


def test_unrelated_clean_documents_share_almost_no_shingles(corpus) -> None:
    _, truth, documents = corpus
    in_clusters = {doc_id for cluster in truth.clusters for doc_id in cluster}
    clean = [doc_id for doc_id in truth.ids_of_kind(KIND_CLEAN, KIND_PII) if doc_id not in in_clusters]
    rng = random.Random(0)
    values = [
        true_jaccard(documents[a]["text"], documents[b]["text"])
        for a, b in (rng.sample(clean, 2) for _ in range(200))
    ]
    assert max(values) < 0.05
    assert sum(values) / len(values) < 0.005


# NLTK's English stop-word list: about 45% of the words of typical English prose.
STOP_WORD_TEXT = (
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself "
    "it its itself they them their theirs themselves what which who whom this that these those am is are was were be "
    "been being have has had having do does did doing a an the and but if or because as until while of at by for "
    "with about against between into through during before after above below to from up down in out on off over "
    "under again further then once here there when where why how all any both each few more most other some such no "
    "nor not only own same so than too very can will just don should now"
)
STOP_WORDS = frozenset(STOP_WORD_TEXT.split())


def english_statistics(text: str) -> tuple[int, float, float]:
    words = re.findall(r"[A-Za-z']+", text)
    stop_share = sum(word.lower() in STOP_WORDS for word in words) / len(words)
    return len(text.split()), stop_share, sum(map(len, words)) / len(words)


def test_clean_documents_read_like_english(corpus) -> None:
    _, truth, documents = corpus
    lengths: list[int] = []
    stop_shares: list[float] = []
    word_lengths: list[float] = []
    for doc_id in truth.ids_of_kind(KIND_CLEAN):
        text = documents[doc_id]["text"]
        words, stop_share, mean_word_length = english_statistics(text)
        assert 150 <= words <= 1200, doc_id
        assert stop_share >= 0.3, doc_id
        assert 3.9 <= mean_word_length <= 6.0, doc_id
        stop_shares.append(stop_share)
        word_lengths.append(mean_word_length)
        title, *paragraphs = text.split("\n\n")
        assert len(paragraphs) >= 3 and (title[0].isupper() or title[0].isdigit()) and not title.endswith(".")
        for paragraph in paragraphs:
            if len(paragraph.split()) >= 12:  # prose, not a byline or a price line
                first = paragraph.lstrip('"')[0]
                assert first.isupper() or first.isdigit(), paragraph
                assert paragraph.endswith((".", "!", "?")), paragraph
        lengths.append(words)
    assert 420 <= sum(lengths) / len(lengths) <= 600
    assert sum(stop_shares) / len(stop_shares) >= 0.4
    assert 4.3 <= sum(word_lengths) / len(word_lengths) <= 5.0
    styles = Counter(documents[doc_id]["meta"]["style"] for doc_id in truth.ids_of_kind(KIND_CLEAN))
    assert set(styles) == {"blog", "news", "forum", "product"}


def repetition(text: str) -> tuple[float, float, float]:
    """Gopher-style: duplicated-line share, top 2-gram character share, duplicated 5-gram character share."""
    lines = [line for line in text.split("\n") if line.strip()]
    duplicated_lines = 1 - len(set(lines)) / len(lines)
    words = text.split()
    characters = sum(map(len, words))
    bigrams = Counter(itertools.pairwise(words))
    (top, count), *_ = bigrams.most_common(1)
    top_share = count * (len(top[0]) + len(top[1])) / characters
    fivegrams = [tuple(words[i : i + 5]) for i in range(len(words) - 4)]
    counts = Counter(fivegrams)
    covered = [False] * len(words)
    for index, gram in enumerate(fivegrams):
        if counts[gram] > 1:
            covered[index : index + 5] = [True] * 5
    return (
        duplicated_lines,
        top_share,
        sum(len(w) for w, c in zip(words, covered, strict=True) if c) / characters,
    )


def test_clean_documents_pass_repetition_filters_and_spam_fails_them(corpus) -> None:
    _, truth, documents = corpus
    for doc_id in truth.ids_of_kind(KIND_CLEAN, KIND_PII):
        duplicated_lines, top_bigram, duplicated_fivegrams = repetition(documents[doc_id]["text"])
        assert duplicated_lines == 0 and top_bigram < 0.1 and duplicated_fivegrams < 0.15, doc_id
    for doc_id in truth.ids_of_kind("spam"):
        duplicated_lines, top_bigram, duplicated_fivegrams = repetition(documents[doc_id]["text"])
        assert duplicated_lines > 0.3 or top_bigram > 0.2 or duplicated_fivegrams > 0.15, doc_id


def test_junk_pages_look_like_their_kind(corpus) -> None:
    _, truth, documents = corpus
    for doc_id in truth.ids_of_kind("short"):
        assert len(documents[doc_id]["text"].split()) < 50
    for doc_id in truth.ids_of_kind("lorem"):
        assert "lorem ipsum" in documents[doc_id]["text"].lower()
    for doc_id in truth.ids_of_kind("boilerplate"):
        lines = [line for line in documents[doc_id]["text"].split("\n") if line.strip()]
        assert len(documents[doc_id]["text"].split()) >= 50
        assert sum(len(line) <= 30 for line in lines) / len(lines) >= 0.75  # FineWeb drops >= 0.67
        assert sum(line.endswith((".", "!", "?")) for line in lines) / len(lines) < 0.5
    for doc_id in truth.ids_of_kind("non_english"):
        words, stop_share, _ = english_statistics(documents[doc_id]["text"])
        assert words >= 100 and stop_share < 0.1, doc_id


def test_language_identification_agrees_with_the_kinds(corpus) -> None:
    """The clean stage's own identifier, default settings: every foreign page named and dropped, no good page lost
    (issue targets: >= 95 % of non-English dropped, <= 2 % of good documents dropped)."""
    _, truth, documents = corpus
    identifier = LanguageIdentifier(LanguageConfig())
    foreign = truth.ids_of_kind("non_english")
    for doc_id in foreign:
        detected = identifier.detect(documents[doc_id]["text"])
        assert detected.code == documents[doc_id]["meta"]["language"], (doc_id, detected)
    dropped_foreign = sum(
        identifier.check(identifier.detect(documents[i]["text"])) is not None for i in foreign
    )
    assert dropped_foreign / len(foreign) >= 0.95
    good = [doc_id for doc_id in documents if truth.kinds[doc_id] not in DROP_KINDS]
    dropped_good = [i for i in good if identifier.check(identifier.detect(documents[i]["text"])) is not None]
    assert len(dropped_good) / len(good) <= 0.02, dropped_good[:10]


def test_personal_data_is_recorded_where_it_was_put(corpus) -> None:
    _, truth, documents = corpus
    assert set(truth.pii) == set(truth.ids_of_kind(KIND_PII))
    patterns = {
        "email": r"[\w.+-]+@[\w-]+(\.[\w-]+)+",
        "phone": r"\+?[\d ()-]{10,}",
        "ip_address": r"(\d{1,3}\.){3}\d{1,3}",
        "credit_card": r"[\d -]{15,19}",
        "aws_key": r"AKIA[A-Z2-7]{16}",
    }
    for doc_id, kinds in truth.pii.items():
        assert kinds == [kind for kind, _ in truth.pii_values[doc_id]]
        for kind, value in truth.pii_values[doc_id]:
            assert value in documents[doc_id]["text"]
            assert re.fullmatch(patterns[kind], value), (kind, value)
            if kind == "credit_card":
                assert passes_luhn(value)
    for doc_id in truth.ids_of_kind(KIND_CLEAN):
        assert "@" not in documents[doc_id]["text"] and "AKIA" not in documents[doc_id]["text"]


def test_ground_truth_file_round_trips(corpus) -> None:
    directory, truth, _ = corpus
    assert DemoCorpusTruth.load(directory) == truth
    assert truth.pairs_at_least(1.0) >= {(a, b) for a, b, _, how in truth.duplicate_pairs if how == "exact"}


def test_demo_corpus_command_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo_corpus_command(docs=120, output=tmp_path / "corpus", seed=3)
    printed = capsys.readouterr().out
    assert "wrote 120 documents" in printed and "clean" in printed
    assert (tmp_path / "corpus" / "_ground_truth.json").exists()
    assert (tmp_path / "corpus" / "docs-00000.jsonl").exists()


@pytest.mark.parametrize("num_docs", [1, 7, 40])
def test_tiny_corpora_are_complete(tmp_path: Path, num_docs: int) -> None:
    truth = generate_demo_corpus(tmp_path, num_docs, 5, shard_docs=3)
    documents = read_documents(tmp_path, truth)
    assert len(documents) == num_docs == sum(truth.kind_counts().values())
    assert len(truth.shards) == -(-num_docs // 3)
    for id_a, id_b, jaccard, _ in truth.duplicate_pairs:
        assert true_jaccard(documents[id_a]["text"], documents[id_b]["text"]) == jaccard


def test_rerunning_into_a_directory_replaces_the_old_corpus(tmp_path: Path) -> None:
    generate_demo_corpus(tmp_path, 30, 0, shard_docs=5)
    truth = generate_demo_corpus(tmp_path, 10, 0, shard_docs=5)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "_ground_truth.json",
        "docs-00000.jsonl",
        "docs-00001.jsonl",
    ]
    assert len(read_documents(tmp_path, truth)) == 10
