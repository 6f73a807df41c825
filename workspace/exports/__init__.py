"""Official documents and data exports: the one low-level rendering module of Tavoli.

It knows no domain. A domain area describes its document with plain data (``Document`` and its
blocks, or ``Sheet``s) and asks for bytes in a format:

    from workspace import exports
    doc = exports.Document("Verbale della seduta n. 3", footer="SHA-256: …", blocks=[
        exports.Heading("Presenti"), exports.Table(["Nome", "Ente"], rows),
        exports.Figure(exports.bar_chart("Voti", labels, values), "Figura 1 – Voti per bisogno")])
    pdf = exports.render(doc, "pdf")                       # also odt, docx, html
    ods = exports.render_table(exports.Sheet("Priorità", columns, rows), "ods")  # xlsx, csv, json
    return exports.download_response(pdf, "verbale-3", "pdf")

Unknown or unoffered formats are refused by ``check_format`` with one Italian message (422).
"""
from workspace.exports.charts import BarChart, Series, bar_chart
from workspace.exports.document import (
    BulletList,
    Document,
    Fields,
    Figure,
    Heading,
    Markdown,
    PageBreak,
    Paragraph,
    Run,
    Table,
    format_value,
)
from workspace.exports.formats import (
    DOCUMENT_FORMATS,
    FORMATS,
    TABLE_FORMATS,
    Format,
    check_format,
    download_response,
    filename,
    render,
    render_table,
)
from workspace.exports.html_pdf import fragment, stylesheet
from workspace.exports.tables import Column, Sheet, neutralise

__all__ = [
    "DOCUMENT_FORMATS", "FORMATS", "TABLE_FORMATS", "BarChart", "BulletList", "Column", "Document", "Fields",
    "Figure", "Format", "Heading", "Markdown", "PageBreak", "Paragraph", "Run", "Series", "Sheet", "Table",
    "bar_chart", "check_format", "download_response", "filename", "format_value", "fragment", "neutralise",
    "render", "render_table", "stylesheet",
]
