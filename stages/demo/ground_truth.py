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
    """Per document its kind; duplicate pairs with their true 5-word-shingle Jaccard; clusters; personal data.

    `duplicate_pairs` holds every pair inside a cluster (an original and the copies made from it) as
    `[id_a, id_b, jaccard, how]`, how being "exact" (same text), "normalised" (same normalised words) or "near".
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

    def kind_counts(self) -> Counter[str]:
        return Counter(self.kinds.values())

    def ids_of_kind(self, *kinds: str) -> list[str]:
        wanted = set(kinds)
        return [doc_id for doc_id, kind in self.kinds.items() if kind in wanted]

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
