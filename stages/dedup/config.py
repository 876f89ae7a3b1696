"""Dedup settings. Bands × rows come from the threshold with datasketch's optimal-parameter maths.

Documents written mostly in Han or kana are shingled by characters (`character_ngram`) and judged against their
own threshold (`character_threshold`), with their own LSH bands: a Jaccard over character 3-grams is not on the
same scale as one over word 5-grams, and the two kinds of document never share shingles, so they never meet in a
band anyway. The defaults come from benchmarks/dedup_chinese.py (4,130 pairs of real Chinese pages and edited
copies): with 3-grams at 0.7, recall was at least 0.995 for every edit kind (1-3% of characters replaced,
punctuation width, an appended sentence, traditional script) and precision 0.987, every wrong removal a page of
a spam template whose keyword differs (3-gram Jaccard 0.59-0.72). At 0.8, 3-grams found only 90% of the copies
with 3% of characters replaced; 5-grams, even at 0.7, 93%; 2-grams cost precision. Word documents keep 5-grams
at 0.8, unchanged. Japanese (kanji and kana) gets the same character shingles: on 12 real Japanese messages of
Debian's catalogues with 3% of their characters replaced, the 3-gram Jaccard was 0.83 or more (mean 0.85), the
word 5-gram one 0.35 on average and as low as 0.13 (tests/stages/text/test_japanese.py finds every copy at the
defaults).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from stages.core.stage import StageConfig


class DedupConfig(StageConfig):
    threshold: float = Field(
        0.8, gt=0, lt=1, description="Jaccard similarity above which docs are duplicates"
    )
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    ngram: int = Field(5, ge=1, le=32, description="word n-gram shingle size")
    seed: int = Field(1, description="permutation seed (datasketch's MinHash default is 1)")
    false_positive_weight: float = Field(
        0.02,
        ge=0,
        le=1,
        description="weight of false positives in datasketch's band/row optimisation; low favours recall, "
        "candidates being verified afterwards",
    )
    bands: int | None = Field(None, ge=1, description="override the optimised number of bands")
    rows: int | None = Field(None, ge=1, description="override the optimised rows per band")
    verify_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="minimum signature-estimated Jaccard for a candidate pair to be linked "
        "(default: threshold - 0.1; 0 links every candidate)",
    )
    exact: bool = Field(True, description="link documents whose normalised text is identical")
    near: bool = Field(True, description="link documents by MinHash LSH")
    partitions: int = Field(16, ge=1, description="hash partitions of the band-key shuffle")
    character_ngram: int = Field(
        3,
        ge=1,
        le=32,
        description="shingle size, in characters, for documents mostly in Han or kana (written without spaces)",
    )
    character_threshold: float = Field(
        0.7, gt=0, lt=1, description="Jaccard similarity above which character-shingled docs are duplicates"
    )
    character_verify_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="minimum estimated Jaccard to link two character-shingled docs "
        "(default: character_threshold - 0.1)",
    )
    chinese_script: Literal["simplified", "as_written"] = Field(
        "simplified",
        description="'simplified': hash traditional Han characters as their simplified forms, so the same text "
        "in either script is a duplicate (the text itself is not changed); 'as_written': keep scripts apart",
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("set both bands and rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows={self.bands * self.rows} exceeds num_perm={self.num_perm}")
        return self

    @cached_property
    def band_layout(self) -> tuple[int, int]:
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from datasketch.lsh import _optimal_param

        return _optimal_param(
            self.threshold, self.num_perm, self.false_positive_weight, 1 - self.false_positive_weight
        )

    @cached_property
    def character_band_layout(self) -> tuple[int, int]:
        from datasketch.lsh import _optimal_param

        return _optimal_param(
            self.character_threshold,
            self.num_perm,
            self.false_positive_weight,
            1 - self.false_positive_weight,
        )

    @property
    def effective_verify_threshold(self) -> float:
        if self.verify_threshold is not None:
            return self.verify_threshold
        return max(0.0, self.threshold - 0.1)

    @property
    def effective_character_verify_threshold(self) -> float:
        if self.character_verify_threshold is not None:
            return self.character_verify_threshold
        return max(0.0, self.character_threshold - 0.1)
