"""One preparation for every renderer: values formatted in the document's language, Markdown turned
into blocks, tables and cards turned into one kind of grid whose cells hold paragraphs and lists.
Each renderer then writes only ``Heading``, ``Text``, ``Items``, ``Grid``, ``PageBreak`` and ``Chart``,
which is what keeps the text identical across formats."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser

from workspace import markdown
from workspace.exports import charts
from workspace.exports.document import (
    BulletList,
    Document,
    Fields,
    Figure,
    Heading,
    Inline,
    Markdown,
    PageBreak,
    Paragraph,
    Run,
    Table,
    format_value,
    is_number,
    words,
)

Runs = tuple[Run, ...]
SAFE_LINK = re.compile(r"(https?://|mailto:)\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Text:
    runs: Runs


@dataclass(frozen=True)
class Items:
    items: tuple[Runs, ...]
    ordered: bool = False


Flow = Text | Items  # what a grid cell holds


@dataclass(frozen=True)
class Grid:
    """A table (``header`` set, repeated on each page) or a card (``labels``: no header, first column
    holds the labels). ``widths`` are fractions summing to 1."""
    header: tuple[str, ...] | None
    rows: tuple[tuple[tuple[Flow, ...], ...], ...]
    widths: tuple[float, ...]
    numeric: tuple[bool, ...]
    caption: str | None = None
    labels: bool = False


@dataclass(frozen=True)
class Chart:
    chart: charts.BarChart
    caption: str
    grid: Grid
    lang: str

    @cached_property
    def svg(self) -> str:
        return charts.svg(self.chart, self.lang)

    @cached_property
    def png(self) -> bytes:
        return charts.png(self.chart, self.lang)


Prepared = Heading | Text | Items | Grid | PageBreak | Chart


@dataclass(frozen=True)
class Front:
    """The heading of the first page: who issues it, what it is, when."""
    organisation: str | None
    title: str
    subtitle: str | None
    meta: str | None


@dataclass(frozen=True)
class Layout:
    front: Front
    blocks: tuple[Prepared, ...]
    footer: str | None
    lang: str
    page_label: str  # "Pagina", "di" joined by the renderer around the two page numbers
    of_label: str
    document: Document


def prepare(document: Document) -> Layout:
    lang = document.lang
    w = words(lang)
    meta = []
    if document.created is not None:
        meta.append(f"{w['date']}: {format_value(document.created, lang)}")
    if document.author:
        meta.append(f"{w['author']}: {document.author}")
    blocks: list[Prepared] = []
    for block in document.blocks:
        blocks.extend(_prepare(block, lang))
    return Layout(
        front=Front(_clean(document.organisation), _clean(document.title) or "", _clean(document.subtitle),
                    " · ".join(meta) or None),
        blocks=tuple(blocks), footer=_clean(document.footer), lang=lang,
        page_label=w["page"], of_label=w["of"], document=document,
    )


def _prepare(block: object, lang: str) -> list[Prepared]:
    if isinstance(block, Heading):
        return [Heading(_clean(block.text) or "", min(max(block.level, 1), 4))]
    if isinstance(block, Paragraph):
        return [Text(runs(block.content))]
    if isinstance(block, Markdown):
        return markdown_blocks(block.source)
    if isinstance(block, BulletList):
        return [Items(tuple(runs(item) for item in block.items), block.ordered)]
    if isinstance(block, Table):
        return [table_grid(block, lang)]
    if isinstance(block, Fields):
        return [fields_grid(block, lang)]
    if isinstance(block, PageBreak):
        return [block]
    if isinstance(block, Figure):
        data = charts.data_table(block.chart, lang)
        return [Chart(block.chart, _clean(block.caption) or "", table_grid(data, lang), lang)]
    raise TypeError(f"Blocco non previsto in un documento: {block!r}")


def runs(content: Inline) -> Runs:
    """Inline content as runs, whitespace collapsed as a browser would, across runs too; a ``\\n``
    stays a line break inside the paragraph."""
    if isinstance(content, str):
        content = (Run(content),)
    out: list[Run] = []
    previous = "\n"  # at the start, leading spaces go
    for run in content:
        text = re.sub(r" *\n *", "\n", re.sub(r"[ \t\r\f\v]+", " ", run.text))
        if previous in " \n":
            text = text.lstrip(" ")
        if not out:
            text = text.lstrip("\n")
        if not text:
            continue
        if run.href is not None and not SAFE_LINK.match(run.href):
            run = Run(run.text, run.bold, run.italic)  # only web and mail links become links
        previous = text[-1]
        if out and (out[-1].bold, out[-1].italic, out[-1].href) == (run.bold, run.italic, run.href):
            out[-1] = _replace_text(out[-1], out[-1].text + text)
        else:
            out.append(_replace_text(run, text))
    while out and out[-1].text != out[-1].text.rstrip(" \n"):
        out[-1] = _replace_text(out[-1], out[-1].text.rstrip(" \n"))
        if not out[-1].text:
            out.pop()
    return tuple(out)


def plain(runs_: Runs) -> str:
    return "".join(r.text for r in runs_)


def table_grid(table: Table, lang: str) -> Grid:
    ncols = len(table.columns)
    rows = []
    for row in table.rows:
        if len(row) != ncols:
            raise ValueError(f"Riga di {len(row)} celle in una tabella di {ncols} colonne: {row!r}")
        rows.append(tuple((Text(_cell_runs(cell, lang)),) for cell in row))
    numeric = tuple(
        bool(table.rows) and all(is_number(r[i]) or r[i] is None for r in table.rows)
        and any(is_number(r[i]) for r in table.rows)
        for i in range(ncols))
    return Grid(tuple(_clean(c) or "" for c in table.columns), tuple(rows),
                _fractions(table.widths, ncols), numeric, _clean(table.caption))


def fields_grid(fields: Fields, lang: str) -> Grid:
    rows = []
    for label, value in fields.items:
        if isinstance(value, Markdown):
            cell = _flow(markdown_blocks(value.source))
        else:
            cell = (Text(_cell_runs(value, lang)),)
        rows.append(((Text((Run(_clean(label) or "", bold=True),)),), cell))
    return Grid(None, tuple(rows), (0.32, 0.68), (False, False), _clean(fields.caption), labels=True)


def _cell_runs(value: object, lang: str) -> Runs:
    if isinstance(value, str) or value is None or not isinstance(value, Sequence):
        return runs(format_value(value, lang))  # type: ignore[arg-type]
    return runs(value)  # a sequence of runs


def _flow(blocks: list[Prepared]) -> tuple[Flow, ...]:
    """Markdown inside a cell: headings become bold paragraphs, tables become one line per row."""
    out: list[Flow] = []
    for block in blocks:
        if isinstance(block, Text | Items):
            out.append(block)
        elif isinstance(block, Heading):
            out.append(Text((Run(block.text, bold=True),)))
        elif isinstance(block, Grid):
            lines = ([" · ".join(block.header)] if block.header else []) + [
                " · ".join(plain(f.runs) for cell in row for f in cell if isinstance(f, Text))
                for row in block.rows]
            out.extend(Text((Run(line),)) for line in lines if line)
    return tuple(out) or (Text(()),)


def _fractions(widths: Sequence[float] | None, n: int) -> tuple[float, ...]:
    if not widths or len(widths) != n or any(w <= 0 for w in widths):
        return tuple(1 / n for _ in range(n)) if n else ()
    total = float(sum(widths))
    return tuple(w / total for w in widths)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    return re.sub(r"\s+", " ", text).strip() or None


def _replace_text(run: Run, text: str) -> Run:
    return Run(text, run.bold, run.italic, run.href)


# --------------------------------------------------------------------------- Markdown

class _MarkdownBlocks(HTMLParser):
    """Maps the sanitiser's small tag set (workspace.markdown.ALLOWED_TAGS) to blocks. Nested lists
    are flattened into their parent list; ``hr`` carries no text and is dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Prepared] = []
        self.current: list[Run] | None = None  # the runs being collected
        self.bold = self.italic = self.pre = 0
        self.href: str | None = None
        self.heading = 0
        self.list_items: list[Runs] | None = None
        self.list_depth = 0
        self.ordered = False
        self.table: list[list[Runs]] | None = None
        self.header_rows = 0
        self.in_thead = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "a":
            self.href = dict(attrs).get("href")
        elif tag == "br":
            self._text("\n")
        elif tag == "pre":
            self.pre += 1
            self._open()
        elif tag in ("ul", "ol"):
            if self.list_depth == 0:
                self._close()
                self.list_items, self.ordered = [], tag == "ol"
            else:
                self._end_item()
            self.list_depth += 1
        elif tag == "li":
            self._end_item()
            self.current = []
        elif tag == "table":
            self._close()
            self.table, self.header_rows = [], 0
        elif tag == "thead":
            self.in_thead = True
        elif tag == "tr" and self.table is not None:
            self.table.append([])
            self.header_rows += self.in_thead
        elif tag in ("th", "td"):
            self.current = []
        elif re.fullmatch(r"h[1-6]", tag):
            self._close()
            self.heading = int(tag[1])
            self.current = []
        elif tag in ("p", "blockquote") and self.list_items is None and self.table is None:
            self._open()
        elif tag == "p" and self.current:  # a second paragraph of a loose list item
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("strong", "b"):
            self.bold -= 1
        elif tag in ("em", "i"):
            self.italic -= 1
        elif tag == "a":
            self.href = None
        elif tag == "pre":
            self.pre -= 1
            self._close()
        elif tag in ("ul", "ol"):
            self._end_item()
            self.list_depth -= 1
            if self.list_depth == 0 and self.list_items is not None:
                if self.list_items:
                    self.blocks.append(Items(tuple(self.list_items), self.ordered))
                self.list_items = None
        elif tag == "li":
            self._end_item()
        elif tag in ("th", "td") and self.table is not None and self.table:
            self.table[-1].append(runs(self.current or []))
            self.current = None
        elif tag == "thead":
            self.in_thead = False
        elif tag == "table" and self.table is not None:
            self._end_table()
        elif re.fullmatch(r"h[1-6]", tag) and self.heading:
            text = plain(runs(self.current or []))
            if text:
                self.blocks.append(Heading(text, min(max(self.heading, 2), 4)))
            self.current, self.heading = None, 0
        elif tag == "p" and self.list_items is None and self.table is None:
            self._close()

    def handle_data(self, data: str) -> None:
        if self.current is None:
            if not data.strip():
                return
            self._open()
        self._text(data if self.pre else data.replace("\n", " "))

    def close(self) -> None:
        super().close()
        self._close()

    def _open(self) -> None:
        self._close()
        self.current = []

    def _text(self, text: str) -> None:
        if self.current is None:
            self.current = []
        self.current.append(Run(text, bool(self.bold), bool(self.italic), self.href))

    def _close(self) -> None:
        if self.current is not None and self.list_items is None and self.table is None and not self.heading:
            content = runs(self.current)
            if content:
                self.blocks.append(Text(content))
            self.current = None

    def _end_item(self) -> None:
        if self.list_items is not None and self.current is not None:
            item = runs(self.current)
            if item:
                self.list_items.append(item)
            self.current = None

    def _end_table(self) -> None:
        table, self.table = self.table or [], None
        header = table[: self.header_rows][-1:] or [[]]
        body = [row for row in table[self.header_rows:] if row]
        width = max([len(header[0]), *(len(r) for r in body)] or [0])
        if not width:
            return
        head = tuple(plain(c) for c in header[0]) + ("",) * (width - len(header[0]))
        rows = tuple(tuple((Text(c),) for c in row) + ((Text(()),),) * (width - len(row)) for row in body)
        self.blocks.append(Grid(head, rows, tuple(1 / width for _ in range(width)),
                                tuple(False for _ in range(width))))


def markdown_blocks(source: str | None) -> list[Prepared]:
    parser = _MarkdownBlocks()
    parser.feed(str(markdown.render(source)))
    parser.close()
    return parser.blocks
