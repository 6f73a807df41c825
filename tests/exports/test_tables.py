"""Sheets as CSV, XLSX, ODS and JSON: typed round trips, formula neutralisation, the Italian CSV."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.exports.readback import (
    as_date,
    csv_rows,
    json_rows,
    ods_rows,
    ods_sheet_names,
    ods_types,
    xlsx_rows,
    xlsx_sheet_names,
    xlsx_types,
)
from workspace import exports
from workspace.exports import Column, Sheet
from workspace.exports.tables import neutralise

COLUMNS = [Column("voce", "Voce"), Column("voti", "Voti"), Column("quota", "Quota"), Column("importo", "Importo (€)"),
           Column("data", "Data"), Column("ora", "Aggiornato"), Column("attivo", "Attivo"), Column("nota", "Nota")]
ROWS = [
    {"voce": "Solitudine «anziani» è più", "voti": 42, "quota": 0.25, "importo": Decimal("1250.50"),
     "data": date(2026, 3, 2), "ora": datetime(2026, 3, 2, 17, 45), "attivo": True, "nota": None},
    {"voce": "Abbandono scolastico", "voti": -3, "quota": -1.5, "importo": Decimal("-7"),
     "data": None, "ora": None, "attivo": False, "nota": "ok"},
]
SHEET = Sheet("Priorità", COLUMNS, ROWS)
DANGEROUS = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]


def test_xlsx_round_trip_keeps_types():
    rows = xlsx_rows(exports.render_table(SHEET, "xlsx"))
    assert rows[0] == [c.label for c in COLUMNS]
    assert rows[1] == ["Solitudine «anziani» è più", 42, 0.25, 1250.5, date(2026, 3, 2), datetime(2026, 3, 2, 17, 45),
                       True, None]
    assert rows[2] == ["Abbandono scolastico", -3, -1.5, -7, None, None, False, "ok"]


def test_ods_round_trip_keeps_types():
    rows = ods_rows(exports.render_table(SHEET, "ods"))
    assert rows[0] == [c.label for c in COLUMNS]
    assert rows[1] == ["Solitudine «anziani» è più", 42, Decimal("0.25"), Decimal("1250.50"), date(2026, 3, 2),
                       datetime(2026, 3, 2, 17, 45), True, None]
    assert rows[2] == ["Abbandono scolastico", -3, Decimal("-1.5"), -7, None, None, False, "ok"]
    types = ods_types(exports.render_table(SHEET, "ods"))
    assert types[1] == ["string", "float", "float", "float", "date", "date", "boolean", None]


def test_json_round_trip_keyed_by_column():
    rows = json_rows(exports.render_table(SHEET, "json"))
    assert [list(r) for r in rows] == [[c.key for c in COLUMNS]] * 2
    back = [{k: as_date(v) for k, v in r.items()} for r in rows]
    assert back[0] == {**ROWS[0], "importo": 1250.5}
    assert back[1] == {**ROWS[1], "importo": -7}
    assert isinstance(rows[1]["voti"], int) and isinstance(rows[0]["attivo"], bool)


def test_csv_is_what_an_italian_spreadsheet_opens():
    data = exports.render_table(SHEET, "csv")
    assert data.startswith(b"\xef\xbb\xbfVoce;Voti;Quota;")
    assert b"\r\n" in data and data.endswith(b"\r\n")
    assert csv_rows(data) == [
        [c.label for c in COLUMNS],
        ["Solitudine «anziani» è più", "42", "0,25", "1250,50", "02/03/2026", "02/03/2026 17:45", "Sì", ""],
        ["Abbandono scolastico", "-3", "-1,5", "-7", "", "", "No", "ok"],
    ]


def test_rows_may_be_sequences_too():
    sheet = Sheet("s", ["a", "b"], [[1, "x"], (2, None)])
    assert xlsx_rows(exports.render_table(sheet, "xlsx")) == [["a", "b"], [1, "x"], [2, None]]
    with pytest.raises(ValueError, match="Riga di 1 valori in un foglio di 2 colonne"):
        exports.render_table(Sheet("s", ["a", "b"], [[1]]), "csv")


@pytest.mark.parametrize("text", DANGEROUS)
def test_formulas_are_neutralised_in_every_spreadsheet(text):
    sheet = Sheet("s", [Column("t", text), Column("n", "n"), Column("d", "d")], [[text, -5, Decimal("-0.5")]])
    expected = "'" + text
    assert csv_rows(exports.render_table(sheet, "csv")) == [[expected, "n", "d"], [expected, "-5", "-0,5"]]
    xlsx = exports.render_table(sheet, "xlsx")
    assert xlsx_rows(xlsx) == [[expected, "n", "d"], [expected, -5, -0.5]]
    assert "f" not in {t for row in xlsx_types(xlsx) for t in row}
    ods = exports.render_table(sheet, "ods")
    assert ods_rows(ods) == [[expected, "n", "d"], [expected, -5, Decimal("-0.5")]]
    assert ods_types(ods)[1] == ["string", "float", "float"]
    # JSON is no spreadsheet: the text stays as it was written.
    assert json_rows(exports.render_table(sheet, "json")) == [{"t": text, "n": -5, "d": -0.5}]


def test_neutralise_touches_only_text():
    assert neutralise("=1") == "'=1"
    assert neutralise("-") == "'-"
    assert [neutralise(v) for v in (-1, -2.5, Decimal("-3"), None, True, "", "a=b")] == \
        [-1, -2.5, Decimal("-3"), None, True, "", "a=b"]


def test_script_text_stays_text():
    script = "<script>alert(1)</script>"
    sheet = Sheet("s", [script], [[script]])
    assert csv_rows(exports.render_table(sheet, "csv")) == [[script], [script]]
    assert xlsx_rows(exports.render_table(sheet, "xlsx")) == [[script], [script]]
    assert ods_rows(exports.render_table(sheet, "ods")) == [[script], [script]]


def test_several_sheets_in_workbooks_one_in_csv_and_json():
    sheets = [SHEET, Sheet("Priorità", ["a"], [[1]]), Sheet("Voti: [marzo]/2026 e un nome molto lungo", ["b"], [])]
    names = ["Priorità", "Priorità (2)", "Voti- -marzo--2026 e un nome mo"]
    assert xlsx_sheet_names(exports.render_table(sheets, "xlsx")) == names
    assert ods_sheet_names(exports.render_table(sheets, "ods")) == names
    assert xlsx_rows(exports.render_table(sheets, "xlsx"), sheet=1) == [["a"], [1]]
    for fmt in ("csv", "json"):
        with pytest.raises(ValueError, match="un solo foglio"):
            exports.render_table(sheets, fmt)
    assert csv_rows(exports.render_table(sheets[1], "csv")) == [["a"], ["1"]]


def test_empty_sheet_has_its_header():
    sheet = Sheet("vuoto", ["a", "b"], [])
    assert xlsx_rows(exports.render_table(sheet, "xlsx")) == [["a", "b"]]
    assert ods_rows(exports.render_table(sheet, "ods")) == [["a", "b"]]
    assert json_rows(exports.render_table(sheet, "json")) == []


def test_procedures_open_data_uses_the_one_neutralise():
    from workspace.procedures import opendata

    assert opendata.neutralise is neutralise
