"""Reading rendered pages with the standard library's HTML parser (no extra dependency)."""
from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""


class PageScan(HTMLParser):
    """Every element with its attributes, plus the text inside <script> and <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open_raw: Element | None = None

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag in ("script", "style"):
            self._open_raw = element

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag):
        if self._open_raw is not None and tag == self._open_raw.tag:
            self._open_raw = None

    def handle_data(self, data):
        if self._open_raw is not None:
            self._open_raw.text += data

    def find_all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)


def scan(html: str | bytes) -> PageScan:
    parser = PageScan()
    parser.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    parser.close()
    return parser


def csp_violations(html: str | bytes) -> list[str]:
    """What our CSP (script-src 'self'; style-src 'self') would refuse in this markup."""
    page = scan(html)
    problems = []
    for el in page.elements:
        if el.tag == "script":
            if not el.attrs.get("src"):
                problems.append(f"<script> senza src: {el.text.strip()[:80]!r}")
            elif el.text.strip():
                problems.append(f"<script src> con contenuto in linea: {el.text.strip()[:80]!r}")
        if el.tag == "style":
            problems.append(f"elemento <style>: {el.text.strip()[:80]!r}")
        if "style" in el.attrs:
            problems.append(f"attributo style su <{el.tag}>: {el.attrs['style']!r}")
        for name, value in el.attrs.items():
            if name.startswith("on"):
                problems.append(f"gestore di evento in linea {name} su <{el.tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                problems.append(f"URL javascript: in {name} su <{el.tag}>")
    return problems
