"""User text is Markdown: rendered, then sanitised here and only here (explicit allow-list)."""
from __future__ import annotations

from functools import lru_cache

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
    "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set()}
URL_SCHEMES = {"http", "https", "mailto"}


def render(text: str | None) -> Markup:
    """Markdown to safe HTML. Raw HTML in the source is escaped by the sanitiser's allow-list;
    headings are shifted to h3+ so user text never competes with the page structure."""
    if not text:
        return Markup("")
    return Markup(_render(text) if len(text) <= CACHED_LENGTH else _render.__wrapped__(text))


CACHED_LENGTH = 2_000  # texts up to this long are remembered (at most 10,000 of them)


@lru_cache(maxsize=10_000)
def _render(text: str) -> str:
    # Pure function of the text, and ~1 ms of CPU each (a parser is built per call): a snapshot or a
    # page of a big tavolo renders the same texts again and again, on the server's one event loop.
    html = md.markdown(text, extensions=["sane_lists", "tables"], output_format="html")
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return clean
