"""What the demo corpus contains, written next to it as `_ground_truth.json` so stages can be scored against it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GROUND_TRUTH_FILE = "_ground_truth.json"  # leading underscore: ingest skips it in a directory


@dataclass
class DemoCorpusTruth:
    """Per document its kind and language; duplicate pairs with their true Jaccard; clusters; personal data.

    `duplicate_pairs` holds every pair inside a cluster (an original and the copies made from it) as
    `[id_a, id_b, jaccard, how]`, how being "exact" (same text), "normalised" (same normalised words) or "near".
    The Jaccard is in dedup's units (`demo_corpus.shingles.true_jaccard`): 5-word shingles, or character 3-grams
    for a page mostly in Han characters (Chinese, with `--languages en,zh`). `languages` maps each id to its
    page's language (`en`, `zh`, and `la`, `fr`, `de`, `es` for the pages of the drop kinds; empty in corpora
    written before it existed).
    `clusters` lists each original first, then its copies. Pages of the `expected_clean_drop_kinds` may resemble
    one another (boilerplate does, in any crawl) and are not paired: score dedup on the other kinds.
    """

    seed: int
    num_docs: int
    shards: list[str]
    kinds: dict[str, str]
    duplicate_pairs: list[tuple[str, str, float, str]]
    clusters: list[list[str]]
    pii: dict[str, list[str]]
    pii_values: dict[str, list[tuple[str, str]]]
    expected_clean_drop_kinds: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)

    def kind_counts(self) -> Counter[str]:
        return Counter(self.kinds.values())

    def ids_of_kind(self, *kinds: str) -> list[str]:
        wanted = set(kinds)
        return [doc_id for doc_id, kind in self.kinds.items() if kind in wanted]

    def ids_of_language(self, language: str, *kinds: str) -> list[str]:
        """Ids of the pages in `language` (of `kinds` only, when given)."""
        wanted = set(kinds)
        return [
            doc_id
            for doc_id, code in self.languages.items()
            if code == language and (not wanted or self.kinds[doc_id] in wanted)
        ]

    def pairs_at_least(self, jaccard: float) -> set[tuple[str, str]]:
        """Duplicate pairs (ids sorted) whose true Jaccard is at least `jaccard`: what dedup should find."""
        return {tuple(sorted((a, b))) for a, b, value, _ in self.duplicate_pairs if value >= jaccard}  # type: ignore[misc]

    def save(self, directory: Path) -> Path:
        path = directory / GROUND_TRUTH_FILE
        path.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> DemoCorpusTruth:
        path = directory if directory.is_file() else directory / GROUND_TRUTH_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        data["duplicate_pairs"] = [tuple(pair) for pair in data["duplicate_pairs"]]
        data["pii_values"] = {
            doc_id: [tuple(item) for item in items] for doc_id, items in data["pii_values"].items()
        }
        return cls(**data)
