"""How the demo corpus is mixed: the share of each kind of page and the near-duplicate Jaccard levels."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from stages.core.config_loading import StrictConfig

KIND_CLEAN = "clean"
KIND_PII = "pii"
KIND_EXACT = "exact_duplicate"
KIND_NORMALISED = "normalised_duplicate"
KIND_NEAR = "near_duplicate"
KIND_BOILERPLATE = "boilerplate"
KIND_SPAM = "spam"
KIND_LOREM = "lorem"
KIND_NON_ENGLISH = "non_english"
KIND_SHORT = "short"
DERIVED_KINDS: tuple[str, ...] = (KIND_EXACT, KIND_NORMALISED, KIND_NEAR)
DROP_KINDS: tuple[str, ...] = (KIND_BOILERPLATE, KIND_SPAM, KIND_LOREM, KIND_NON_ENGLISH, KIND_SHORT)
"""Kinds a correct cleaning stage drops (PII is redacted, duplicates are the dedup stage's business)."""
ALL_KINDS: tuple[str, ...] = (KIND_CLEAN, KIND_PII, *DERIVED_KINDS, *DROP_KINDS)
DEMO_LANGUAGES: tuple[str, ...] = ("en", "zh")
"""Languages the demo writes pages in (ISO 639-1, as language id names them)."""
MULTILINGUAL_KINDS: tuple[str, ...] = (
    KIND_CLEAN, KIND_PII, *DERIVED_KINDS, KIND_BOILERPLATE, KIND_SPAM, KIND_SHORT,
)  # fmt: skip
"""Kinds written in each of the corpus's languages; lorem ipsum (Latin) and the foreign pages (French, German,
Spanish: `non_english`, foreign to every language of the demo) are the same whatever the languages."""


class DemoCorpusConfig(StrictConfig):
    """Shares of each kind of document; whatever is left over is clean original documents (~70% by default)."""

    exact_duplicate_share: float = Field(0.02, ge=0, le=1)
    normalised_duplicate_share: float = Field(0.02, ge=0, le=1)
    near_duplicate_share: float = Field(0.08, ge=0, le=1)
    pii_share: float = Field(0.03, ge=0, le=1)
    boilerplate_share: float = Field(0.04, ge=0, le=1)
    spam_share: float = Field(0.04, ge=0, le=1)
    lorem_share: float = Field(0.01, ge=0, le=1)
    non_english_share: float = Field(0.04, ge=0, le=1)
    short_share: float = Field(0.02, ge=0, le=1)
    near_duplicate_jaccards: tuple[float, ...] = Field(
        (0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.3), min_length=1
    )
    """Jaccard levels near duplicates aim at (the ground truth records the exact value reached)."""
    syndicated_share: float = Field(0.35, ge=0, le=1)
    """Share of near duplicates that come in syndicated clusters of 3 to 5 copies of one original."""
    syndicated_jaccards: tuple[float, ...] = Field((0.95, 0.9, 0.85, 0.8, 0.7), min_length=1)
    spare_sentences: int = Field(12, ge=0, le=100)
    """Unused sentences generated with each duplicated original, for near copies to insert."""
    languages: tuple[str, ...] = Field(("en",), min_length=1)
    """Languages of the pages of `MULTILINGUAL_KINDS`, each page's drawn with equal chances (a duplicate shares
    its original's); `("en",)`, the default, draws nothing, so an English corpus is the same bytes as before."""

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [language for language in languages if language not in DEMO_LANGUAGES]
        if unknown:
            raise ValueError(
                f"the demo writes pages in {', '.join(DEMO_LANGUAGES)}, not {', '.join(unknown)}"
            )
        if len(set(languages)) != len(languages):
            raise ValueError(f"a language is listed twice: {', '.join(languages)}")
        return languages

    @model_validator(mode="after")
    def _shares_leave_room_for_originals(self) -> DemoCorpusConfig:
        if self.clean_share < self.duplicate_share:
            raise ValueError(
                f"clean share {self.clean_share:.3f} is below the duplicate share {self.duplicate_share:.3f}:"
                " every duplicate needs a clean original"
            )
        if not all(
            0.0 < target < 1.0 for target in (*self.near_duplicate_jaccards, *self.syndicated_jaccards)
        ):
            raise ValueError("near-duplicate Jaccard targets must lie strictly between 0 and 1")
        return self

    def kind_shares(self) -> dict[str, float]:
        return {
            KIND_PII: self.pii_share,
            KIND_EXACT: self.exact_duplicate_share,
            KIND_NORMALISED: self.normalised_duplicate_share,
            KIND_NEAR: self.near_duplicate_share,
            KIND_BOILERPLATE: self.boilerplate_share,
            KIND_SPAM: self.spam_share,
            KIND_LOREM: self.lorem_share,
            KIND_NON_ENGLISH: self.non_english_share,
            KIND_SHORT: self.short_share,
        }

    @property
    def duplicate_share(self) -> float:
        return self.exact_duplicate_share + self.normalised_duplicate_share + self.near_duplicate_share

    @property
    def clean_share(self) -> float:
        return 1.0 - sum(self.kind_shares().values())

    def kind_counts(self, num_docs: int) -> dict[str, int]:
        """Documents per kind for a corpus of `num_docs`: each share rounded, the remainder clean."""
        counts = {kind: round(share * num_docs) for kind, share in self.kind_shares().items()}
        counts[KIND_CLEAN] = num_docs - sum(counts.values())
        if counts[KIND_CLEAN] < 0:
            raise ValueError(f"shares add up to more than {num_docs} documents")
        return {kind: counts[kind] for kind in ALL_KINDS}
