"""What a document says, as plain data: the domain areas build a ``Document`` of blocks and every
renderer (PDF/A, ODT, DOCX, HTML) reads the same description, so every format carries the same text.

Blocks: ``Heading``, ``Paragraph`` (plain text or ``Run``s with bold/italic/link), ``Markdown`` (user
text, sanitised by ``workspace.markdown`` and mapped to blocks), ``BulletList``, ``Table``, ``Fields``
(label → value, the two-column official card), ``PageBreak`` and ``Figure`` (a chart from
``workspace.exports.charts`` with its data table). Nothing here knows a domain.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

if TYPE_CHECKING:
    from workspace.exports.charts import BarChart

Value = str | int | float | Decimal | date | datetime | bool | None


@dataclass(frozen=True)
class Run:
    """A piece of text with one look. ``\\n`` in ``text`` is a line break."""
    text: str
    bold: bool = False
    italic: bool = False
    href: str | None = None


# Inline content: plain text, or a sequence of runs.
Inline = str | Sequence[Run]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1  # 1-4, under the document's title


@dataclass(frozen=True)
class Paragraph:
    content: Inline


@dataclass(frozen=True)
class Markdown:
    """User-written Markdown: rendered and sanitised by ``workspace.markdown.render`` (the one place
    that does it), then mapped to paragraphs, lists, headings and tables."""
    source: str


@dataclass(frozen=True)
class BulletList:
    items: Sequence[Inline]
    ordered: bool = False


@dataclass(frozen=True)
class Table:
    """A table with a header row (repeated on every page it spans). Cells are values (numbers,
    dates, booleans, ``None``, formatted in the document's language) or inline content.
    ``widths`` are relative column widths (any unit, e.g. ``(3, 1, 1)``)."""
    columns: Sequence[str]
    rows: Sequence[Sequence[Value | Sequence[Run]]]
    caption: str | None = None
    widths: Sequence[float] | None = None


@dataclass(frozen=True)
class Fields:
    """Label → value pairs laid out as a two-column official table (a scheda, a card). A value may
    be a value, inline content or ``Markdown``."""
    items: Sequence[tuple[str, Value | Sequence[Run] | Markdown]]
    caption: str | None = None


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Figure:
    """A chart drawn by the renderers themselves (never caller SVG), with its data table."""
    chart: BarChart
    caption: str


Block = Heading | Paragraph | Markdown | BulletList | Table | Fields | PageBreak | Figure


@dataclass(frozen=True)
class Document:
    """``footer`` (e.g. ``"SHA-256: …"``) is printed on every page beside "Pagina X di Y"."""
    title: str
    blocks: Sequence[Block] = ()
    subtitle: str | None = None
    organisation: str | None = None
    author: str | None = None
    created: date | datetime | None = None
    footer: str | None = None
    lang: str = "it"


# The few words a renderer adds itself, in the document's language (not the reader's interface
# language: an Italian verbale stays Italian when an English-speaking user downloads it).
WORDS = {
    "it": {"page": "Pagina", "of": "di", "yes": "Sì", "no": "No", "date": "Data", "author": "A cura di",
           "data": "Dati del grafico", "total": "Totale"},
    "en": {"page": "Page", "of": "of", "yes": "Yes", "no": "No", "date": "Date", "author": "By",
           "data": "Chart data", "total": "Total"},
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang.split("-")[0], WORDS["it"])


def language_tag(lang: str) -> str:
    """A full tag for office files, which want a country too: it → it-IT, en → en-GB."""
    return lang if "-" in lang else {"it": "it-IT", "en": "en-GB"}.get(lang, lang)


def format_value(value: Value, lang: str = "it") -> str:
    """A value as a reader of ``lang`` writes it: 1.234,5 · 02/03/2026 · Sì."""
    locale = lang.replace("-", "_")
    if value is None:
        return ""
    if isinstance(value, bool):
        return words(lang)["yes" if value else "no"]
    if isinstance(value, Decimal):
        # Keep the scale the caller chose (12.50 € stays 12,50).
        decimals = decimal_places(value)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=locale)
    if isinstance(value, int | float):
        return format_decimal(value, locale=locale)
    if isinstance(value, datetime):
        return format_datetime(value, "dd/MM/yyyy HH:mm", locale=locale)
    if isinstance(value, date):
        return format_date(value, "dd/MM/yyyy", locale=locale)
    return str(value)


def decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0  # NaN and infinities: 0


def is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
