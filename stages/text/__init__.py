"""Language-aware text units (words, sentences) shared by the clean rules and dedup's shingles."""

from stages.text.segmentation import (
    CHINESE_LANGUAGES,
    WordSegmenter,
    segmenter_for,
    sentence_count,
    words_of,
)

__all__ = ["CHINESE_LANGUAGES", "WordSegmenter", "segmenter_for", "sentence_count", "words_of"]
