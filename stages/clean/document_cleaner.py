"""The clean stage's filters composed for one document, in their fixed order.

Normalise → URL blocklist → language → Gopher quality → Gopher repetition → C4 → FineWeb → toxicity → PII.
The blocklist only reads the URL and normalisation never drops, so the blocklist actually runs first (same
outcome, but blocked pages skip the Unicode repair). The first rule that rejects a document names its reason;
C4 rewrites the text (removed lines), so the rules after it see the text without those lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from stages.clean.c4 import C4Filter
from stages.clean.config import CleanConfig
from stages.clean.document_view import DocumentView
from stages.clean.domain_blocklist import DomainBlocklist
from stages.clean.drop import Drop
from stages.clean.fineweb import FineWebFilter
from stages.clean.gopher_quality import GopherQualityFilter
from stages.clean.gopher_repetition import GopherRepetitionFilter
from stages.clean.language_id import DetectedLanguage, LanguageIdentifier
from stages.clean.normalization import TextNormalizer
from stages.clean.pii import PiiRedactor
from stages.clean.toxicity import ToxicWordFilter


@dataclass
class CleanedDocument:
    """A kept document: its cleaned text, detected language and the PII it had redacted."""

    text: str
    language: DetectedLanguage | None
    pii_counts: Counter[str] = field(default_factory=Counter)


@dataclass
class DocumentOutcome:
    """What cleaning one document gave: the kept document or the drop, plus counters that are not drops."""

    document: CleanedDocument | None
    drop: Drop | None
    stats: Counter[str]


class DocumentCleaner:
    """Runs every filter of a `CleanConfig` over one document; built once per stage object, reused per row."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self.normalizer = TextNormalizer(config.normalization)
        self.blocklist = DomainBlocklist(config.blocklist)
        self.language = LanguageIdentifier(config.language)
        self.gopher_quality = GopherQualityFilter(config.gopher_quality)
        self.gopher_repetition = GopherRepetitionFilter(config.gopher_repetition)
        self.c4 = C4Filter(config.c4)
        self.fineweb = FineWebFilter(config.fineweb)
        self.toxicity = ToxicWordFilter(config.toxicity)
        self.pii = PiiRedactor(config.pii)

    def clean(self, text: str, url: str | None = None) -> DocumentOutcome:
        stats: Counter[str] = Counter()
        drop = self.blocklist.check(url)
        if drop:
            return DocumentOutcome(None, drop, stats)

        normalized = self.normalizer.normalize(text)
        view = DocumentView(normalized)

        detected: DetectedLanguage | None = None
        if self.config.language.enabled:
            detected = self.language.detect(normalized)
            drop = self.language.check(detected)
            if drop:
                return DocumentOutcome(None, drop, stats)

        drop = self.gopher_quality.check(view) or self.gopher_repetition.check(view)
        if drop:
            return DocumentOutcome(None, drop, stats)

        c4 = self.c4.clean(normalized)
        if c4.drop:
            return DocumentOutcome(None, c4.drop, stats)
        lines_removed = c4.lines_removed.total()
        if lines_removed:
            stats["c4:lines_removed"] += lines_removed
            for rule, count in c4.lines_removed.items():
                stats[f"c4:lines_removed:{rule}"] += count
            view = DocumentView(c4.text)

        drop = self.fineweb.check(view) or self.toxicity.check(view)
        if drop:
            return DocumentOutcome(None, drop, stats)

        redaction = self.pii.redact(view.text)
        for kind, count in redaction.counts.items():
            stats[f"pii:{kind}"] += count
        return DocumentOutcome(CleanedDocument(redaction.text, detected, redaction.counts), None, stats)
