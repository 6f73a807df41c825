"""Bar charts drawn on the server as SVG, from plain data.

Accessible: ``role="img"`` with ``<title>`` and ``<desc>``, text as real SVG text (so it is text in
the PDF too), colours at least 3:1 against white (WCAG 1.4.11) with white gaps between stacked
segments, and every chart travels with its data table (``data_table``). Deterministic: the same data
gives the same bytes. Every piece of text is escaped; the SVG is the only markup the HTML renderer
passes through unescaped, because it is built here and nowhere else.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import escape

from workspace.exports.document import Table, format_value, words

Number = int | float | Decimal

# Blue, orange, green, purple, red, grey: each at least 3:1 on white, told apart also by the gaps.
PALETTE = ("#0066CC", "#B35900", "#00804D", "#7A3D99", "#A61C3C", "#5C6F82")
INK = "#1A1A1A"
GRID = "#C5C7C9"
AXIS = "#5C6F82"
FONT = "Liberation Sans, DejaVu Sans, sans-serif"
FONT_SIZE = 12
CHAR = 0.56 * FONT_SIZE  # average glyph width, to wrap labels without measuring
WIDTH = 640


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number | None]


@dataclass(frozen=True)
class BarChart:
    """One series draws simple bars; several series draw stacked bars with a legend.
    ``category`` names the label column of the data table; ``percent`` formats values as 0-100 %."""
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    category: str = ""
    unit: str | None = None
    percent: bool = False
    horizontal: bool = True
    description: str | None = None

    def __post_init__(self) -> None:
        if not self.series:
            raise ValueError("Un grafico ha almeno una serie di valori.")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"La serie «{s.name}» ha {len(s.values)} valori per {len(self.labels)} voci.")
            if any(v is not None and v < 0 for v in s.values):
                raise ValueError(f"La serie «{s.name}» ha valori negativi: le barre partono da zero.")


def bar_chart(title: str, labels: Sequence[str], values: Sequence[Number | None], *, name: str = "",
              category: str = "", unit: str | None = None, percent: bool = False,
              horizontal: bool = True, description: str | None = None) -> BarChart:
    """A chart of one series (the common case)."""
    return BarChart(title, labels, (Series(name, values),), category, unit, percent, horizontal, description)


def data_table(chart: BarChart, lang: str = "it") -> Table:
    """The chart's numbers as a table: the same text for readers who cannot see the bars."""
    suffix = " (%)" if chart.percent else f" ({chart.unit})" if chart.unit else ""
    stacked = len(chart.series) > 1
    columns = [chart.category, *[(s.name or chart.title) + suffix for s in chart.series]]
    rows: list[list] = []
    for i, label in enumerate(chart.labels):
        values = [s.values[i] for s in chart.series]
        rows.append([label, *values, *([_total(values)] if stacked else [])])
    if stacked:
        columns.append(words(lang)["total"] + suffix)
    return Table(columns, rows, caption=f"{words(lang)['data']}: {chart.title}", widths=(2, *([1] * (len(columns) - 1))))


def svg(chart: BarChart, lang: str = "it") -> str:
    return _horizontal(chart, lang) if chart.horizontal else _vertical(chart, lang)


def png(chart: BarChart, lang: str = "it", scale: float = 2) -> bytes:
    """The same chart as PNG, for ODT and DOCX (their readers do not all show SVG)."""
    import cairosvg  # imported here: only ODT/DOCX need the rasteriser

    return cairosvg.svg2png(bytestring=svg(chart, lang).encode("utf-8"), scale=scale, unsafe=False)


# --------------------------------------------------------------------------- drawing


def _horizontal(chart: BarChart, lang: str) -> str:
    label_width, gap = 200, 12
    x0 = label_width + gap
    bar_space = WIDTH - x0 - 90  # room on the right for the value
    top = _legend_height(chart)
    top_axis = top + 4
    rows = [_wrap(label, label_width) for label in chart.labels]
    heights = [max(24, 15 * len(lines) + 8) for lines in rows]
    plot_height = sum(heights) + 8
    height = top_axis + plot_height + 26
    scale_max, ticks = _scale(chart)
    body: list[str] = _legend(chart, 8)
    for tick in ticks:
        x = x0 + bar_space * tick / scale_max
        body.append(f'<line x1="{x:.1f}" y1="{top_axis}" x2="{x:.1f}" y2="{top_axis + plot_height}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(_fmt(tick, chart, lang), x, top_axis + plot_height + 16, anchor="middle", size=10))
    body.append(f'<line x1="{x0}" y1="{top_axis}" x2="{x0}" y2="{top_axis + plot_height}" '
                f'stroke="{AXIS}" stroke-width="1.5"/>')
    y = top_axis + 4
    for i, (lines, h) in enumerate(zip(rows, heights, strict=True)):
        middle = y + h / 2
        first = middle - 7.5 * (len(lines) - 1) + 4
        for n, line in enumerate(lines):
            body.append(_text(line, label_width, first + 15 * n, anchor="end"))
        x = float(x0)
        values = [s.values[i] for s in chart.series]
        for k, value in enumerate(values):
            if not value:
                continue
            w = bar_space * float(value) / scale_max
            body.append(f'<rect x="{x:.1f}" y="{middle - 8:.1f}" width="{w:.1f}" height="16" '
                        f'fill="{PALETTE[k % len(PALETTE)]}" stroke="#FFFFFF" stroke-width="1"/>')
            x += w
        body.append(_text(_fmt(_total(values), chart, lang), x + 6, middle + 4))  # "—" when missing
        y += h
    return _frame(chart, lang, WIDTH, height, body)


def _vertical(chart: BarChart, lang: str) -> str:
    n = max(len(chart.labels), 1)
    left, right = 56, 16
    slot = (WIDTH - left - right) / n
    bar = min(56.0, slot * 0.6)
    rows = [_wrap(label, slot - 4) for label in chart.labels]
    label_lines = max((len(r) for r in rows), default=1)
    top = _legend_height(chart) + 20  # room for the value above the tallest bar
    plot = 220
    height = top + plot + 10 + 15 * label_lines + 6
    scale_max, ticks = _scale(chart)
    base = top + plot
    body: list[str] = _legend(chart, 8)
    for tick in ticks:
        y = base - plot * tick / scale_max
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
                    f'stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(_fmt(tick, chart, lang), left - 6, y + 4, anchor="end", size=10))
    body.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH - right}" y2="{base}" stroke="{AXIS}" '
                f'stroke-width="1.5"/>')
    for i, lines in enumerate(rows):
        center = left + slot * (i + 0.5)
        y = float(base)
        values = [s.values[i] for s in chart.series]
        for k, value in enumerate(values):
            if not value:
                continue
            h = plot * float(value) / scale_max
            y -= h
            body.append(f'<rect x="{center - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{PALETTE[k % len(PALETTE)]}" stroke="#FFFFFF" stroke-width="1"/>')
        body.append(_text(_fmt(_total(values), chart, lang), center, y - 6, anchor="middle"))
        for m, line in enumerate(lines):
            body.append(_text(line, center, base + 18 + 15 * m, anchor="middle"))
    return _frame(chart, lang, WIDTH, height, body)


def _frame(chart: BarChart, lang: str, width: float, height: float, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" font-family="{FONT}" font-size="{FONT_SIZE}" '
        f'aria-labelledby="{_id(chart)}-t {_id(chart)}-d">'
        f'<title id="{_id(chart)}-t">{escape(chart.title)}</title>'
        f'<desc id="{_id(chart)}-d">{escape(_description(chart, lang))}</desc>'
        f'<rect width="100%" height="100%" fill="#FFFFFF"/>'
        + "".join(body) + "</svg>"
    )


def _id(chart: BarChart) -> str:
    # Stable and unique enough on one page: derived from the content, not from a counter.
    digest = hashlib.sha1(repr(chart).encode("utf-8"), usedforsecurity=False)
    return "chart-" + digest.hexdigest()[:10]


def _description(chart: BarChart, lang: str) -> str:
    if chart.description:
        return chart.description
    parts = []
    for i, label in enumerate(chart.labels):
        values = [s.values[i] for s in chart.series]
        parts.append(f"{label}: {_fmt(_total(values), chart, lang)}")
    return "; ".join(parts)


def _legend_height(chart: BarChart) -> int:
    return 28 * len(_legend_rows(chart)) if len(chart.series) > 1 else 8


def _legend_rows(chart: BarChart) -> list[list[int]]:
    rows: list[list[int]] = [[]]
    x = 8.0
    for k, s in enumerate(chart.series):
        w = 22 + len(s.name) * CHAR + 18
        if rows[-1] and x + w > WIDTH - 8:
            rows.append([])
            x = 8.0
        rows[-1].append(k)
        x += w
    return rows


def _legend(chart: BarChart, top: int) -> list[str]:
    if len(chart.series) < 2:
        return []
    out = []
    for r, row in enumerate(_legend_rows(chart)):
        x, y = 8.0, top + 28 * r
        for k in row:
            name = chart.series[k].name
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="14" fill="{PALETTE[k % len(PALETTE)]}"/>')
            out.append(_text(name, x + 20, y + 11))
            x += 22 + len(name) * CHAR + 18
    return out


def _text(text: str, x: float, y: float, anchor: str = "start", size: int = FONT_SIZE) -> str:
    size_attr = f' font-size="{size}"' if size != FONT_SIZE else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{INK}"{size_attr}>'
            f"{escape(text)}</text>")


def _wrap(label: str, width: float, max_lines: int = 3) -> list[str]:
    """Greedy word wrap by an average glyph width; past ``max_lines`` the label ends with "…"
    (the data table always has it in full)."""
    per_line = max(4, int(width / CHAR))
    lines: list[str] = []
    for word in label.split():
        while len(word) > per_line:  # a word longer than a line is cut
            if lines and len(lines[-1]) + 1 < per_line:
                room = per_line - len(lines[-1]) - 1
                lines[-1] += " " + word[:room]
                word = word[room:]
            else:
                lines.append(word[:per_line])
                word = word[per_line:]
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        elif word:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: per_line - 1].rstrip() + "…"
    return lines or [""]


def _total(values: Sequence[Number | None]) -> Number | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _scale(chart: BarChart) -> tuple[float, list[float]]:
    """A round maximum and 4-6 round ticks, so the axis reads 0, 10, 20, 30, 40, 50."""
    top = max((float(t) for i in range(len(chart.labels))
               if (t := _total([s.values[i] for s in chart.series])) is not None), default=0.0)
    if chart.percent:
        top = max(top, 0.0)
    if top <= 0:
        return 1.0, [0.0, 1.0]
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    count = math.ceil(top / step - 1e-9)
    return step * count, [step * i for i in range(count + 1)]


def _fmt(value: Number | None, chart: BarChart, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = format_value(value, lang)
    if chart.percent:
        return text + "%"
    return f"{text} {chart.unit}" if chart.unit else text
