"""The Tabella Esiti in every format, read back with real libraries: the same values in CSV (BOM,
``;``), XLSX, ODS and JSON (which follows docs/schemas/esiti.json); formulas neutralised in CSV,
XLSX and ODS; the 8 official labels and the bands in ODT, DOCX and PDF/A (identified in its XMP);
one objective per page."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.esiti.support import procedure_of, row
from tests.exports.readback import (
    csv_rows,
    docx_page_breaks,
    docx_text,
    json_rows,
    normalise,
    ods_rows,
    ods_types,
    odt_page_breaks,
    odt_text,
    pdf_pages,
    pdf_text,
    pdf_xmp,
    xlsx_rows,
    xlsx_types,
)
from workspace.esiti import document, scale, service
from workspace.problems import Problem

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "schemas" / "esiti.json").read_text())
INJECTED = "=HYPERLINK(\"http://evil.example\",\"clic\")"


@pytest.fixture
def table(session, world):
    procedure = procedure_of(session, world)
    service.create(session, world.admin, procedure, row())
    service.create(session, world.admin, procedure, row(obiettivo=INJECTED, azioni_programmate="3",
                                                        azioni_realizzate="2", criticita="@SUM(A1:A9)",
                                                        risorse_preventivate="1000", risorse_pagate="1000"))
    service.create(session, world.admin, procedure, row(obiettivo="Oltre", azioni_programmate="4",
                                                        azioni_realizzate="5", macroarea="-meno"))
    return procedure, service.objectives(session, procedure)


def test_spreadsheets_and_json_hold_the_same_values(table):
    procedure, objectives = table
    headers = [c.header for c in service.COLUMNS]
    expected = [service.row_values(o) for o in objectives]
    csv = document.render(procedure, objectives, "csv")
    rows = csv_rows(csv)  # checks the BOM, reads with ";"
    assert rows[0] == headers
    assert rows[1][service.COLUMNS.index(service.BY_KEY["grado_raggiungimento_pct"])] == "75,00"
    assert rows[2][service.COLUMNS.index(service.BY_KEY["grado_raggiungimento_pct"])] == "66,67"
    assert rows[3][service.COLUMNS.index(service.BY_KEY["fascia_raggiungimento"])] == \
        "100% (ottimo) – oltre il programmato"
    xlsx, ods = xlsx_rows(document.render(procedure, objectives, "xlsx")), \
        ods_rows(document.render(procedure, objectives, "ods"))
    assert xlsx[0] == ods[0] == headers
    for got in (xlsx[1:], ods[1:]):
        for values, want in zip(got, expected, strict=True):
            for column, value in zip(service.COLUMNS, values, strict=True):
                wanted = want[column.key]
                if isinstance(wanted, str) and wanted.startswith(("=", "+", "-", "@")):
                    wanted = "'" + wanted  # neutralised
                if wanted in ("", None):
                    assert value in ("", None), (column.key, value)
                elif isinstance(wanted, Decimal | int):
                    assert Decimal(str(value)) == wanted, (column.key, value)
                else:
                    assert value == wanted, (column.key, value)
    data = json_rows(document.render(procedure, objectives, "json"))
    Draft202012Validator(SCHEMA).validate(data)
    assert [d["obiettivo"] for d in data] == [o.title for o in objectives]  # JSON is data: not neutralised
    assert data[0]["grado_raggiungimento_pct"] == 75 and data[1]["grado_raggiungimento_pct"] == 66.67
    assert data[0]["risorse_pagate"] == 228500.5 and data[1]["fascia_coincidenza"] == "100% (ottimo)"


def test_formulas_are_neutralised(table):
    procedure, objectives = table
    csv = csv_rows(document.render(procedure, objectives, "csv"))
    assert csv[2][1] == "'" + INJECTED and csv[2][service.COLUMNS.index(service.BY_KEY["criticita"])] == "'@SUM(A1:A9)"
    assert csv[3][2] == "'-meno"
    for types in (xlsx_types(document.render(procedure, objectives, "xlsx")),
                  ods_types(document.render(procedure, objectives, "ods"))):
        assert not [t for line in types for t in line if t in ("f", "formula")]
    assert xlsx_rows(document.render(procedure, objectives, "xlsx"))[2][1] == "'" + INJECTED
    assert ods_rows(document.render(procedure, objectives, "ods"))[2][1] == "'" + INJECTED


def test_documents_carry_the_official_labels_one_objective_per_page(table):
    procedure, objectives = table
    labels = [normalise(f["label_it"]) for f in scale.fields().values()]
    odt = document.render(procedure, objectives, "odt")
    docx = document.render(procedure, objectives, "docx")
    pdf = document.render(procedure, objectives, "pdf")
    # The PDF wraps long labels after a slash ("IMPEGNATE/ LIQUIDATE" once extracted): glued back.
    pdf_body = normalise(pdf_text(pdf)).replace("/ ", "/")
    for text in (normalise(odt_text(odt)), normalise(docx_text(docx)), pdf_body):
        assert document.TITLE in text
        for label in labels:
            assert label in text, label
        assert "75,00 % – 50-79% (sufficiente) (6 azioni realizzate su 8 programmate)" in text
        assert "125,00 % – 100% (ottimo) – oltre il programmato" in text
        assert "100,00 % – 100% (ottimo) (pagato 1.000,00 € su 1.000,00 € preventivati)" in text
        assert INJECTED in text
    assert odt_page_breaks(odt) == docx_page_breaks(docx) == 3
    assert len(pdf_pages(pdf)) >= 4
    assert pdf_xmp(pdf)["part"] in ("1", "2", "3")


def test_an_empty_table_and_a_bad_format(session, world):
    procedure = procedure_of(session, world)
    text = normalise(odt_text(document.render(procedure, [], "odt")))
    assert "Nessun obiettivo della precedente programmazione" in text
    assert csv_rows(document.render(procedure, [], "csv")) == [[c.header for c in service.COLUMNS]]
    with pytest.raises(Problem) as caught:
        document.render(procedure, [], "html5")
    assert caught.value.status == 422 and "Formato non disponibile" in caught.value.message
