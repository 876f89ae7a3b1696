"""Main text of an HTML page, with Resiliparse (fast, the default) or Trafilatura (what FineWeb used).

Both keep paragraph breaks, which the line-based quality filters of the clean stage need.
"""

from __future__ import annotations

from collections.abc import Callable

from resiliparse.extract.html2text import extract_plain_text

from stages.ingest.config import HtmlExtractor


def resiliparse_main_text(html: str) -> str:
    return extract_plain_text(
        html,
        preserve_formatting=True,
        main_content=True,
        list_bullets=True,
        alt_texts=False,
        links=False,
        form_fields=False,
        noscript=False,
    )


def trafilatura_main_text(html: str) -> str:
    import trafilatura  # imported on first use: it takes a second to import and most runs use resiliparse

    return trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False) or ""


EXTRACTORS: dict[HtmlExtractor, Callable[[str], str]] = {
    "resiliparse": resiliparse_main_text,
    "trafilatura": trafilatura_main_text,
}


def extract_main_text(html: str, extractor: HtmlExtractor) -> str:
    """The main text of a decoded page (see `charsets.decode_html` for the bytes-to-text step)."""
    return EXTRACTORS[extractor](html)
