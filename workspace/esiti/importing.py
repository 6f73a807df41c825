"""Import of the previous objectives from a CSV, XLSX or ODS file, and the template to fill in.

The file's first sheet is read (openpyxl for XLSX, odfdo for ODS, the ``csv`` module for CSV: UTF-8
with or without BOM, or Windows-1252 as Excel writes a plain CSV; ``;`` or ``,`` between fields). Its first non-empty row holds the headers: the
column keys or the Italian headers of the table (``service.COLUMNS``), in any order; the computed
columns (percentages, bands, "N.") are ignored, so a file exported by Tavoli imports back as is.

All or nothing: every row is checked first (``service.clean``, the same rules as the form) and the
file is refused with one Italian message per bad row when any row is wrong; only a file without
errors is written, in one go.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from workspace import exports
from workspace.accounts.models import User
from workspace.esiti import permissions, scale, service
from workspace.esiti.models import PreviousObjective
from workspace.i18n import gettext as _
from workspace.i18n import ngettext
from workspace.problems import Problem
from workspace.procedures.models import Procedure

IMPORT_FORMATS = ("csv", "xlsx", "ods")
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = service.MAX_OBJECTIVES


class ImportRefused(Problem):
    """A file refused: ``rows`` lists, per bad row (its number in the file), its messages."""

    def __init__(self, message: str, rows: dict[int, list[str]] | None = None):
        self.rows: dict[int, list[str]] = rows or {}
        errors = {f"riga {n}": " ".join(messages) for n, messages in sorted(self.rows.items())}
        super().__init__("import_invalid", message, 422, errors=errors or None)


@dataclass
class ImportReport:
    added: list[PreviousObjective] = field(default_factory=list)

    def summary(self) -> str:
        return ngettext("Importato %(num)d obiettivo.", "Importati %(num)d obiettivi.", len(self.added))


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


HEADERS: dict[str, service.Column] = {}
for _column in service.COLUMNS:
    HEADERS[_fold(_column.key)] = _column
    HEADERS[_fold(_column.header)] = _column


def format_of(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in IMPORT_FORMATS:
        raise ImportRefused(_("Formato del file non ammesso: si importano file CSV, XLSX o ODS."))
    return extension


def _cells_csv(data: bytes) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's plain "CSV" on Windows is Windows-1252: accepted as such (UTF-8 is tried first,
        # and a UTF-8 file never fails to decode, so nothing is read twice in different ways).
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportRefused(_("Il file CSV non è in UTF-8: salvarlo come «CSV UTF-8» e riprovare.")) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _cells_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cells_ods(data: bytes) -> list[list[Any]]:
    from odfdo import Document

    tables = Document(io.BytesIO(data)).body.get_tables()
    if not tables:
        return []
    return [list(row) for row in tables[0].get_values()]


def read_cells(data: bytes, fmt: str) -> list[list[Any]]:
    """The first sheet's cells; a file the library cannot open is refused in Italian."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("Il file supera %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    if not data:
        raise ImportRefused(_("Il file è vuoto."))
    try:
        return {"csv": _cells_csv, "xlsx": _cells_xlsx, "ods": _cells_ods}[fmt](data)
    except ImportRefused:
        raise
    except Exception:  # a damaged or mislabelled file: whatever the library raised
        raise ImportRefused(_("Il file non si apre come %(f)s: controllare che sia il file giusto e non danneggiato.",
                              f=fmt.upper())) from None


def _blank(row: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def parse(data: bytes, fmt: str, existing: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The rows of a file, checked, as model values; ``ImportRefused`` listing every bad row (by its
    line in the file, the number a spreadsheet shows). ``existing``: titles already in the table
    (lower case), refused on their row so nothing is imported twice."""
    cells = read_cells(data, fmt)
    numbered = [(n, row) for n, row in enumerate(cells, start=1) if not _blank(row)]
    if not numbered:
        raise ImportRefused(_("Il file non contiene righe."))
    header_line, header = numbered[0]
    columns: list[service.Column | None] = []
    unknown = []
    for cell in header:
        if cell is None or not str(cell).strip():
            columns.append(None)
            continue
        column = HEADERS.get(_fold(str(cell)))
        if column is None:
            unknown.append(str(cell).strip()[:60])
        columns.append(column)
    if unknown:
        raise ImportRefused(_("Riga %(n)d: intestazioni non riconosciute: %(h)s. Usare il modello scaricabile.",
                              n=header_line, h=", ".join(f"«{h}»" for h in unknown)))
    if not any(c is not None and c.key == "obiettivo" for c in columns):
        raise ImportRefused(_("Manca la colonna «%(c)s»: usare il modello scaricabile.",
                              c=service.BY_KEY["obiettivo"].header))
    body = numbered[1:]
    if not body:
        raise ImportRefused(_("Il file ha le intestazioni ma nessun obiettivo."))
    if len(body) > MAX_ROWS:
        raise ImportRefused(_("Il file ha %(n)d righe: se ne importano al massimo %(m)d.", n=len(body), m=MAX_ROWS))
    rows: list[dict[str, Any]] = []
    problems: dict[int, list[str]] = {}
    seen: dict[str, int] = {}
    for line, row in body:
        raw: dict[str, Any] = {}
        for column, value in zip(columns, row, strict=False):
            if column is not None and not column.computed:
                raw[column.key] = value
        values, errors = service.clean(raw)
        messages = list(errors.values())
        title = (values.get("title") or "").lower()
        if title and "obiettivo" not in errors:
            if title in existing:
                messages.append(_("L'obiettivo «%(t)s» è già nella tabella.", t=values["title"][:80]))
            elif title in seen:
                messages.append(_("Stesso obiettivo della riga %(n)d.", n=seen[title]))
            else:
                seen[title] = line
        if messages:
            problems[line] = messages
        rows.append(values)
    if problems:
        raise ImportRefused(_("Il file ha %(n)d righe con errori: nulla è stato importato. Correggerle e riprovare.",
                              n=len(problems)), problems)
    return rows


def import_file(session: Session, actor: User, procedure: Procedure, filename: str, data: bytes) -> ImportReport:
    """Check the whole file, then add its objectives after those already in the table. An objective
    already in the table (same title) is an error of its row: nothing is imported twice."""
    permissions.require_edit(actor, procedure)
    fmt = format_of(filename)
    existing = frozenset(o.title.lower() for o in service.objectives(session, procedure))
    rows = parse(data, fmt, existing)
    if len(existing) + len(rows) > service.MAX_OBJECTIVES:
        raise ImportRefused(_("Una procedura ha al massimo %(n)d obiettivi precedenti.", n=service.MAX_OBJECTIVES))
    added = service.add_rows(session, actor, procedure, rows)
    service.announce(session, actor, "imported", procedure, None, format=fmt, rows=len(added))
    return ImportReport(added)


# --------------------------------------------------------------------------- the template


def _instructions() -> list[dict[str, str]]:
    accepted = {
        "text": "Testo libero (facoltativo).",
        "count": "Numero intero (facoltativo).",
        "money": "Importo in euro, al massimo due decimali (facoltativo).",
        "yes_no": "SI o NO (facoltativo; se indicato, va motivato nella colonna seguente).",
        "option": "Uno fra: " + ", ".join(scale.options("resource_adequacy")) + " (facoltativo).",
    }
    rows = []
    for column in service.INPUT_COLUMNS:
        what = accepted[column.kind]
        if column.key == "obiettivo":
            what = "Titolo dell'obiettivo (obbligatorio, uno per riga, senza ripetizioni)."
        elif column.key == "azioni_programmate":
            what = "Numero intero da 1 in su (serve per calcolare il grado di raggiungimento)."
        official = scale.label(column.dimension) if column.dimension else ""
        rows.append({"colonna": column.header, "chiave": column.key, "valori": what, "dimensione": official})
    return rows


def template_bytes(fmt: str) -> bytes:
    """The file to fill in: the first sheet has the input columns' headers only (every line under
    them is an objective); XLSX and ODS add an "Istruzioni" sheet saying what each column accepts.
    Percentages and bands are not asked for: Tavoli computes them."""
    fmt = exports.check_format(fmt, IMPORT_FORMATS).name
    columns = [exports.Column(c.key, c.header) for c in service.INPUT_COLUMNS]
    sheets = [exports.Sheet("Esiti 2021-2023", columns, [])]
    if fmt != "csv":
        sheets.append(exports.Sheet("Istruzioni", [exports.Column("colonna", "Colonna"),
                                                   exports.Column("chiave", "Chiave"),
                                                   exports.Column("valori", "Valori ammessi"),
                                                   exports.Column("dimensione", "Dimensione del modello ufficiale")],
                                    _instructions()))
    return exports.render_table(sheets if fmt != "csv" else sheets[0], fmt, IMPORT_FORMATS)
