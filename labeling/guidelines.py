"""The guidelines shown beside each task (a deployment can pass its own to `create_app`)."""

from __future__ import annotations

PAIR_GUIDELINES: tuple[str, ...] = (
    "Read the whole conversation, then both responses. Judge the final reply only.",
    "Prefer the response that is more helpful, correct and honest; a short correct answer beats a long wrong one.",
    "Harmful, rude or made-up content loses, however well written.",
    "Tie (3): both are about equally good. Both bad (4): neither is acceptable, so neither should be learnt.",
    "Skip (S) if you cannot judge (unknown language, missing expertise); someone else will get it.",
    "The sides are shuffled for every person: do not look for a pattern in left and right.",
    "A rationale is optional but helps when responses are close.",
)

DOCUMENT_GUIDELINES: tuple[str, ...] = (
    "Would this document help a language model learn good, natural text?",
    "Keep (K): readable prose, code or data a person wrote for people, even if informal.",
    "Drop (D): boilerplate, spam, machine-generated junk, lists of links or keywords, broken encoding, "
    "or toxic content. Give a short reason.",
    "The curation filter's decision is shown when there is one; judge the text, not the filter.",
    "Skip (S) if you cannot tell (for example a language you do not read).",
)
