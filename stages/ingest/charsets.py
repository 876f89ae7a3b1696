"""An HTML page's bytes to text: which charset, where it was found, and how many bytes did not decode.

The charset comes from, in order: a byte order mark (which overrides any declaration, as in browsers), the
HTTP `Content-Type` header, the page's own `<meta charset>` / `<meta http-equiv=Content-Type>` / XML declaration,
then detection (valid UTF-8, else Resiliparse's detector, else `charset-normalizer`). A declaration
is trusted only while it fits the bytes: real crawls send `charset=utf-8` (nginx's default) in front of GBK
pages and `ISO-8859-1` (Apache's) in front of UTF-8 ones, so the first declaration that decodes cleanly wins,
and a body that is valid UTF-8 beats a declared legacy charset. Bytes that decode in no candidate are replaced
by U+FFFD and counted, never fatal.

Labels are read as browsers read them (WHATWG Encoding): GB2312 and GBK pages are decoded as GB18030,
Shift_JIS as cp932, Big5 as Big5-HKSCS, ISO-8859-1 and ASCII as windows-1252, and so on: servers name the old
standard while pages use the vendor superset, and the strict codecs would fail on every character beyond it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from resiliparse.parse.encoding import detect_encoding

Source = str  # "bom" | "http" | "meta" | "detected" | "default"

BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# WHATWG labels Python does not know.
LABEL_ALIASES = {
    "x-gbk": "gb18030",
    "csgb2312": "gb18030",
    "windows-31j": "cp932",
    "x-sjis": "cp932",
    "x-euc-jp": "euc_jp",
    "cn-big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "unicode20utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
    **{f"x-cp125{digit}": f"cp125{digit}" for digit in range(9)},
}
# The superset a browser decodes each of these as (keys are Python's canonical codec names).
WHATWG_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "big5": "big5hkscs",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
    "euc_kr": "cp949",
    "iso8859-9": "cp1254",
    "tis-620": "cp874",
    "iso8859-11": "cp874",
}
# Codecs that are not a page's charset, whatever a page claims (UTF-7 is also a known XSS vector).
REFUSED_CODECS = frozenset(
    {"utf-7", "undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "charmap"}
)
# A page cannot declare UTF-16/32 in a <meta> it had to be read as ASCII to find: WHATWG reads it as UTF-8.
WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})

PRESCAN_BYTES = 4096
META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([a-z0-9_.:+-]+)", re.IGNORECASE)
XML_ENCODING = re.compile(rb"\s*<\?xml\b[^>]*?encoding\s*=\s*[\"']\s*([a-z0-9_.:+-]+)", re.IGNORECASE)
# Markup, scripts and styles, which are ASCII in every page and only dilute what detection sees.
MARKUP = re.compile(
    rb"<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->|<[^>]*>", re.IGNORECASE | re.DOTALL
)
DETECTION_BYTES = 256 * 1024
# A declared charset that leaves more than this fraction of the non-ASCII bytes undecodable is not the page's.
MAX_DECLARED_ERROR_RATIO = 0.05
NON_ASCII_BYTES = bytes(range(0x80, 0x100))


@dataclass(frozen=True, slots=True)
class DecodedHtml:
    """A page's text and how it was decoded."""

    text: str
    charset: str  # the Python codec that decoded it
    source: Source
    errors: int = 0  # byte sequences replaced by U+FFFD
    overruled: str | None = None  # the codec a declaration named, when the bytes said otherwise


def python_codec(label: str | None, from_meta: bool = False) -> str | None:
    """The Python codec a browser would decode a charset label with, or None for no usable charset."""
    if not label:
        return None
    label = label.strip().strip("\"'").strip().lower()
    label = LABEL_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    name = info.name
    if name in REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    if from_meta and name in WIDE_CODECS:
        return "utf-8"
    return WHATWG_SUPERSETS.get(name, name)


def bom_codec(html: bytes) -> tuple[str, int] | None:
    for bom, codec in BOMS:
        if html.startswith(bom):
            return codec, len(bom)
    return None


def declared_in_page(html: bytes) -> str | None:
    """The codec of the page's XML declaration or first usable <meta> charset, within its first bytes."""
    prefix = html[:PRESCAN_BYTES]
    xml = XML_ENCODING.match(prefix)
    if xml and (codec := python_codec(xml.group(1).decode("ascii"), from_meta=True)):
        return codec
    for match in META_CHARSET.finditer(prefix):
        if codec := python_codec(match.group(1).decode("ascii"), from_meta=True):
            return codec
    return None


def strict_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_counting_errors(data: bytes, codec: str) -> tuple[str, int]:
    """The text with undecodable bytes replaced by U+FFFD, and how many replacements were made."""
    text = data.decode(codec, errors="replace")
    genuine = data.decode(codec, errors="ignore").count("\ufffd")  # U+FFFD characters the page really has
    return text, text.count("\ufffd") - genuine


def detection_prefix(data: bytes) -> bytes:
    """At most DETECTION_BYTES of `data`, cut at an ASCII space or `>` (never inside a multi-byte character:
    no legacy CJK encoding uses those bytes as a trailing byte)."""
    if len(data) <= DETECTION_BYTES:
        return data
    cut = max(data.rfind(b" ", 0, DETECTION_BYTES), data.rfind(b">", 0, DETECTION_BYTES) + 1)
    return data[: cut if cut > DETECTION_BYTES // 2 else DETECTION_BYTES]


def detection_sample(html: bytes) -> bytes:
    """The page's text bytes, markup removed, for detection."""
    text = MARKUP.sub(b" ", html)
    if text.isascii():  # the non-ASCII bytes are all in attributes or scripts: detect on the whole page
        text = html
    return detection_prefix(text)


def detected_codec(html: bytes) -> str | None:
    """The charset detection finds for a page, checked against its bytes; None when no detector's guess fits.

    Resiliparse's detector (uchardet, Mozilla's universal charset detector) guesses first: on 120 real pages
    of HPLT's samples re-encoded in their languages' legacy charsets it was right on 119, where
    `charset-normalizer` was right on 107 (it read most windows-1252 pages as windows-1250).
    `charset-normalizer` answers when that guess does not decode the bytes: on the page's text without its
    markup, then on the page itself.
    """
    prefix = detection_prefix(html)
    guess = python_codec(detect_encoding(prefix, max_len=DETECTION_BYTES, from_html_meta=False))
    if guess is not None and strict_decode(html, guess) is not None:
        return guess
    for candidate in (detection_sample(html), prefix):
        best = from_bytes(candidate).best()
        guess = python_codec(best.encoding) if best is not None else None
        if guess is not None and strict_decode(html, guess) is not None:
            return guess
    return None


def decode_html(html: bytes, http_charset: str | None) -> DecodedHtml:
    """The page as text, from the first charset that fits it; never raises."""
    bom = bom_codec(html)
    if bom is not None:
        codec, size = bom
        text, errors = decode_counting_errors(html[size:], codec)
        return DecodedHtml(text, codec, "bom", errors)
    has_nul = b"\x00" in html[:PRESCAN_BYTES]  # UTF-16 or UTF-32 without a BOM has NULs in its markup
    declared = [
        (codec, source)
        for codec, source in ((python_codec(http_charset), "http"), (declared_in_page(html), "meta"))
        if codec is not None and (codec not in WIDE_CODECS or has_nul)
    ]
    as_utf8 = strict_decode(html, "utf-8")
    if as_utf8 is not None and (not declared or declared[0][0] == "utf-8" or not html.isascii()):
        if declared and declared[0][0] == "utf-8":
            return DecodedHtml(as_utf8, "utf-8", declared[0][1])
        # valid UTF-8 with non-ASCII bytes is UTF-8, whatever a legacy declaration says
        return DecodedHtml(as_utf8, "utf-8", "detected", overruled=declared[0][0] if declared else None)
    for codec, source in declared:
        text = strict_decode(html, codec)
        if text is not None:
            overruled = declared[0][0] if source != declared[0][1] else None
            return DecodedHtml(text, codec, source, overruled=overruled)
    if declared:
        codec, source = declared[0]
        text, errors = decode_counting_errors(html, codec)
        non_ascii = len(html) - len(html.translate(None, NON_ASCII_BYTES))
        # a few broken bytes in a page that is what it says: keep its charset, count the bytes
        if errors <= MAX_DECLARED_ERROR_RATIO * non_ascii:
            return DecodedHtml(text, codec, source, errors)
    codec = detected_codec(html)
    if codec is not None:
        text = html.decode(codec)  # detected_codec checked that it decodes
        return DecodedHtml(text, codec, "detected", overruled=declared[0][0] if declared else None)
    codec, source = declared[0] if declared else ("utf-8", "default")
    text, errors = decode_counting_errors(html, codec)
    return DecodedHtml(text, codec, source, errors)
