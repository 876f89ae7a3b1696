"""The clean stage: Unicode repair, URL blocklist, language id, Gopher/C4/FineWeb heuristics, word-list
toxicity and PII redaction, each a small filter composed by `CleanStage`."""

from stages.clean.config import CleanConfig
from stages.clean.stage import CleanStage

__all__ = ["CleanConfig", "CleanStage"]
