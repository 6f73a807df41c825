"""HTML (previews, downloads) and PDF/A (WeasyPrint prints that same HTML with the print CSS).

Every piece of text is escaped; the chart SVG, built by ``charts``, is the only markup let through.
``pdf`` is a plain CPU-bound function with no shared state, safe to call from a thread pool.
"""
from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources

from markupsafe import Markup, escape

from workspace.exports.document import Document, Heading, PageBreak
from workspace.exports.layout import Chart, Flow, Grid, Items, Layout, Runs, Text, prepare

PDF_VARIANT = "pdf/a-2b"


@cache
def stylesheet() -> str:
    """The document CSS (screen and print); web pages showing ``fragment`` include it."""
    return resources.files("workspace.exports").joinpath("document.css").read_text(encoding="utf-8")


def fragment(document: Document) -> Markup:
    """The document as an ``<article>`` for a web page or preview."""
    return _article(prepare(document))


def page(document: Document) -> str:
    """A complete HTML page: the HTML download, and what WeasyPrint prints."""
    return _page(prepare(document), for_print=False)


def _page(layout: Layout, for_print: bool) -> str:
    doc = layout.document
    meta = ['<meta name="generator" content="Tavoli">']
    for author in filter(None, (doc.author, doc.organisation)):
        meta.append(f'<meta name="author" content="{escape(author)}">')
    if doc.subtitle:
        meta.append(f'<meta name="description" content="{escape(doc.subtitle)}">')
    if doc.created is not None:
        meta.append(f'<meta name="dcterms.created" content="{escape(_w3c_date(doc.created))}">')
    counter = (f'@page {{ @bottom-right {{ content: {_css_string(layout.page_label + " ")} counter(page) '
               f'{_css_string(" " + layout.of_label + " ")} counter(pages); }} }}')
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(layout.lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(layout.front.title)}</title>{''.join(meta)}"
        f"<style>{stylesheet()}\n@media print {{ {counter} }}\n"
        f"@media screen {{ body {{ max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }} }}</style>"
        f"</head><body>{_article(layout, footer_first=for_print)}</body></html>\n"
    )


def pdf(document: Document, variant: str = PDF_VARIANT) -> bytes:
    """PDF/A (2-B by default, or ``"pdf/a-3b"``): fonts embedded, XMP identification, sRGB intent.
    Nothing is fetched: the page holds every resource itself."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = HTML(string=_page(prepare(document), for_print=True), url_fetcher=URLFetcher(allowed_protocols=()))
    return html.write_pdf(pdf_variant=variant, pdf_tags=True)


# --------------------------------------------------------------------------- building blocks


def _article(layout: Layout, footer_first: bool = False) -> Markup:
    # A running footer shows from the page where it stands: for print it goes first, with the title
    # that heads every page after the first.
    footer = (f'<footer class="tavoli-doc-footer"><p>{escape(layout.footer)}</p></footer>'
              if layout.footer else "")
    front = layout.front
    running = f'<p class="tavoli-doc-running" aria-hidden="true">{escape(front.title)}</p>{footer}'
    parts = [running if footer_first else "", '<header class="tavoli-doc-front">']
    if front.organisation:
        parts.append(f'<p class="tavoli-doc-organisation">{escape(front.organisation)}</p>')
    parts.append(f"<h1>{escape(front.title)}</h1>")
    if front.subtitle:
        parts.append(f'<p class="tavoli-doc-subtitle">{escape(front.subtitle)}</p>')
    if front.meta:
        parts.append(f'<p class="tavoli-doc-meta">{escape(front.meta)}</p>')
    parts.append("</header>")
    for block in layout.blocks:
        parts.append(_block(block))
    if not footer_first:
        parts.append(footer)
    return Markup(f'<article class="tavoli-doc" lang="{escape(layout.lang)}">{"".join(parts)}</article>')


def _block(block: object) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level + 1}>{escape(block.text)}</h{block.level + 1}>"
    if isinstance(block, Text):
        return f"<p>{_runs(block.runs)}</p>"
    if isinstance(block, Items):
        return _items(block)
    if isinstance(block, Grid):
        return _grid(block)
    if isinstance(block, PageBreak):
        return '<div class="tavoli-page-break" aria-hidden="true"></div>'
    if isinstance(block, Chart):
        # The SVG comes from charts.svg, which escapes every text it draws.
        return (f'<figure class="tavoli-figure">{block.svg}'
                f"<figcaption>{escape(block.caption)}</figcaption>{_grid(block.grid)}</figure>")
    raise TypeError(f"Blocco non previsto: {block!r}")


def _runs(runs: Runs) -> str:
    out = []
    for run in runs:
        text = str(escape(run.text)).replace("\n", "<br>")
        if run.bold:
            text = f"<strong>{text}</strong>"
        if run.italic:
            text = f"<em>{text}</em>"
        if run.href:
            text = f'<a href="{escape(run.href)}">{text}</a>'
        out.append(text)
    return "".join(out)


def _items(items: Items) -> str:
    tag = "ol" if items.ordered else "ul"
    return f"<{tag}>" + "".join(f"<li>{_runs(i)}</li>" for i in items.items) + f"</{tag}>"


def _flow(flow: tuple[Flow, ...]) -> str:
    if len(flow) == 1 and isinstance(flow[0], Text):
        return _runs(flow[0].runs)
    return "".join(f"<p>{_runs(f.runs)}</p>" if isinstance(f, Text) else _items(f) for f in flow)


def _grid(grid: Grid) -> str:
    parts = [f'<table class="{"tavoli-fields" if grid.labels else "tavoli-table"}">']
    if grid.caption:
        parts.append(f"<caption>{escape(grid.caption)}</caption>")
    parts.append("<colgroup>" + "".join(f'<col style="width: {w * 100:.2f}%">' for w in grid.widths)
                 + "</colgroup>")
    if grid.header is not None:
        cells = "".join(f'<th scope="col"{_num(grid, i)}>{escape(h)}</th>' for i, h in enumerate(grid.header))
        parts.append(f"<thead><tr>{cells}</tr></thead>")
    parts.append("<tbody>")
    for row in grid.rows:
        tds = [f'<th scope="row">{_flow(cell)}</th>' if grid.labels and i == 0 else
               f"<td{_num(grid, i)}>{_flow(cell)}</td>" for i, cell in enumerate(row)]
        parts.append(f"<tr>{''.join(tds)}</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _num(grid: Grid, i: int) -> str:
    return ' class="num"' if grid.numeric[i] else ""


def _css_string(text: str) -> str:
    # Our own labels only, but quoted safely all the same.
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


def _w3c_date(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") if value.tzinfo else value.date().isoformat()
    return value.isoformat()  # type: ignore[attr-defined]
