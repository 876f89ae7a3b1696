"""Scoring a dedup result against the demo corpus's ground truth (and, for recall only, any known pairs).

Recall: of the known pairs with true Jaccard ≥ `recall_jaccard` whose two documents both reached dedup, the
fraction where at most one survives. Precision: of the removed documents, the fraction whose kept partner
(`duplicate_of`) has a true Jaccard ≥ `precision_jaccard` with them — measured on the texts themselves, so it
needs no ground truth and also scores dedup on real text.
"""

from __future__ import annotations

from dataclasses import dataclass

from demo_corpus.shingles import true_jaccard


@dataclass(frozen=True)
class DedupScore:
    recall: float
    precision: float
    pairs_scored: int
    removed_scored: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "pairs_scored": self.pairs_scored,
            "removed_scored": self.removed_scored,
        }


def pair_recall(pairs: set[tuple[str, str]], input_ids: set[str], kept_ids: set[str]) -> tuple[float, int]:
    scored = [(a, b) for a, b in pairs if a in input_ids and b in input_ids]
    if not scored:
        return 1.0, 0
    found = sum(1 for a, b in scored if not (a in kept_ids and b in kept_ids))
    return found / len(scored), len(scored)


def removal_precision(
    removed_to_kept: dict[str, str], texts: dict[str, str], precision_jaccard: float = 0.6
) -> tuple[float, int]:
    if not removed_to_kept:
        return 1.0, 0
    correct = sum(
        1
        for removed, kept in removed_to_kept.items()
        if true_jaccard(texts[removed], texts[kept]) >= precision_jaccard
    )
    return correct / len(removed_to_kept), len(removed_to_kept)


def score_dedup(
    pairs: set[tuple[str, str]],
    texts: dict[str, str],
    kept_ids: set[str],
    removed_to_kept: dict[str, str],
    precision_jaccard: float = 0.6,
) -> DedupScore:
    """`texts`: every document that entered dedup; `removed_to_kept`: each dropped id → the id it duplicates."""
    recall, pairs_scored = pair_recall(pairs, set(texts), kept_ids)
    precision, removed_scored = removal_precision(removed_to_kept, texts, precision_jaccard)
    return DedupScore(recall, precision, pairs_scored, removed_scored)
