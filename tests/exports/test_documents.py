"""Documents in PDF/A, ODT, DOCX and HTML: the same text in each, read back with real libraries."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.exports.conftest import CARDS, CHART, FOOTER, LONG_HEADER, SCRIPT, long_rows
from tests.exports.readback import (
    docx_footer,
    docx_header,
    docx_page_breaks,
    docx_tables,
    docx_text,
    html_tags,
    html_text,
    normalise,
    odt_footer,
    odt_header,
    odt_page_breaks,
    odt_tables,
    odt_text,
    pdf_body_text,
    pdf_fonts,
    pdf_footer_count,
    pdf_pages,
    pdf_xmp,
    svg_text,
)
from workspace import exports
from workspace.exports import Document, Heading, Paragraph, Run, Table, charts, format_value
from workspace.problems import Problem

ORDERED = ("Primo punto numerato", "Secondo punto numerato")
TITLE = "Verbale della seduta n. 3 – Tavolo «Anziani»"


def expected_pieces() -> list[str]:
    """Every heading, paragraph, list item and cell of the sample, as a reader would see it."""
    pieces = [
        "Ambito territoriale di Pavia – Ufficio di Piano", "Verbale della seduta n. 3 – Tavolo «Anziani»",
        "Macroarea E · Piano di Zona 2025-2027", "Data: 02/03/2026 17:45 · A cura di: Maria Rossi, facilitatrice",
        "Apertura della seduta", "Ordine del giorno", "Contributi scritti", "Presenze", "Esito del voto",
        "La seduta è aperta alle ore 15:00; il costo previsto è di 1.200 € a carico del Fondo (vedi l'avviso pubblico).",
        SCRIPT, "Un collegamento non sicuro resta testo: clic",
        "Approvazione del verbale precedente", "Bisogni emersi «in sala»", *ORDERED,
        # The Markdown block: heading, paragraph with a link, flattened nested list, table, raw HTML as text.
        "Proposta dell'ODV", "Serve più trasporto sociale e un centro diurno.", "navetta il sabato", "sportello",
        "nei Comuni piccoli", "Comune", "Anziani soli", "Pavia", "1.204", "Vigevano", "731",
        "testo dopo",
        "Registro delle presenze", *LONG_HEADER, "Tabella con testo pericoloso", "Totale", "-2,5",
        "Figura 1 – Voti per bisogno (seduta del 2 marzo 2026)", "Dati del grafico: Voti per bisogno",
        "Bisogno", "Voti per bisogno (voti)", "Solitudine degli anziani", "Abbandono scolastico",
        "Obiettivo", "Budget", "15.000,00", "01/09/2026", "Cofinanziato", "Sì", "visite a domicilio", "telefonate",
    ]
    for n in range(1, CARDS + 1):
        pieces += [f"Scheda obiettivo {n}", f"Scheda n. {n}", f"Ridurre l'isolamento degli anziani – n. {n}"]
    for row in long_rows():
        pieces += [format_value(v) for v in row if v is not None]
    return pieces


def texts(rendered: dict[str, bytes]) -> dict[str, str]:
    """Each format's body text, normalised; what the PDF adds around it is taken off and checked."""
    pdf = pdf_body_text(rendered["pdf"], FOOTER, TITLE, repeated=(" ".join(LONG_HEADER),))
    chart_text = svg_text(charts.svg(CHART))
    assert pdf.count(chart_text) == 1, "the chart's labels and values are real text in the PDF"
    pdf = pdf.replace(" " + chart_text, "")
    for n, item in enumerate(ORDERED, start=1):  # list numbers are text in the PDF only
        assert f"{n}. {item}" in pdf
        pdf = pdf.replace(f"{n}. {item}", item)
    html = normalise(html_text(rendered["html"].decode("utf-8")))
    assert html.endswith(" " + FOOTER)  # on screen the footer closes the document
    return {"pdf": pdf, "html": html[: -len(FOOTER)].rstrip(), "odt": normalise(odt_text(rendered["odt"])),
            "docx": normalise(docx_text(rendered["docx"]))}


def test_the_same_text_in_every_format(rendered):
    body = texts(rendered)
    assert body["odt"] == body["docx"] == body["pdf"] == body["html"]
    for piece in expected_pieces():
        assert normalise(piece) in body["odt"], piece
    # Order is kept: the front matter first, the chart's data last.
    assert body["odt"].startswith("Ambito territoriale di Pavia – Ufficio di Piano Verbale della seduta")
    assert body["odt"].endswith(f"Abbandono scolastico 17 {SCRIPT} 3")


def test_pdf_is_pdfa_2b_with_embedded_fonts(rendered):
    data = rendered["pdf"]
    assert data.startswith(b"%PDF-")
    assert pdf_xmp(data) == {"part": "2", "conformance": "B", "title": "Verbale della seduta n. 3 – Tavolo «Anziani»"}
    fonts = pdf_fonts(data)
    assert fonts, "no font found: the reader is broken"
    assert all(fonts.values()), f"fonts not embedded: {[f for f, ok in fonts.items() if not ok]}"
    assert any("Liberation" in name for name in fonts)


def test_pdfa_3b_is_offered(document):
    from workspace.exports.html_pdf import pdf

    short = Document(document.title, blocks=[Paragraph("Allegato")], footer=FOOTER)
    assert pdf_xmp(pdf(short, variant="pdf/a-3b"))["part"] == "3"


def test_footer_and_page_numbers_on_every_page(rendered):
    pages = pdf_pages(rendered["pdf"])
    assert len(pages) >= 2 + CARDS  # the long table crosses a page, each card has its own
    assert pdf_footer_count(rendered["pdf"], FOOTER) == len(pages)
    assert odt_footer(rendered["odt"]) == f"{FOOTER}\nPagina [PAGE] di [NUMPAGES]"
    assert docx_footer(rendered["docx"]) == f"{FOOTER}\nPagina [PAGE] di [NUMPAGES]"


def test_title_heads_every_page_after_the_first(rendered):
    pages = [normalise(p) for p in pdf_pages(rendered["pdf"])]
    tails = [p[-300:] for p in pages]  # WeasyPrint draws the page boxes after the content
    assert TITLE not in tails[0]
    assert all(TITLE in tail for tail in tails[1:])
    assert odt_header(rendered["odt"]) == (TITLE, "")
    assert docx_header(rendered["docx"]) == (TITLE, "")


def test_pdf_repeats_the_header_row_on_pages_the_table_crosses(rendered):
    pages = [normalise(p) for p in pdf_pages(rendered["pdf"])]
    header = " ".join(LONG_HEADER)
    first = next(i for i, p in enumerate(pages) if "Ente n. 1 «Città è più»" in p)
    last = next(i for i, p in enumerate(pages) if "Ente n. 90 «Città è più»" in p)
    assert last > first
    for page in pages[first + 1: last + 1]:
        assert page.startswith(header + " Ente n. ")


def test_cards_start_on_their_own_page(rendered):
    pages = [normalise(p) for p in pdf_pages(rendered["pdf"])]
    for n in range(1, CARDS + 1):
        assert sum(p.startswith(f"Scheda obiettivo {n} Scheda n. {n} Obiettivo") for p in pages) == 1
    assert odt_page_breaks(rendered["odt"]) == CARDS
    assert docx_page_breaks(rendered["docx"]) == CARDS


def test_odt_tables_have_styles_and_repeated_headers(rendered):
    from odfdo import Document as OdfDocument

    tables = odt_tables(rendered["odt"])
    # Markdown table, attendance, dangerous text, the cards, the chart's data.
    assert len(tables) == 3 + CARDS + 1
    attendance = tables[1]
    assert attendance[0] == list(LONG_HEADER)
    assert attendance[1] == ["Ente n. 1 «Città è più»", "APS", "1.250,50", "02/02/2026", "Sì", ""]
    assert len(attendance) == 1 + len(long_rows())
    assert tables[2] == [["Voce", SCRIPT], [SCRIPT, "1"], ["Totale", "-2,5"]]
    assert tables[3][4] == [SCRIPT, SCRIPT]
    odt = OdfDocument(__import__("io").BytesIO(rendered["odt"]))
    table = odt.body.get_tables()[1]
    assert table.get_elements("table:table-header-rows"), "header row not marked for repetition"
    assert odt.get_style("paragraph", "Tavoli_Heading_2") is not None
    assert [h.style for h in odt.body.get_elements("descendant::text:h")][:2] == ["Tavoli_Title", "Tavoli_Heading_2"]
    assert odt.meta.get_title() == "Verbale della seduta n. 3 – Tavolo «Anziani»"
    assert odt.meta.get_language() == "it"
    assert len([f for f in odt.body.get_frames() if f.get_elements("draw:image")]) == 1


def test_docx_tables_headers_and_properties(rendered):
    import io

    import docx
    from docx.oxml.ns import qn

    tables = docx_tables(rendered["docx"])
    assert len(tables) == 3 + CARDS + 1
    assert tables[1][0] == list(LONG_HEADER)
    assert tables[1][3] == ["Ente n. 3 «Città è più»", "Comune", "3.750,50", "04/04/2026", "No", ""]
    assert tables[-1] == [["Bisogno", "Voti per bisogno (voti)"], ["Solitudine degli anziani", "42"],
                          ["Abbandono scolastico", "17"], [SCRIPT, "3"]]
    document = docx.Document(io.BytesIO(rendered["docx"]))
    first_rows = [t.rows[0]._tr for t in document.tables]
    assert sum(bool(tr.xpath("./w:trPr/w:tblHeader")) for tr in first_rows) == 3 + 1  # not the cards
    assert document.core_properties.title == "Verbale della seduta n. 3 – Tavolo «Anziani»"
    assert document.core_properties.created.replace(tzinfo=None) == datetime(2026, 3, 2, 17, 45)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    pictures = document.element.body.findall(".//" + qn("wp:docPr"))
    assert [(p.get("title"), p.get("descr")) for p in pictures] == [
        ("Voti per bisogno", "Figura 1 – Voti per bisogno (seduta del 2 marzo 2026)")]
    links = [r.target_ref for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert sorted(links) == ["https://ambito.example.org/avviso?n=1&x=2", "https://example.org/centro"]


def test_links_only_for_web_and_mail_addresses(rendered):
    html = rendered["html"].decode("utf-8")
    assert 'href="https://ambito.example.org/avviso?n=1&amp;x=2"' in html
    assert 'href="https://example.org/centro"' in html
    assert "javascript:" not in html
    assert "javascript:" not in odt_text(rendered["odt"])
    content = __import__("zipfile").ZipFile(__import__("io").BytesIO(rendered["odt"])).read("content.xml").decode()
    assert 'xlink:href="https://example.org/centro"' in content and "javascript:" not in content


def test_html_escapes_every_text(rendered):
    html = rendered["html"].decode("utf-8")
    assert "script" not in html_tags(html)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6  # paragraph, list, cells, card, chart
    # The only markup that is not escaped text is the chart, and its text is escaped too.
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    root = ET.fromstring(svg)
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert SCRIPT in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert root.get("role") == "img" and root.find("{http://www.w3.org/2000/svg}title").text == "Voti per bisogno"


def test_fragment_is_the_same_article_for_web_pages(document, rendered):
    fragment = exports.fragment(document)
    assert str(fragment).startswith('<article class="tavoli-doc" lang="it">')
    assert str(fragment) in rendered["html"].decode("utf-8")
    assert ".tavoli-doc" in exports.stylesheet()


def test_markdown_is_sanitised_then_mapped(rendered):
    text = normalise(docx_text(rendered["docx"]))
    # Raw HTML in Markdown never becomes markup: it is the person's text, shown as typed (issue 12).
    assert "Vigevano 731 <script>alert(1)</script> testo dopo" in text


def test_value_formats():
    assert format_value(Decimal("12.50")) == "12,50"
    assert format_value(1234567) == "1.234.567"
    assert format_value(-3.5) == "-3,5"
    assert format_value(date(2026, 3, 2)) == "02/03/2026"
    assert format_value(datetime(2026, 3, 2, 9, 5)) == "02/03/2026 09:05"
    assert (format_value(True), format_value(False), format_value(None)) == ("Sì", "No", "")
    assert format_value(True, "en") == "Yes"


def test_english_document_labels(document):
    from workspace.exports.odt import render as odt

    english = Document("Minutes", blocks=[Paragraph("Text")], footer="Hash", lang="en")
    assert odt_footer(odt(english)) == "Hash\nPage [PAGE] of [NUMPAGES]"


def test_bad_blocks_are_refused_before_rendering():
    with pytest.raises(ValueError, match="Riga di 1 celle in una tabella di 2 colonne"):
        exports.render(Document("x", blocks=[Table(["a", "b"], [["solo una"]])]), "odt")
    with pytest.raises(TypeError, match="Blocco non previsto"):
        exports.render(Document("x", blocks=["testo nudo"]), "docx")  # type: ignore[list-item]


@pytest.mark.parametrize("fmt", ["rtf", "", "PDF ", "csv", "../pdf"])
def test_unknown_or_unoffered_format_is_refused_in_italian(fmt):
    document = Document("x", blocks=[Heading("y")])
    if fmt == "PDF ":  # case and spaces do not matter
        assert exports.check_format(fmt, exports.DOCUMENT_FORMATS).name == "pdf"
        return
    with pytest.raises(Problem) as refused:
        exports.render(document, fmt)
    problem = refused.value
    assert (problem.code, problem.status) == ("invalid_format", 422)
    assert problem.message == (f"Formato non disponibile: {fmt.strip() or '—'}. "
                               "Formati ammessi: pdf, odt, docx, html.")


def test_a_view_can_offer_fewer_formats():
    with pytest.raises(Problem, match="Formati ammessi: pdf, odt.$"):
        exports.check_format("docx", ("pdf", "odt"))
    with pytest.raises(Problem, match="Formato non disponibile: pdf. Formati ammessi: ods, xlsx, csv, json."):
        exports.render_table(exports.Sheet("s", ["a"], [[1]]), "pdf")


def test_run_text_keeps_line_breaks_and_collapses_spaces():
    from workspace.exports.layout import runs

    assert runs([Run("  Uno   "), Run(" due", bold=True), Run("\n tre  ")]) == (
        Run("Uno "), Run("due", bold=True), Run("\ntre"))
    odt = exports.render(Document("x", blocks=[Paragraph("riga uno\nriga due")]), "odt")
    assert "riga uno\nriga due" in odt_text(odt)
    assert "riga uno\nriga due" in docx_text(exports.render(Document("x", blocks=[Paragraph("riga uno\nriga due")]),
                                                            "docx"))


def test_a_bare_document_in_every_format():
    from datetime import UTC

    bare = Document("Solo titolo", created=datetime(2026, 3, 2, 16, 45, tzinfo=UTC))
    rendered = {fmt: exports.render(bare, fmt) for fmt in exports.DOCUMENT_FORMATS}
    assert [normalise(p) for p in pdf_pages(rendered["pdf"])] == [
        "Solo titolo Data: 02/03/2026 16:45 Pagina 1 di 1"]
    assert odt_footer(rendered["odt"]) == docx_footer(rendered["docx"]) == "Pagina [PAGE] di [NUMPAGES]"
    assert normalise(odt_text(rendered["odt"])) == normalise(docx_text(rendered["docx"])) == \
        normalise(html_text(rendered["html"].decode())) == "Solo titolo Data: 02/03/2026 16:45"


def test_render_from_several_threads_at_once():
    """The live server renders in a thread pool: no shared state between renders."""
    from concurrent.futures import ThreadPoolExecutor

    documents = [Document(f"Documento {n}", blocks=[Paragraph(f"Testo {n} è unico")], footer=f"Impronta {n}")
                 for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda d: exports.render(d, "pdf"), documents))
    for n, data in enumerate(pdfs):
        assert pdf_body_text(data, f"Impronta {n}") == f"Documento {n} Testo {n} è unico"
