"""Server-side SVG bar charts: accessible, escaped, deterministic, readable colours."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.exports.readback import svg_text
from workspace.exports import charts

SVG = "{http://www.w3.org/2000/svg}"


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_meet_wcag_contrast_on_white():
    assert all(contrast(colour, "#FFFFFF") >= 3 for colour in charts.PALETTE)  # graphics, 1.4.11
    assert contrast(charts.INK, "#FFFFFF") >= 4.5  # text, 1.4.3


def test_horizontal_chart_is_accessible_and_deterministic():
    chart = charts.bar_chart("Voti per bisogno", ["Anziani", "Giovani"], [42, 17.5], unit="voti")
    svg = charts.svg(chart)
    assert svg == charts.svg(charts.bar_chart("Voti per bisogno", ["Anziani", "Giovani"], [42, 17.5], unit="voti"))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Voti per bisogno"
    assert desc.text == "Anziani: 42 voti; Giovani: 17,5 voti"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") in charts.PALETTE]
    assert len(bars) == 2
    assert float(bars[0].get("width")) > float(bars[1].get("width")) * 2.3  # 42 vs 17.5
    assert svg_text(svg) == "0 voti 10 voti 20 voti 30 voti 40 voti 50 voti Anziani 42 voti Giovani 17,5 voti"


def test_labels_and_titles_are_escaped():
    evil = "<script>alert(1)</script> & \"quote\""
    chart = charts.BarChart(evil, [evil], [charts.Series(evil, [1]), charts.Series("b", [2])], description=evil)
    svg = charts.svg(chart)
    assert "<script>" not in svg
    root = ET.fromstring(svg)  # well-formed
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert root.find(f"{SVG}title").text == evil and root.find(f"{SVG}desc").text == evil
    assert evil in [t.text for t in root.iter(f"{SVG}text")]  # the legend and the label


def test_stacked_vertical_chart_and_its_data_table():
    chart = charts.BarChart("Esito", ["Proposta A", "Proposta B"],
                            [charts.Series("Favorevoli", [10, 4]), charts.Series("Contrari", [2, None])],
                            category="Proposta", percent=False, horizontal=False)
    root = ET.fromstring(charts.svg(chart))
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("fill") in charts.PALETTE]
    # Two legend swatches, then three segments (the missing value draws nothing).
    assert fills == [charts.PALETTE[0], charts.PALETTE[1], charts.PALETTE[0], charts.PALETTE[1], charts.PALETTE[0]]
    table = charts.data_table(chart)
    assert list(table.columns) == ["Proposta", "Favorevoli", "Contrari", "Totale"]
    assert [list(r) for r in table.rows] == [["Proposta A", 10, 2, 12], ["Proposta B", 4, None, 4]]
    assert table.caption == "Dati del grafico: Esito"


def test_percent_and_long_labels():
    long = "Servizi di assistenza domiciliare integrata per persone anziane non autosufficienti e fragili"
    chart = charts.bar_chart("Quote", [long, "Breve"], [62.5, 37.5], percent=True)
    texts = [t.text for t in ET.fromstring(charts.svg(chart)).iter(f"{SVG}text")]
    assert "62,5%" in texts and "37,5%" in texts
    label_lines = [t for t in texts if t and t[0].isalpha() and t != "Breve"]
    assert 2 <= len(label_lines) <= 3 and all(len(line) <= 36 for line in label_lines)
    assert charts.data_table(chart).rows[0][0] == long  # the table keeps it whole
    assert list(charts.data_table(chart).columns) == ["", "Quote (%)"]


def test_png_for_office_documents():
    png = charts.png(charts.bar_chart("Voti", ["A"], [1]))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png[16:20], "big") == 2 * charts.WIDTH


@pytest.mark.parametrize("series, message", [
    ([charts.Series("x", [1, 2])], "ha 2 valori per 1 voci"),
    ([charts.Series("x", [-1])], "valori negativi"),
    ([], "almeno una serie"),
])
def test_bad_chart_data_is_refused(series, message):
    with pytest.raises(ValueError, match=message):
        charts.BarChart("t", ["a"], series)


def test_all_zero_values_draw_an_axis_without_bars():
    root = ET.fromstring(charts.svg(charts.bar_chart("Nessun voto", ["A", "B"], [0, None])))
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("fill") in charts.PALETTE]
    assert [t.text for t in root.iter(f"{SVG}text")][-3:] == ["0", "B", "—"]
