"""The export formats: names, MIME types and extensions, the one refusal for a format that is not on
offer, the renderers behind each name, and the download response the views share."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response

from workspace.exports.document import Document
from workspace.exports.tables import Sheet, render_sheets
from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.serving import offload_in_context


@dataclass(frozen=True)
class Format:
    name: str
    mime: str
    extension: str
    label: str


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("pdf", "application/pdf", ".pdf", "PDF/A"),
    Format("odt", "application/vnd.oasis.opendocument.text", ".odt", "ODT (OpenDocument)"),
    Format("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", "DOCX (Word)"),
    Format("html", "text/html; charset=utf-8", ".html", "HTML"),
    Format("ods", "application/vnd.oasis.opendocument.spreadsheet", ".ods", "ODS (OpenDocument)"),
    Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", "XLSX (Excel)"),
    Format("csv", "text/csv; charset=utf-8", ".csv", "CSV"),
    Format("json", "application/json", ".json", "JSON"),
)}
# Open formats first, as the project's conventions ask.
DOCUMENT_FORMATS = ("pdf", "odt", "docx", "html")
TABLE_FORMATS = ("ods", "xlsx", "csv", "json")


def check_format(name: str | None, allowed: Iterable[str]) -> Format:
    """The format called ``name`` if it is among ``allowed``; otherwise the refusal every CLI command
    and view shows (422, Italian, listing what is on offer)."""
    allowed = tuple(allowed)
    key = (name or "").strip().lower().lstrip(".")
    if key in allowed and key in FORMATS:
        return FORMATS[key]
    raise _refusal(name, allowed)


def _refusal(name: str | None, allowed: Sequence[str]) -> Problem:
    shown = (name or "").strip()[:20] or "—"
    return Problem("invalid_format", _("Formato non disponibile: %(name)s. Formati ammessi: %(allowed)s.",
                                       name=shown, allowed=", ".join(allowed)), 422)


def render(document: Document, fmt: str, allowed: Iterable[str] = DOCUMENT_FORMATS) -> bytes:
    """The document in ``fmt`` (pdf, odt, docx, html). CPU-bound, no shared state: under gevent it
    runs in a thread of the pool, off the event loop (workspace/serving.py)."""
    allowed = tuple(allowed)
    name = check_format(fmt, allowed).name
    return offload_in_context(_render, document, name, allowed)


def _render(document: Document, name: str, allowed: tuple[str, ...]) -> bytes:
    fmt = name
    if name == "pdf":
        from workspace.exports.html_pdf import pdf

        return pdf(document)
    if name == "odt":
        from workspace.exports.odt import render as odt

        return odt(document)
    if name == "docx":
        from workspace.exports.word import render as docx

        return docx(document)
    if name == "html":
        from workspace.exports.html_pdf import page

        return page(document).encode("utf-8")
    raise _refusal(fmt, [f for f in allowed if f in DOCUMENT_FORMATS])  # e.g. "csv" for a document


def render_table(sheets: Sheet | Sequence[Sheet], fmt: str, allowed: Iterable[str] = TABLE_FORMATS) -> bytes:
    """Sheets in ``fmt`` (ods, xlsx, csv, json); CSV and JSON take exactly one sheet. Off the event
    loop under gevent, like ``render``."""
    return offload_in_context(render_sheets, sheets, check_format(fmt, allowed).name)


def filename(stem: str, fmt: str) -> str:
    return f"{stem}{FORMATS[fmt].extension}"


def download_response(data: bytes, stem: str, fmt: str) -> Response:
    """A download: the right MIME type, ``Content-Disposition: attachment`` with an ASCII name for
    old clients and the UTF-8 name (RFC 5987/6266) for the others, and nothing kept in caches."""
    kind = FORMATS[fmt]
    stem = re.sub(r"[\x00-\x1f\x7f/\\]+", " ", stem).strip() or "documento"
    response = Response(data)
    response.headers["Content-Type"] = kind.mime
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{ascii_filename(stem)}{kind.extension}"; '
        f"filename*=UTF-8''{quote(stem + kind.extension, safe='')}")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def ascii_filename(stem: str) -> str:
    """«Verbale n. 3 – più» → «Verbale-n.-3-piu»: accents dropped, anything else that could break
    the header (quotes, slashes, controls, spaces) replaced."""
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return text or "documento"
