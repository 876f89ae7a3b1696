"""Main text of an HTML page, with Resiliparse (fast, the default) or Trafilatura (what FineWeb used).

Both keep paragraph breaks, which the line-based quality filters of the clean stage need.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from stages.ingest.config import HtmlExtractor


def decode_html(html: bytes, charset: str | None) -> str:
    """The page as text: the HTTP charset when it names a real codec, else the <meta> tag or detection."""
    encoding = None
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = None
    if encoding is None:
        encoding = detect_encoding(html, from_html_meta=True)
    return bytes_to_str(html, encoding, errors="replace")


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


def extract_main_text(html: bytes, charset: str | None, extractor: HtmlExtractor) -> str:
    return EXTRACTORS[extractor](decode_html(html, charset))
