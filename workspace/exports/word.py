"""DOCX with python-docx: A4, Word's own styles (Title, Heading n, List Bullet/Number, Caption, Table
Grid) set to the document font; the footer text and "Pagina X di Y" fields on every page and the
title on top of every page after the first; header rows repeated on every page; ordered lists that
each count from 1; charts as pictures with alternative text, followed by their data table.

python-docx has no call for fields, hyperlinks, repeated header rows or cell shading: those few
elements are added to its element tree with its own ``OxmlElement``."""
from __future__ import annotations

import io
from datetime import datetime
from typing import cast

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.parts.document import DocumentPart
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph

from workspace.exports.document import Document, Heading, PageBreak, language_tag
from workspace.exports.layout import Chart, Flow, Grid, Items, Layout, Runs, Text, prepare

FONT = "Arial"  # on every Word; LibreOffice maps it to the metric-compatible Liberation Sans
INK = RGBColor(0x17, 0x32, 0x4D)
LINK = RGBColor(0x00, 0x59, 0xB3)
TEXT_WIDTH_MM = 170


def render(document: Document) -> bytes:
    layout = prepare(document)
    word = docx.Document()
    _page_and_styles(word, layout)
    _front(word, layout)
    for block in layout.blocks:
        _block(word, block)
    _header_and_footer(word, layout)
    _properties(word, layout)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _page_and_styles(word: docx.document.Document, layout: Layout) -> None:
    section = word.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin, section.bottom_margin = Mm(20), Mm(22)
    section.footer_distance = Mm(10)
    normal = word.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(10.5)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), language_tag(layout.lang))
    normal.element.get_or_add_rPr().append(language)
    for name, size in (("Title", 17), ("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 10.5),
                       ("Heading 4", 10.5)):
        style = word.styles[name]
        style.font.name, style.font.size = FONT, Pt(size)
        style.font.color.rgb = INK
        style.font.bold, style.font.italic = True, False
        fonts = style.element.rPr.rFonts
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)  # a theme font would win over the font named here
    caption = word.styles["Caption"]
    caption.font.name, caption.font.size, caption.font.italic, caption.font.bold = FONT, Pt(10), True, False
    caption.font.color.rgb = RGBColor(0x1A, 0x1A, 0x1A)
    word.styles["Footer"].font.size = Pt(8)
    word.styles["Table Grid"].font.size = Pt(9.5)


def _front(word: docx.document.Document, layout: Layout) -> None:
    front = layout.front
    if front.organisation:
        run = word.add_paragraph().add_run(front.organisation)
        run.bold, run.font.size = True, Pt(11)
    word.add_paragraph(front.title, style="Title")
    if front.subtitle:
        word.add_paragraph().add_run(front.subtitle).font.size = Pt(12)
    if front.meta:
        run = word.add_paragraph().add_run(front.meta)
        run.font.size, run.font.color.rgb = Pt(9), RGBColor(0x3D, 0x46, 0x50)


def _block(word: docx.document.Document, block: object) -> None:
    if isinstance(block, Heading):
        word.add_paragraph(block.text, style=f"Heading {block.level}")
    elif isinstance(block, Text):
        _runs(word.add_paragraph(), block.runs)
    elif isinstance(block, Items):
        _items(word.add_paragraph, block)
    elif isinstance(block, Grid):
        _grid(word, block)
    elif isinstance(block, PageBreak):
        word.add_page_break()
    elif isinstance(block, Chart):
        _chart(word, block)
    else:
        raise TypeError(f"Blocco non previsto: {block!r}")


def _runs(paragraph: DocxParagraph, runs: Runs) -> DocxParagraph:
    for run in runs:
        target = _hyperlink(paragraph, run.href) if run.href else None
        for n, piece in enumerate(run.text.split("\n")):
            r = paragraph.add_run(piece)
            if target is not None:
                target.append(r._r)  # move the run inside the hyperlink
                r.font.underline, r.font.color.rgb = True, LINK
            r.bold, r.italic = run.bold or None, run.italic or None
            if n:
                r._r.insert(0, OxmlElement("w:br"))  # the line break before this piece
    return paragraph


def _hyperlink(paragraph: DocxParagraph, url: str):  # noqa: ANN202 - an lxml element
    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    paragraph._p.append(link)
    return link


def _items(add_paragraph, items: Items, align: WD_ALIGN_PARAGRAPH | None = None) -> None:  # noqa: ANN001
    style = "List Number" if items.ordered else "List Bullet"
    numbering = None
    for runs in items.items:
        paragraph = _runs(add_paragraph(style=style), runs)
        if align is not None:
            paragraph.alignment = align
        if items.ordered:
            numbering = numbering or _new_numbering(paragraph)
            numbers = paragraph._p.get_or_add_pPr().get_or_add_numPr()
            numbers.get_or_add_ilvl().val = 0
            numbers.get_or_add_numId().val = numbering


def _new_numbering(paragraph: DocxParagraph) -> int:
    """A numbering of its own for an ordered list, so that it starts again from 1 (every "List
    Number" paragraph otherwise continues the previous list's count)."""
    part = cast(DocumentPart, paragraph.part)
    numbering = part.numbering_part.element
    style_num = part.document.styles["List Number"].element.pPr.numPr.numId.val
    abstract = numbering.num_having_numId(style_num).abstractNumId.val
    num = numbering.add_num(abstract)
    num.add_lvlOverride(ilvl=0).add_startOverride(1)
    return num.numId


def _grid(word: docx.document.Document, grid: Grid) -> None:
    if grid.caption:
        caption = word.add_paragraph(grid.caption, style="Caption")
        caption.paragraph_format.keep_with_next = True
    ncols = len(grid.widths)
    table = word.add_table(rows=0, cols=ncols)
    table.style = word.styles["Table Grid"]
    table.autofit = False
    widths = [Mm(TEXT_WIDTH_MM * w) for w in grid.widths]
    if grid.header is not None:
        row = table.add_row()
        _repeat_header(row._tr)
        for i, label in enumerate(grid.header):
            cell = row.cells[i]
            paragraph = cell.paragraphs[0]
            paragraph.add_run(label).bold = True
            if grid.numeric[i]:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _shade(cell, "E6E9F2")
    for cells in grid.rows:
        row = table.add_row()
        for i, flow in enumerate(cells):
            cell = row.cells[i]
            _cell(cell, flow, WD_ALIGN_PARAGRAPH.RIGHT if grid.numeric[i] else None)
            if grid.labels and i == 0:
                _shade(cell, "F2F4F7")
    for i, column in enumerate(table.columns):  # the grid (LibreOffice) and every cell (Word)
        column.width = widths[i]
    for row in table.rows:
        for i, cell in enumerate(row.cells):
            cell.width = widths[i]
    word.add_paragraph()  # Word glues consecutive tables together; a paragraph keeps them apart


def _cell(cell, flow: tuple[Flow, ...], align: WD_ALIGN_PARAGRAPH | None) -> None:  # noqa: ANN001
    first = True

    def add_paragraph(style: str | None = None) -> DocxParagraph:
        nonlocal first
        if first:
            first = False
            paragraph = cell.paragraphs[0]
            if style:
                paragraph.style = style
            return paragraph
        return cell.add_paragraph(style=style)

    for piece in flow:
        if isinstance(piece, Text):
            paragraph = _runs(add_paragraph(), piece.runs)
            if align is not None:
                paragraph.alignment = align
        else:
            _items(add_paragraph, piece, align)


def _repeat_header(tr) -> None:  # noqa: ANN001
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr.get_or_add_trPr().append(header)


def _shade(cell, fill: str) -> None:  # noqa: ANN001
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _chart(word: docx.document.Document, chart: Chart) -> None:
    word.add_picture(io.BytesIO(chart.png), width=Mm(TEXT_WIDTH_MM))
    holder = word.paragraphs[-1]
    holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
    holder.paragraph_format.keep_with_next = True
    for properties in holder._p.xpath(".//wp:docPr"):  # what a screen reader announces
        properties.set("title", chart.chart.title)
        properties.set("descr", chart.caption)
    word.add_paragraph(chart.caption, style="Caption")
    _grid(word, chart.grid)


def _header_and_footer(word: docx.document.Document, layout: Layout) -> None:
    section = word.sections[0]
    section.different_first_page_header_footer = True  # the first page opens with the title itself
    title = section.header.paragraphs[0]
    title.add_run(layout.front.title).font.size = Pt(8)
    for footer in (section.first_page_footer, section.footer):
        first = footer.paragraphs[0]
        if layout.footer:
            first.add_run(layout.footer)
            numbers = footer.add_paragraph(style="Footer")
        else:
            numbers = first
        numbers.add_run(f"{layout.page_label} ")
        _field(numbers, "PAGE")
        numbers.add_run(f" {layout.of_label} ")
        _field(numbers, "NUMPAGES")


def _field(paragraph: DocxParagraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES): begin, instruction, separator, last value, end."""
    def char(kind: str) -> None:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(element)

    char("begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    paragraph.add_run()._r.append(code)
    char("separate")
    paragraph.add_run("1")
    char("end")


def _properties(word: docx.document.Document, layout: Layout) -> None:
    doc = layout.document
    properties = word.core_properties
    properties.title = layout.front.title
    properties.subject = layout.front.subtitle or ""
    properties.author = doc.author or doc.organisation or ""
    properties.last_modified_by = properties.author
    properties.language = layout.lang
    properties.comments = ""
    properties.revision = 1
    if doc.created is not None:
        created = doc.created if isinstance(doc.created, datetime) else \
            datetime(doc.created.year, doc.created.month, doc.created.day)
        properties.created = properties.modified = created
