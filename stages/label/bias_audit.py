"""The bias audit: how often identity groups are mentioned, and how often alongside toxic or negative words.

Per batch the stage counts, for each group, the documents mentioning it (`bias:CATEGORY:GROUP:docs`) and those
of them that also contain a toxic word (`...:toxic_docs`) or a negative-sentiment word (`...:negative_docs`),
plus the same three counts over all audited documents (`bias:all:...`). The runner adds batches up into the
manifest's `stats`; `bias_audit_table` turns them into rates and ratios to the dataset's overall rates, the
co-occurrence measure of the C4 documentation study (Dodge et al. 2021). A ratio well above 1 says the data
speaks about that group in toxic or negative terms more often than about anyone: the data-bias signal.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from stages.core.manifest import Manifest
from stages.label.document_words import DocumentWords, WordLookup
from stages.label.identity_terms import IDENTITY_GROUPS, IDENTITY_TERMS

BIAS_PREFIX = "bias"
ALL_DOCUMENTS = "all"
COUNTS = ("docs", "toxic_docs", "negative_docs")


def bias_key(category: str, group: str | None, count: str) -> str:
    """`bias:religion:muslim:docs`, or `bias:all:docs` for the totals (group None)."""
    if group is None:
        return f"{BIAS_PREFIX}:{category}:{count}"
    return f"{BIAS_PREFIX}:{category}:{group}:{count}"


class IdentityTermAudit:
    def __init__(self) -> None:
        self.lookup = WordLookup(
            {
                term: index
                for index, (category, group) in enumerate(IDENTITY_GROUPS)
                for term in IDENTITY_TERMS[category][group]
            }
        )

    def mentions(self, words: DocumentWords) -> np.ndarray:
        """Boolean (documents × groups): whether each document mentions each group."""
        groups = self.lookup.find(words.hashes)
        found = groups >= 0
        present = np.zeros((words.num_docs, len(IDENTITY_GROUPS)), dtype=bool)
        present[words.document_of[found], groups[found]] = True
        return present

    @staticmethod
    def counts(mentions: np.ndarray, toxic: np.ndarray, negative: np.ndarray) -> Counter[str]:
        """The audit's counters for the documents in `mentions` (rows), `toxic` and `negative` (per row)."""
        stats: Counter[str] = Counter(
            {
                bias_key(ALL_DOCUMENTS, None, "docs"): len(mentions),
                bias_key(ALL_DOCUMENTS, None, "toxic_docs"): int(toxic.sum()),
                bias_key(ALL_DOCUMENTS, None, "negative_docs"): int(negative.sum()),
            }
        )
        per_group = {
            "docs": mentions.sum(axis=0),
            "toxic_docs": (mentions & toxic[:, None]).sum(axis=0),
            "negative_docs": (mentions & negative[:, None]).sum(axis=0),
        }
        for count, values in per_group.items():
            for (category, group), value in zip(IDENTITY_GROUPS, values.tolist(), strict=True):
                if value:
                    stats[bias_key(category, group, count)] = value
        return stats


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def bias_audit_table(manifest: Manifest) -> list[dict[str, Any]]:
    """One row per identity group: documents, share of all documents, toxic and negative co-occurrence
    rates, and each rate's ratio to the dataset's overall rate (None where a rate is undefined)."""
    stats = manifest.stats
    total = stats.get(bias_key(ALL_DOCUMENTS, None, "docs"), 0.0)
    overall_toxic = _rate(stats.get(bias_key(ALL_DOCUMENTS, None, "toxic_docs"), 0.0), total)
    overall_negative = _rate(stats.get(bias_key(ALL_DOCUMENTS, None, "negative_docs"), 0.0), total)
    rows = []
    for category, group in IDENTITY_GROUPS:
        docs = stats.get(bias_key(category, group, "docs"), 0.0)
        toxic_rate = _rate(stats.get(bias_key(category, group, "toxic_docs"), 0.0), docs)
        negative_rate = _rate(stats.get(bias_key(category, group, "negative_docs"), 0.0), docs)
        rows.append(
            {
                "category": category,
                "group": group,
                "docs": int(docs),
                "share": _rate(docs, total),
                "toxic_rate": toxic_rate,
                "negative_rate": negative_rate,
                "toxic_ratio": None
                if toxic_rate is None or not overall_toxic
                else toxic_rate / overall_toxic,
                "negative_ratio": None
                if negative_rate is None or not overall_negative
                else negative_rate / overall_negative,
            }
        )
    return rows
