"""Tabular exports: one or more ``Sheet``s as CSV, XLSX, ODS or JSON.

Cells keep their type where the format has one (numbers, dates, booleans; ``None`` is an empty
cell). Text that a spreadsheet would run as a formula is neutralised (``neutralise``) in CSV, XLSX
and ODS. The CSV is what an Italian spreadsheet opens without an import dialog: UTF-8 with BOM, ``;``
between fields, decimal comma, dates as dd/mm/yyyy, CRLF line ends.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from workspace.exports.document import Value, decimal_places

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe (OWASP's
    CSV injection advice); numbers, dates and everything else pass unchanged, so -3 stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    key: str  # the JSON key
    label: str  # the header cell
    width: float | None = None  # in characters; measured from the content when missing


@dataclass(frozen=True)
class Sheet:
    """Rows are mappings keyed by column key, or sequences in column order."""
    name: str
    columns: Sequence[Column | str]
    rows: Sequence[Mapping[str, Value] | Sequence[Value]]

    @property
    def cols(self) -> list[Column]:
        return [c if isinstance(c, Column) else Column(c, c) for c in self.columns]

    def values(self) -> Iterator[list[Value]]:
        keys = [c.key for c in self.cols]
        for row in self.rows:
            if isinstance(row, Mapping):
                yield [row.get(k) for k in keys]
            else:
                if len(row) != len(keys):
                    raise ValueError(f"Riga di {len(row)} valori in un foglio di {len(keys)} colonne: {row!r}")
                yield list(row)


def render_sheets(sheets: Sheet | Sequence[Sheet], fmt: str) -> bytes:
    """CSV and JSON hold one sheet: give the one you want. XLSX and ODS hold them all."""
    sheets = [sheets] if isinstance(sheets, Sheet) else list(sheets)
    if not sheets:
        raise ValueError("Nessun foglio da esportare.")
    if fmt in ("csv", "json"):
        if len(sheets) != 1:
            raise ValueError(f"Il formato {fmt} contiene un solo foglio: scegliere quale esportare.")
        return to_csv(sheets[0]) if fmt == "csv" else to_json(sheets[0])
    if fmt == "xlsx":
        return to_xlsx(sheets)
    if fmt == "ods":
        return to_ods(sheets)
    raise ValueError(f"Formato tabellare sconosciuto: {fmt}")


# --------------------------------------------------------------------------- CSV and JSON


def csv_text(value: Value) -> str:
    """A value as an Italian spreadsheet reads it back: 1234,5 · 02/03/2026 · Sì."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Sì" if value else "No"
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f").replace(".", ",")  # shortest exact form, no exponent
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(neutralise(value))


def to_csv(sheet: Sheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(c.label) for c in sheet.cols])
    for values in sheet.values():
        writer.writerow([csv_text(v) for v in values])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def json_value(value: Value) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and not decimal_places(value) else float(value)
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value


def to_json(sheet: Sheet) -> bytes:
    keys = [c.key for c in sheet.cols]
    rows = [{k: json_value(v) for k, v in zip(keys, values, strict=True)} for values in sheet.values()]
    return (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- XLSX


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="E6E9F2")
    for name, sheet in zip(_sheet_names(sheets), sheets, strict=True):
        ws = book.create_sheet(name)
        cols = sheet.cols
        ws.append([_safe(c.label) for c in cols])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        widths = [len(c.label) for c in cols]
        for r, values in enumerate(sheet.values(), start=2):
            for i, raw in enumerate(values):
                value = _safe(raw)
                cell = ws.cell(row=r, column=i + 1)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
                if isinstance(value, datetime):
                    cell.number_format = "DD/MM/YYYY HH:MM"
                elif isinstance(value, date):
                    cell.number_format = "DD/MM/YYYY"
                elif isinstance(value, Decimal) and decimal_places(value):
                    cell.number_format = "0." + "0" * decimal_places(value)
                widths[i] = max(widths[i], len(csv_text(value)))
        for i, column in enumerate(cols):
            ws.column_dimensions[get_column_letter(i + 1)].width = column.width or min(max(widths[i], 6) + 2, 60)
        ws.freeze_panes = "A2"
        if cols:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(ws.max_row, 1)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- ODS


def to_ods(sheets: Sequence[Sheet]) -> bytes:
    from odfdo import Cell, Column, Document, Element, Row, Style, Table

    ods = Document("spreadsheet")
    ods.body.clear()
    # Dates shown as dd/mm/yyyy (and hh:mm): a cell style pointing at a number style.
    for name, pattern in (("Tv_date", "<number:day number:style='long'/><number:text>/</number:text>"
                                      "<number:month number:style='long'/><number:text>/</number:text>"
                                      "<number:year number:style='long'/>"),
                          ("Tv_datetime", "<number:day number:style='long'/><number:text>/</number:text>"
                                          "<number:month number:style='long'/><number:text>/</number:text>"
                                          "<number:year number:style='long'/><number:text> </number:text>"
                                          "<number:hours number:style='long'/><number:text>:</number:text>"
                                          "<number:minutes number:style='long'/>")):
        number_style = Element.from_tag(f'<number:date-style style:name="{name}_n">{pattern}</number:date-style>')
        ods.insert_style(cast(Style, number_style), automatic=True)
        cell_style = Style("table-cell", name=name)
        cell_style.set_attribute("style:data-style-name", f"{name}_n")
        ods.insert_style(cell_style, automatic=True)
    head = Style("table-cell", name="Tv_head", background_color="#e6e9f2")
    head.set_properties(area="text", properties={"fo:font-weight": "bold"})
    ods.insert_style(head, automatic=True)
    for n, (name, sheet) in enumerate(zip(_sheet_names(sheets), sheets, strict=True)):
        table = Table(name)
        cols = sheet.cols
        rows = list(sheet.values())
        for i, column in enumerate(cols):
            chars = column.width or min(max([len(column.label), 6, *(len(csv_text(r[i])) for r in rows)]) + 2, 60)
            style = Style("table-column", name=f"Tv_s{n}_c{i}", width=f"{chars * 0.21:.2f}cm")
            ods.insert_style(style, automatic=True)
            table.append(Column(style=style.name))
        header = Row()
        for column in cols:
            header.append(Cell(_safe(column.label), style="Tv_head"))
        table.append(header)
        for values in rows:
            row = Row()
            for raw in values:
                value = _safe(raw)
                look = "Tv_datetime" if isinstance(value, datetime) else "Tv_date" if isinstance(value, date) else None
                row.append(Cell(value, style=look) if value is not None else Cell())
            table.append(row)
        ods.body.append(table)
    out = io.BytesIO()
    ods.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- shared


def _sheet_names(sheets: Sequence[Sheet]) -> list[str]:
    """Names both spreadsheets accept: no []:*?/\\, at most 31 characters, each one unique."""
    names: list[str] = []
    for n, sheet in enumerate(sheets, start=1):
        base = re.sub(r"[\[\]:*?/\\']", "-", sheet.name).strip()[:31] or f"Foglio {n}"
        name, k = base, 2
        while name.lower() in (x.lower() for x in names):
            suffix = f" ({k})"
            name, k = base[: 31 - len(suffix)] + suffix, k + 1
        names.append(name)
    return names


def _safe(value: Value) -> Value:
    """What a spreadsheet cell gets: formulas neutralised, and no time zone (spreadsheets have
    none: the wall-clock time the caller gave is kept)."""
    if isinstance(value, str):
        return cast(str, neutralise(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value
