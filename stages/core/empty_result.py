"""A stage that keeps nothing of a non-empty input is almost always a mistake (a field named differently, a
language not allowed): say so loudly, with the top drop reasons and the setting that usually fixes it."""

from __future__ import annotations

from stages.core.errors import UserError
from stages.core.manifest import Manifest

SHOWN_REASONS = 3
HINTS = {
    "schema:missing_field": "the records have no field named as text_field says: name the field holding the "
    "text with --set text_field=FIELD (ingest) or --set ingest.text_field=FIELD (other stages); "
    "lmforge config ingest lists every setting",
    "schema:wrong_type": "the text field holds something other than a string: check --set text_field=FIELD",
    "language:not_allowed": "no document is in an allowed language: see --set language.allowed_languages=[...]",
    "warc:not_html": "no HTML responses in these archives",
}


class EmptyResultError(UserError):
    """A stage kept 0 of N > 0 rows and the caller did not allow an empty result."""

    exit_code = 3


def top_reasons(dropped: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(dropped.items(), key=lambda item: (-item[1], item[0]))[:SHOWN_REASONS]


def describe_empty_result(stage: str, manifest: Manifest) -> str | None:
    """One warning line when `manifest` kept nothing of a non-empty input, else None."""
    if manifest.rows_in == 0 or manifest.rows_out > 0:
        return None
    ranked = top_reasons(manifest.dropped)
    reasons = ", ".join(f"{reason}={count}" for reason, count in ranked) or "none recorded"
    hint = HINTS.get(ranked[0][0]) if ranked else None  # the reason that emptied it most, if it has a hint
    return f"{stage} kept 0 of {manifest.rows_in} rows (top drop reasons: {reasons})" + (
        f"; hint: {hint}" if hint else ""
    )


def check_not_empty(stage: str, manifest: Manifest, allow_empty: bool) -> None:
    """Raise EmptyResultError unless the result has rows, or the caller allows an empty one."""
    message = describe_empty_result(stage, manifest)
    if message is not None and not allow_empty:
        raise EmptyResultError(f"{message} (pass --allow-empty to accept an empty result)")
