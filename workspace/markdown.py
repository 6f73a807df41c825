"""User text is Markdown: rendered, then sanitised here and only here (explicit allow-list).

Raw HTML typed by a person is *text*, not markup: the Markdown parser's raw-HTML rules are switched
off, so ``a<b e c>d`` or ``<script>…`` is escaped and shown exactly as typed (the sanitiser never
has to strip it, so nothing a person wrote disappears). What Markdown itself produces — emphasis,
lists, links, fenced code, tables — is then passed through nh3 with an allow-list: a link with a
scheme other than http/https/mailto keeps its text and loses its target. ``altered`` says whether
that happened, so the person saving the text can be told.
"""
from __future__ import annotations

import re
from functools import lru_cache
from html import unescape

import markdown as md
import nh3
from markdown.extensions import Extension
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre",
    "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set()}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["sane_lists", "tables", "fenced_code"]


class _HtmlAsText(Extension):
    """Raw HTML blocks and inline tags are left to the text rules (escaped), and images — which
    the page would not show — stay as their Markdown source."""

    def extendMarkdown(self, md_):  # noqa: N802 — the Markdown API's name
        md_.preprocessors.deregister("html_block")
        for name in ("html", "image_link", "image_reference", "short_image_ref"):
            if name in md_.inlinePatterns:
                md_.inlinePatterns.deregister(name)


#: Parsers ready for use: building one (its extensions, patterns and processors) cost about as much as
#: converting a contribution with it. One parser converts one text at a time — taken from here and put
#: back after (a conversion never yields to another greenlet; list pop and append are atomic).
_parsers: list[md.Markdown] = []


def _markdown(text: str) -> str:
    parser = _parsers.pop() if _parsers else md.Markdown(extensions=[*EXTENSIONS, _HtmlAsText()],
                                                          output_format="html")
    try:
        html = parser.reset().convert(text)
    finally:
        _parsers.append(parser)
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    return html


def _sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def _styled(clean: str) -> str:
    """Classes for what Markdown made (no person's markup survives to here: all of it was
    escaped), so tables and code look the same on every page, the big screen included."""
    clean = clean.replace("<table>", '<div class="tavoli-md-table"><table>').replace("</table>", "</table></div>")
    return clean.replace("<pre>", '<pre class="tavoli-md-code">')


def render(text: str | None) -> Markup:
    """Markdown to safe HTML; headings are shifted to h3+ so user text never competes with the
    page structure."""
    if not text:
        return Markup("")
    return Markup(_render(text) if len(text) <= CACHED_LENGTH else _render.__wrapped__(text))


CACHED_LENGTH = 2_000  # texts up to this long are remembered (at most 10,000 of them)


@lru_cache(maxsize=10_000)
def _render(text: str) -> str:
    # Pure function of the text, and ~0.5 ms of CPU each: a snapshot or a page of a big tavolo renders
    # the same texts again and again, on the server's one event loop.
    return _styled(_sanitise(_markdown(text)))


_TAG = re.compile(r"<[^>]*>")
_HREF = re.compile(r"\shref=")


def _reading(html: str) -> str:
    return " ".join(unescape(_TAG.sub(" ", html)).split())


def altered(text: str | None) -> bool:
    """Whether the sanitiser had to change what Markdown made of ``text`` (a link target
    dropped, an element not allowed): the text is kept, but it is not shown as written."""
    if not text or not any(mark in text for mark in ("](", "<", "[")):
        return False
    html = _markdown(text)
    clean = _sanitise(html)
    return len(_HREF.findall(html)) != len(_HREF.findall(clean)) or _reading(html) != _reading(clean)
