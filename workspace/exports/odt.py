"""ODT (OpenDocument text) with odfdo: named styles for title, headings, captions, lists and table
cells; A4 with the footer text and "Pagina X di Y" on every page and the title on top of every page
after the first; manual page breaks; table header rows repeated on every page; charts as PNG images
(with title and description) followed by their data table."""
from __future__ import annotations

import io
from datetime import datetime

from odfdo import (
    Cell,
    Column,
    Element,
    Frame,
    Header,
    Link,
    List,
    ListItem,
    Row,
    Span,
    Style,
    StyleMasterPage,
    Table,
    VarPageCount,
    VarPageNumber,
)
from odfdo import Document as OdfDocument
from odfdo import PageBreak as OdfPageBreak
from odfdo import Paragraph as OdfParagraph
from odfdo.header_rows import HeaderRows

from workspace.exports.document import Document, Heading, PageBreak, language_tag
from workspace.exports.layout import Chart, Flow, Grid, Items, Layout, Runs, Text, prepare

FONT = "Liberation Sans"
BORDER = "0.75pt solid #5c6f82"
TEXT_WIDTH_CM = 17.0  # A4 less 2 cm margins on each side (the template's page)
FIRST_PAGE = "Tavoli_First"


def render(document: Document) -> bytes:
    layout = prepare(document)
    odt = OdfDocument("text")
    odt.body.clear()
    _styles(odt, layout)
    _front(odt, layout)
    counter = 0
    for block in layout.blocks:
        if isinstance(block, Grid | Chart):
            counter += 1
        _block(odt, block, counter)
    _header_and_footer(odt, layout)
    _meta(odt, layout)
    out = io.BytesIO()
    odt.save(out)
    return out.getvalue()


def _styles(odt: OdfDocument, layout: Layout) -> None:
    odt.insert_style(Style("font-face", name=FONT, font_name=FONT, font_family=FONT,
                           font_family_generic="swiss"))
    language, _, country = language_tag(layout.lang).partition("-")
    speech = {"fo:language": language, **({"fo:country": country.upper()} if country else {})}
    for family in ("paragraph", "graphic"):  # the template's defaults speak French
        for default in odt.get_styles(family):
            if isinstance(default, Style) and default.tag == "style:default-style":
                default.set_properties(area="text", properties=speech)
                odt.insert_style(default, default=True)
    standard = _style(odt, "paragraph", "Standard")
    standard.set_properties(area="text", properties={"style:font-name": FONT, "fo:font-size": "10.5pt", **speech})
    standard.set_properties(area="paragraph", properties={"fo:margin-bottom": "0.2cm"})
    odt.insert_style(standard)

    def paragraph(name: str, parent: str = "Standard", text: dict | None = None,
                  para: dict | None = None) -> None:
        style = Style("paragraph", name=name, display_name=name.replace("_", " "), parent_style=parent)
        if text:
            style.set_properties(area="text", properties=text)
        if para:
            style.set_properties(area="paragraph", properties=para)
        odt.insert_style(style)

    paragraph("Tavoli_Organisation", text={"fo:font-weight": "bold", "fo:font-size": "11pt"})
    paragraph("Tavoli_Title", parent="Heading_20_1",
              text={"style:font-name": FONT, "fo:font-size": "17pt", "fo:font-weight": "bold",
                    "fo:color": "#17324d"}, para={"fo:margin-top": "0cm"})
    paragraph("Tavoli_Subtitle", text={"fo:font-size": "12pt"})
    paragraph("Tavoli_Meta", text={"fo:font-size": "9pt", "fo:color": "#3d4650"},
              para={"fo:border-bottom": "1.5pt solid #17324d", "fo:padding-bottom": "0.2cm",
                    "fo:margin-bottom": "0.5cm"})
    for level, size in ((2, "14pt"), (3, "12pt"), (4, "10.5pt"), (5, "10.5pt")):
        paragraph(f"Tavoli_Heading_{level}", parent=f"Heading_20_{level}",
                  text={"style:font-name": FONT, "fo:font-size": size, "fo:font-weight": "bold",
                        "fo:font-style": "normal", "fo:color": "#17324d"},
                  para={"fo:keep-with-next": "always"})
    paragraph("Tavoli_Caption", text={"fo:font-style": "italic"},
              para={"fo:keep-with-next": "always", "fo:margin-top": "0.2cm"})
    paragraph("Tavoli_Cell", text={"fo:font-size": "9.5pt"}, para={"fo:margin-bottom": "0.05cm"})
    paragraph("Tavoli_Cell_Number", parent="Tavoli_Cell", para={"fo:text-align": "end"})
    paragraph("Tavoli_Cell_Head", parent="Tavoli_Cell", text={"fo:font-weight": "bold"})
    paragraph("Tavoli_Cell_Head_Number", parent="Tavoli_Cell_Head", para={"fo:text-align": "end"})
    paragraph("Tavoli_Footer", text={"fo:font-size": "8pt", "fo:color": "#3d4650"},
              para={"fo:margin-bottom": "0cm"})
    paragraph("Tavoli_Header", parent="Tavoli_Footer",
              para={"fo:border-bottom": "0.5pt solid #9aa4ae", "fo:padding-bottom": "0.1cm"})
    paragraph("Tavoli_Figure", para={"fo:text-align": "center", "fo:keep-with-next": "always"})
    for name, props in (("Tavoli_Bold", {"fo:font-weight": "bold"}),
                        ("Tavoli_Italic", {"fo:font-style": "italic"}),
                        ("Tavoli_Bold_Italic", {"fo:font-weight": "bold", "fo:font-style": "italic"})):
        style = Style("text", name=name, display_name=name.replace("_", " "))
        style.set_properties(area="text", properties=props)
        odt.insert_style(style)
    for name, background in (("Tavoli_Td", None), ("Tavoli_Th", "#e6e9f2"), ("Tavoli_Label", "#f2f4f7")):
        style = Style("table-cell", name=name, border=BORDER, padding="0.1cm")
        if background:
            style.set_properties(area="table-cell", properties={"fo:background-color": background})
        odt.insert_style(style, automatic=True)  # Writer applies only automatic cell styles
    table = Style("table", name="Tavoli_Table", width=f"{TEXT_WIDTH_CM}cm", align="margins")
    table.set_properties(area="table", properties={"fo:margin-bottom": "0.4cm"})
    odt.insert_style(table, automatic=True)
    for name, bullet in (("Tavoli_Bullets", True), ("Tavoli_Numbers", False)):
        style = Style("list", name=name, display_name=name.replace("_", " "))
        level_style = style.set_level_style(1, bullet_char="•") if bullet else \
            style.set_level_style(1, num_format="1", suffix=".")
        assert level_style is not None  # a list style always takes level styles
        # The label hangs in the margin and the text lines up after it, as in Word's lists.
        level_style.append(Element.from_tag(
            '<style:list-level-properties text:list-level-position-and-space-mode="label-alignment">'
            '<style:list-level-label-alignment text:label-followed-by="listtab" '
            'text:list-tab-stop-position="0.75cm" fo:text-indent="-0.5cm" fo:margin-left="0.75cm"/>'
            "</style:list-level-properties>"))
        odt.insert_style(style)
    odt.add_page_break_style()


def _front(odt: OdfDocument, layout: Layout) -> None:
    front, body = layout.front, odt.body
    # The first paragraph opens the first page's own master page (no running title on it).
    opening = "Tavoli_Organisation" if front.organisation else "Tavoli_Title"
    odt.insert_style(Style("paragraph", name=f"{opening}_First", parent_style=opening, master_page=FIRST_PAGE),
                     automatic=True)
    if front.organisation:
        body.append(OdfParagraph(front.organisation, style="Tavoli_Organisation_First"))
    body.append(_heading(1, front.title, "Tavoli_Title" if front.organisation else "Tavoli_Title_First"))
    if front.subtitle:
        body.append(OdfParagraph(front.subtitle, style="Tavoli_Subtitle"))
    if front.meta:
        body.append(OdfParagraph(front.meta, style="Tavoli_Meta"))


def _block(odt: OdfDocument, block: object, number: int) -> None:
    body = odt.body
    if isinstance(block, Heading):
        level = block.level + 1
        body.append(_heading(level, block.text, f"Tavoli_Heading_{level}"))
    elif isinstance(block, Text):
        body.append(_paragraph(block.runs))
    elif isinstance(block, Items):
        body.append(_list(block))
    elif isinstance(block, Grid):
        _grid(odt, block, f"Tabella{number}")
    elif isinstance(block, PageBreak):
        body.append(OdfPageBreak())
    elif isinstance(block, Chart):
        _chart(odt, block, number)
    else:
        raise TypeError(f"Blocco non previsto: {block!r}")


def _style(odt: OdfDocument, family: str, name: str) -> Style:
    style = odt.get_style(family, name)
    if not isinstance(style, Style):
        raise LookupError(f"Stile {family} «{name}» assente dal modello di documento")
    return style


def _heading(level: int, text: str, style: str) -> Header:
    # Outline level for the navigator, without the template's "1.1." numbers; odfdo's Header
    # does not set the style from its argument, hence the assignment.
    heading = Header(level, text, suppress_numbering=True)
    heading.style = style
    return heading


def _paragraph(runs: Runs, style: str | None = None) -> OdfParagraph:
    paragraph = OdfParagraph(style=style)
    for run in runs:
        look = {(True, False): "Tavoli_Bold", (False, True): "Tavoli_Italic",
                (True, True): "Tavoli_Bold_Italic"}.get((run.bold, run.italic))
        piece: Element = Span(run.text, style=look) if look else Span(run.text)
        if run.href:
            link = Link(run.href)
            link.append(piece)
            piece = link
        paragraph.append(piece)
    return paragraph


def _list(items: Items, style: str | None = None) -> List:
    odf_list = List(style="Tavoli_Numbers" if items.ordered else "Tavoli_Bullets")
    for runs in items.items:
        item = ListItem()
        item.append(_paragraph(runs, style))
        odf_list.append(item)
    return odf_list


def _grid(odt: OdfDocument, grid: Grid, name: str) -> None:
    body = odt.body
    if grid.caption:
        body.append(OdfParagraph(grid.caption, style="Tavoli_Caption"))
    table = Table(name, style="Tavoli_Table")
    for i, width in enumerate(grid.widths):
        column_style = Style("table-column", name=f"{name}.C{i + 1}", width=f"{TEXT_WIDTH_CM * width:.2f}cm")
        column_style.set_properties(area="table-column", properties={"style:rel-column-width": f"{round(width * 65535)}*"})
        odt.insert_style(column_style, automatic=True)
        table.append(Column(style=f"{name}.C{i + 1}"))
    if grid.header is not None:
        header = Row()
        for i, label in enumerate(grid.header):
            cell = Cell(style="Tavoli_Th")
            number = grid.numeric[i]
            cell.append(OdfParagraph(label, style="Tavoli_Cell_Head_Number" if number else "Tavoli_Cell_Head"))
            header.append(cell)
        rows = HeaderRows()  # LibreOffice and Word repeat these rows on every page
        rows.append(header)
        table.append(rows)
    for cells in grid.rows:
        row = Row()
        for i, flow in enumerate(cells):
            cell = Cell(style="Tavoli_Label" if grid.labels and i == 0 else "Tavoli_Td")
            for piece in _flow(flow, "Tavoli_Cell_Number" if grid.numeric[i] else "Tavoli_Cell"):
                cell.append(piece)
            row.append(cell)
        table.append(row)
    body.append(table)


def _flow(flow: tuple[Flow, ...], style: str) -> list[Element]:
    return [_paragraph(f.runs, style) if isinstance(f, Text) else _list(f, style) for f in flow]


def _chart(odt: OdfDocument, chart: Chart, number: int) -> None:
    png = chart.png
    width_px, height_px = _png_size(png)
    width = TEXT_WIDTH_CM
    height = width * height_px / width_px
    uri = f"Pictures/grafico-{number}.png"  # named, with its type in the manifest
    assert odt.container is not None  # a new document always has one
    odt.container.set_part(uri, png)
    odt.manifest.add_full_path(uri, "image/png")
    frame = Frame.image_frame(uri, name=f"Grafico{number}", size=(f"{width:.2f}cm", f"{height:.2f}cm"),
                              anchor_type="as-char")
    # Title and description are what a screen reader announces for the image.
    for tag, text in (("svg:title", chart.chart.title), ("svg:desc", chart.caption)):
        element = Element.from_tag(tag)
        element.text = text
        frame.append(element)
    holder = OdfParagraph(style="Tavoli_Figure")
    holder.append(frame)
    odt.body.append(holder)
    odt.body.append(OdfParagraph(chart.caption, style="Tavoli_Caption"))
    _grid(odt, chart.grid, f"Dati{number}")


def _header_and_footer(odt: OdfDocument, layout: Layout) -> None:
    """Every page: the footer text and "Pagina X di Y". Pages after the first: the title on top. The
    first page has a master page of its own without the header (the way every ODF reader knows)."""
    def footer() -> list[Element | str]:
        page = OdfParagraph(f"{layout.page_label} ", style="Tavoli_Footer")
        page.append(VarPageNumber())
        page.append(f" {layout.of_label} ")
        page.append(VarPageCount())
        lines: list[Element | str] = [OdfParagraph(layout.footer, style="Tavoli_Footer")] if layout.footer else []
        return [*lines, page]

    master = odt.get_style("master-page", "Standard")
    assert isinstance(master, StyleMasterPage)  # the template's page style
    master.set_page_header([OdfParagraph(layout.front.title, style="Tavoli_Header")])
    master.set_page_footer(footer())
    odt.insert_style(master)
    first = StyleMasterPage(FIRST_PAGE, display_name="Tavoli first page", page_layout=master.page_layout,
                            next_style="Standard")
    first.set_page_footer(footer())
    odt.insert_style(first)


def _meta(odt: OdfDocument, layout: Layout) -> None:
    doc = layout.document
    meta = odt.meta
    meta.set_title(layout.front.title)
    if layout.front.subtitle:
        meta.set_subject(layout.front.subtitle)
    if doc.author or doc.organisation:
        meta.set_initial_creator(doc.author or doc.organisation or "")
        meta.set_creator(doc.author or doc.organisation or "")
    meta.set_language(layout.lang)
    meta.set_generator("Tavoli")
    if doc.created is not None:
        created = doc.created if isinstance(doc.created, datetime) else \
            datetime(doc.created.year, doc.created.month, doc.created.day)
        meta.set_creation_date(created)


def _png_size(png: bytes) -> tuple[int, int]:
    # The IHDR chunk holds width and height right after the signature.
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
