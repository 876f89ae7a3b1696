"""Model text as safe HTML: Markdown rendered on the server, then sanitised.

Replies are mostly Markdown (lists, emphasis, fenced code); shown raw in a proportional font they are hard to
judge. Two maintained tools, each enough alone, are chained: `markdown-it-py` (CommonMark) with raw HTML off, so
`<script>` or `<img onerror=...>` in a reply comes out as escaped text, and it refuses `javascript:`/`vbscript:`
links; then `nh3` (the Rust `ammonia` sanitiser) keeps only a list of harmless tags and attributes, links only
to http(s)/mailto (with `rel="noopener noreferrer nofollow"`), and no images (they would fetch from other sites;
the page's CSP forbids that anyway). Code blocks keep their text; the style sheet sets them in monospace.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_RENDERED_CHARS = 200_000  # longer text is shown as plain text (fields are capped well below this)


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(text: str | None) -> Markup:
    """`text` as sanitised HTML (a `Markup`, so Jinja does not escape it again)."""
    if not text:
        return Markup("")
    if len(text) > MAX_RENDERED_CHARS:
        return Markup("<pre>") + Markup.escape(text) + Markup("</pre>")
    html = parser().render(text)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # sanitised by nh3 just above
