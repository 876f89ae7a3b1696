"""Dedup settings. Bands × rows come from the threshold with datasketch's optimal-parameter maths."""

from __future__ import annotations

from functools import cached_property

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

    @property
    def effective_verify_threshold(self) -> float:
        if self.verify_threshold is not None:
            return self.verify_threshold
        return max(0.0, self.threshold - 0.1)
