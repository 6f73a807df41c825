"""Reading exported files back, for tests: text out of PDF, ODT, DOCX and HTML; rows out of CSV, XLSX,
ODS and JSON. Every reader opens the file with a real library (pypdf, odfdo, python-docx, openpyxl),
so a file that only looks right fails here.

Texts come back as they stand in the file; compare them through ``normalise`` (whitespace collapsed).
The PDF has two things the other formats keep apart: the running footer at the end of every page
(``pdf_body_text`` removes it) and the chart's own SVG text (drawn after the page's text; remove it
with ``svg_text``).

    body = pdf_body_text(data, footer="SHA-256: …")
    assert normalise(odt_text(odt)) == normalise(docx_text(docx)) == body
"""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from html.parser import HTMLParser

PDFAID = "http://www.aiim.org/pdfa/ns/id/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------- PDF


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return "\n".join(pdf_pages(data))


def strip_page_furniture(page: str, footer: str | None, header: str | None = None, page_label: str = "Pagina",
                         of_label: str = "di", repeated: tuple[str, ...] = ()) -> str:
    """One page's text without its running header and footer ("<footer>", "Pagina X di Y"), which
    WeasyPrint draws after the page's content, and without a table header row that the page repeats
    at its start (give those in ``repeated``)."""
    text = normalise(page)
    for row in map(normalise, repeated):
        if text.startswith(row + " "):
            text = text[len(row):].lstrip()
    numbers = re.compile(rf"\s*{re.escape(page_label)} \d+ {re.escape(of_label)} \d+$")
    furniture = [normalise(f) for f in (footer, header) if f]
    for _ in range(3):  # the boxes may come in any order
        text = numbers.sub("", text)
        for piece in furniture:
            if text.endswith(" " + piece):
                text = text[: -len(piece)].rstrip()
    return text


def pdf_body_text(data: bytes, footer: str | None, header: str | None = None, page_label: str = "Pagina",
                  of_label: str = "di", repeated: tuple[str, ...] = ()) -> str:
    """The text of every page less its running header and footer (and, from the second page on,
    the repeated table headers given), normalised and joined."""
    pages = pdf_pages(data)
    return normalise(" ".join(strip_page_furniture(p, footer, header, page_label, of_label, repeated if n else ())
                              for n, p in enumerate(pages)))


def pdf_footer_count(data: bytes, footer: str, page_label: str = "Pagina", of_label: str = "di") -> int:
    """On how many pages the footer text and "Pagina i di N" (with the right i and N) both stand."""
    pages = [normalise(p) for p in pdf_pages(data)]
    return sum(normalise(footer) in text and f"{page_label} {i} {of_label} {len(pages)}" in text
               for i, text in enumerate(pages, start=1))


def pdf_xmp(data: bytes) -> dict[str, str]:
    """The PDF/A identification and Dublin Core title from the XMP metadata stream of the catalog."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    stream = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    root = ET.fromstring(stream.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    found: dict[str, str] = {}
    for description in root.iter(f"{{{RDF}}}Description"):
        for key in ("part", "conformance"):
            value = description.get(f"{{{PDFAID}}}{key}") or description.findtext(f"{{{PDFAID}}}{key}")
            if value:
                found[key] = value
        title = description.find(f"{{{DC}}}title")
        if title is not None:
            found["title"] = "".join(title.itertext()).strip()
    return found


def pdf_fonts(data: bytes) -> dict[str, bool]:
    """Every font the pages use (also inside form XObjects), name → embedded (has a FontFile*)."""
    from pypdf import PdfReader

    fonts: dict[str, bool] = {}

    def descriptor(font) -> object:  # noqa: ANN001
        if "/FontDescriptor" in font:
            return font["/FontDescriptor"].get_object()
        if "/DescendantFonts" in font:
            return descriptor(font["/DescendantFonts"][0].get_object())
        return None

    def visit(resources, seen: set[int]) -> None:  # noqa: ANN001
        if resources is None or id(resources) in seen:
            return
        seen.add(id(resources))
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            described = descriptor(font)
            embedded = described is not None and any(k in described for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font.get("/BaseFont"))] = embedded
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form":
                visit(xobject.get("/Resources"), seen)

    for page in PdfReader(io.BytesIO(data)).pages:
        visit(page.get("/Resources"), set())
    return fonts


def svg_text(svg: str) -> str:
    """The text an SVG draws, in document order (what the PDF shows of a chart)."""
    root = ET.fromstring(svg)
    return normalise(" ".join(
        "".join(el.itertext()) for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "text"))


# --------------------------------------------------------------------------- ODT


FIELDS = {"text:page-number": "[PAGE]", "text:page-count": "[NUMPAGES]"}  # as Word names them


def _odf_text(element) -> str:  # noqa: ANN001 - an odfdo Element
    """A paragraph's text with ODF's spaces, tabs and line breaks; links give their text only."""
    parts = [element.text or ""]
    for child in element.children:
        tag = child.tag
        if tag == "text:s":
            parts.append(" " * int(child.get_attribute("text:c") or 1))
        elif tag in FIELDS:
            parts.append(FIELDS[tag])
        elif tag == "text:tab":
            parts.append("\t")
        elif tag == "text:line-break":
            parts.append("\n")
        elif tag not in ("draw:frame", "office:annotation", "text:note"):
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def odt_paragraphs(data: bytes) -> list[str]:
    """Every paragraph and heading of the body, in order (table cells and list items included)."""
    from odfdo import Document

    document = Document(io.BytesIO(data))
    return [_odf_text(p) for p in document.body.get_elements("descendant::text:p | descendant::text:h")]


def odt_text(data: bytes) -> str:
    return "\n".join(odt_paragraphs(data))


def odt_footer(data: bytes) -> str:
    """The footer of the default page style, its page fields shown as [PAGE] and [NUMPAGES]."""
    from odfdo import Document

    document = Document(io.BytesIO(data))
    footer = document.get_style("master-page", "Standard").get_page_footer()
    return "\n".join(_odf_text(p) for p in footer.get_elements("descendant::text:p"))


def odt_header(data: bytes) -> tuple[str, str]:
    """The header of the default page style, and the header of the first page: the master page that
    the first paragraph's style (or its parents) asks for, the default one when none does."""
    from odfdo import Document

    document = Document(io.BytesIO(data))

    def header(master_name: str) -> str:
        found = document.get_style("master-page", master_name).get_page_header()
        return "" if found is None else "\n".join(_odf_text(p) for p in found.get_elements("descendant::text:p"))

    style = document.get_style("paragraph", document.body.get_elements("text:p | text:h")[0].style)
    while style is not None and not style.get_attribute("style:master-page-name"):
        parent = style.parent_style
        style = document.get_style("paragraph", parent) if parent else None
    first = style.get_attribute("style:master-page-name") if style is not None else "Standard"
    return header("Standard"), header(first)


def odt_page_breaks(data: bytes) -> int:
    """Paragraphs whose style (automatic or common) breaks the page before or after them."""
    from odfdo import Document

    document = Document(io.BytesIO(data))
    breaking = set()
    for style in document.get_styles("paragraph"):
        properties = style.get_properties(area="paragraph") or {}
        if "page" in (properties.get("fo:break-before"), properties.get("fo:break-after")):
            breaking.add(style.name)
    return sum(p.style in breaking for p in document.body.get_elements("descendant::text:p"))


def odt_tables(data: bytes) -> list[list[list[str]]]:
    from odfdo import Document

    document = Document(io.BytesIO(data))
    return [[[normalise("\n".join(_odf_text(p) for p in cell.get_elements("descendant::text:p")))
              for cell in row.traverse()] for row in table.traverse()]
            for table in document.body.get_tables()]


# --------------------------------------------------------------------------- DOCX


def docx_paragraphs(data: bytes) -> list[str]:
    """Every paragraph of the body in order, those in table cells included."""
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    return [Paragraph(p, document._body).text for p in document.element.body.iter(qn("w:p"))]


def docx_text(data: bytes) -> str:
    return "\n".join(docx_paragraphs(data))


def docx_footer(data: bytes) -> str:
    """The first section's footer text, each field shown by its code ([PAGE], [NUMPAGES]) in place
    of the number Word last computed."""
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(io.BytesIO(data))
    lines = []
    for paragraph in document.sections[0].footer.paragraphs:
        parts, code, state = [], [], "text"
        for element in paragraph._p.iter():
            if element.tag == qn("w:fldChar"):
                kind = element.get(qn("w:fldCharType"))
                if kind == "begin":
                    state, code = "code", []
                elif kind == "separate":
                    state = "result"
                elif kind == "end":
                    parts.append(f"[{normalise(''.join(code))}]")
                    state = "text"
            elif element.tag == qn("w:instrText") and state == "code":
                code.append(element.text or "")
            elif element.tag == qn("w:t") and state == "text":
                parts.append(element.text or "")
        lines.append("".join(parts))
    return "\n".join(lines)


def docx_header(data: bytes) -> tuple[str, str]:
    """The first section's header text, and the first page's (Word's "different first page")."""
    import docx

    section = docx.Document(io.BytesIO(data)).sections[0]
    first = section.first_page_header.paragraphs if section.different_first_page_header_footer else \
        section.header.paragraphs
    return "\n".join(p.text for p in section.header.paragraphs), "\n".join(p.text for p in first)


def docx_tables(data: bytes) -> list[list[list[str]]]:
    import docx

    document = docx.Document(io.BytesIO(data))
    return [[[normalise(cell.text) for cell in row.cells] for row in table.rows] for table in document.tables]


def docx_page_breaks(data: bytes) -> int:
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(io.BytesIO(data))
    return sum(br.get(qn("w:type")) == "page" for br in document.element.body.iter(qn("w:br")))


# --------------------------------------------------------------------------- HTML


class _HtmlText(HTMLParser):
    SKIP = {"head", "style", "script", "svg", "title"}
    BLOCK = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "caption", "figcaption", "br", "tr",
             "header", "footer", "div"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag in self.SKIP:
            self.skipping += 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping -= 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The visible text of a page or fragment; the chart SVG, styles and scripts left out."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def html_tags(html: str) -> list[str]:
    """Every element that the markup opens, in order: how a test sees that no ``<script>`` got in."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser.tags


# --------------------------------------------------------------------------- tabular


def csv_rows(data: bytes) -> list[list[str]]:
    """Rows of the Italian CSV: checks the BOM, then reads with ``;``."""
    assert data.startswith(b"\xef\xbb\xbf"), "CSV senza BOM UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def json_rows(data: bytes) -> list[dict]:
    return json.loads(data.decode("utf-8"))


def xlsx_sheet_names(data: bytes) -> list[str]:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data), read_only=True).sheetnames


def xlsx_rows(data: bytes, sheet: int | str = 0) -> list[list]:
    """Typed values; a date-only cell (number format without hours) comes back as ``date``."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
    rows = []
    for row in ws.iter_rows():
        values = []
        for cell in row:
            value = cell.value
            if isinstance(value, datetime) and "h" not in cell.number_format.lower():
                value = value.date()
            values.append(value)
        rows.append(values)
    return rows


def xlsx_types(data: bytes, sheet: int = 0) -> list[list[str]]:
    """openpyxl's data type of every cell: ``n`` number, ``s`` string, ``b`` boolean, ``d`` date,
    ``f`` formula (which an export must never contain)."""
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data)).worksheets[sheet]
    return [[cell.data_type for cell in row] for row in ws.iter_rows()]


def ods_sheet_names(data: bytes) -> list[str]:
    from odfdo import Document

    return [t.name for t in Document(io.BytesIO(data)).body.get_tables()]


def ods_rows(data: bytes, sheet: int = 0) -> list[list]:
    """Typed values (int or Decimal, date, datetime, bool, str, None)."""
    from odfdo import Document

    return Document(io.BytesIO(data)).body.get_tables()[sheet].get_values()


def ods_types(data: bytes, sheet: int = 0) -> list[list[str | None]]:
    """The ``office:value-type`` of every cell (float, string, date, boolean; None when empty) and
    whether any carries a formula (``table:formula`` → "formula")."""
    from odfdo import Document

    table = Document(io.BytesIO(data)).body.get_tables()[sheet]
    return [["formula" if cell.formula else cell.type for cell in row.traverse()] for row in table.traverse()]


def as_date(value: object) -> object:
    """ISO strings from JSON back to ``date``/``datetime``, to compare with the values sent."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+([+-]\d{2}:\d{2})?", value):
        return datetime.fromisoformat(value)
    return value
