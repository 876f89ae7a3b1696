"""Whether a body is HTML by its first bytes, for responses whose Content-Type says nothing useful.

Crawls are full of HTML served with no Content-Type, as `application/octet-stream`, or as `text/plain`; browsers
sniff those (WHATWG MIME Sniffing, "rules for identifying an unknown MIME type") and so do we: after whitespace,
a byte order mark, comments and an XML declaration, the body must open with one of the tags an HTML page starts
with. A declared type that is clearly something else (an image, a PDF, JSON) is never sniffed.
"""

from __future__ import annotations

import re

# Declared types that say nothing about the body: the body is sniffed. None is a missing Content-Type.
UNINFORMATIVE_MEDIA_TYPES = frozenset(
    {
        "application/octet-stream",
        "binary/octet-stream",
        "application/unknown",
        "application/x-unknown-content-type",
        "application/x-download",
        "application/force-download",
        "unknown/unknown",
        "text/unknown",
        "text/plain",
        "*/*",
    }
)
SNIFF_BYTES = 4096
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"
# WHATWG's HTML patterns, plus a few tags that also open real pages (meta, link, base...); then a byte that ends
# a tag name, so `<brown>` or `<abc` do not count. A bare `<!DOCTYPE html` needs the same end.
HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|h[1-6]|div|font|table|a|style|title|b|br|p|meta|link"
    rb"|base|center|form|span|ul|noscript)[\s/>]",
    re.IGNORECASE,
)
# What may precede the first tag: whitespace, comments, an XML declaration or processing instruction.
PREAMBLE = re.compile(rb"(?:\s+|<!--.*?-->|<\?.*?\?>)*", re.DOTALL)


def may_be_html(media_type: str | None) -> bool:
    """A declared media type that does not rule HTML out: missing, uninformative, or malformed."""
    return media_type is None or media_type in UNINFORMATIVE_MEDIA_TYPES or "/" not in media_type


def sniff_prefix(body: bytes) -> bytes:
    """The first bytes of the body as ASCII-compatible bytes, without a byte order mark."""
    prefix = body[:SNIFF_BYTES]
    if prefix.startswith(UTF8_BOM):
        return prefix[len(UTF8_BOM) :]
    if prefix.startswith(UTF16_BOMS):
        return prefix.decode("utf-16", errors="ignore").encode("ascii", errors="ignore")
    return prefix


def looks_like_html(body: bytes) -> bool:
    """True when the body opens, after whitespace, a BOM, comments and an XML declaration, with an HTML tag."""
    prefix = sniff_prefix(body)
    start = PREAMBLE.match(prefix)
    position = start.end() if start else 0
    if prefix.startswith(b"<!--", position):  # a comment longer than the sniffed prefix: HTML, as WHATWG says
        return True
    return HTML_START.match(prefix, position) is not None
