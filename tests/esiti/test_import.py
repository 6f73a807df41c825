"""Import from CSV, XLSX and ODS: a good file adds its objectives after those in the table; a file
with any bad row imports nothing and says, per row, what is wrong (in Italian); headers are the
template's (or the column keys); an export imports back as is. The template opens in each format."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from tests.esiti.support import procedure_of, row
from tests.exports.readback import csv_rows, ods_rows, ods_sheet_names, xlsx_rows, xlsx_sheet_names
from tests.helpers import database_footprint, footprint_changes
from workspace import exports
from workspace.esiti import document, importing, service

FORMATS = ("csv", "xlsx", "ods")
GOOD = [row(obiettivo="Primo obiettivo"),
        row(obiettivo="Secondo obiettivo", azioni_programmate="5", azioni_realizzate="5", risposta_bisogno="",
            risposta_bisogno_motivazione="")]
BAD = [row(obiettivo="Buono"),
       row(obiettivo="Azioni sbagliate", azioni_programmate="0"),
       row(obiettivo="Buono anche questo"),
       row(obiettivo="", risorse_pagate="dieci", risposta_bisogno="forse"),
       row(obiettivo="Buono")]  # same title as line 2


def file_of(rows: list[dict], fmt: str, headers: str = "header") -> bytes:
    """A file as a spreadsheet user would make it (made with the export module: text cells)."""
    columns = [exports.Column(c.key, c.header if headers == "header" else c.key) for c in service.INPUT_COLUMNS]
    return exports.render_table(exports.Sheet("Foglio", columns, rows), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_good_file(session, world, fmt):
    procedure = procedure_of(session, world)
    service.create(session, world.admin, procedure, row(obiettivo="Già presente"))
    report = importing.import_file(session, world.admin, procedure, f"esiti.{fmt.upper()}", file_of(GOOD, fmt))
    assert report.summary() == "Importati 2 obiettivi."
    found = service.objectives(session, procedure)
    assert [(o.position, o.title) for o in found] == [(1, "Già presente"), (2, "Primo obiettivo"),
                                                      (3, "Secondo obiettivo")]
    assert found[1].budget_paid == Decimal("228500.50") and found[1].achievement.band.key == "sufficiente"
    assert found[2].achievement.band.key == "ottimo" and found[2].need_addressed is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_rows_import_nothing(session, world, fmt):
    procedure = procedure_of(session, world)
    session.commit()
    before = database_footprint(session)
    with pytest.raises(importing.ImportRefused) as caught:
        importing.import_file(session, world.admin, procedure, f"esiti.{fmt}", file_of(BAD, fmt))
    refusal = caught.value
    assert refusal.status == 422 and "3 righe con errori: nulla è stato importato" in refusal.message
    assert sorted(refusal.rows) == [3, 5, 6]  # file lines: header on line 1
    assert any("da 1 in su" in m for m in refusal.rows[3])
    line5 = " ".join(refusal.rows[5])
    assert "Indicare l'obiettivo" in line5 and "importo in euro" in line5 and "solo SI o NO" in line5
    assert refusal.rows[6] == ["Stesso obiettivo della riga 2."]
    assert refusal.errors["riga 3"].startswith("«N. azioni programmate»")
    session.commit()
    assert not footprint_changes(before, database_footprint(session))
    assert service.objectives(session, procedure) == []


def test_an_objective_already_in_the_table_is_an_error_of_its_row(session, world):
    procedure = procedure_of(session, world)
    service.create(session, world.admin, procedure, row(obiettivo="Secondo obiettivo"))
    with pytest.raises(importing.ImportRefused) as caught:
        importing.import_file(session, world.admin, procedure, "e.csv", file_of(GOOD, "csv"))
    assert list(caught.value.rows) == [3] and "già nella tabella" in caught.value.rows[3][0]
    assert len(service.objectives(session, procedure)) == 1


@pytest.mark.parametrize(("name", "data", "fragment"), [
    ("esiti.txt", b"x", "si importano file CSV, XLSX o ODS"),
    ("esiti.csv", b"", "vuoto"),
    ("esiti.csv", b"Obiettivo 2021-2023;Colore\nA;rosso\n", "intestazioni non riconosciute: «Colore»"),
    ("esiti.csv", "Macroarea o area di policy 2021-2023\nDomiciliarità\n".encode(), "Manca la colonna «Obiettivo"),
    ("esiti.csv", b"obiettivo\n", "nessun obiettivo"),
    ("esiti.csv", b"obiettivo\nCaff\x81\n", "non è in UTF-8"),
    ("esiti.xlsx", b"PK\x03\x04 not a workbook", "non si apre come XLSX"),
    ("esiti.ods", b"not an ods", "non si apre come ODS"),
])
def test_bad_files(session, world, name, data, fragment):
    procedure = procedure_of(session, world)
    with pytest.raises(importing.ImportRefused) as caught:
        importing.import_file(session, world.admin, procedure, name, data)
    assert fragment in caught.value.message
    assert service.objectives(session, procedure) == []


def test_a_windows_1252_csv_as_excel_saves_it(session, world):
    procedure = procedure_of(session, world)
    data = "Obiettivo 2021-2023;Criticità rilevate e piano di miglioramento\nCaffè sociale;Più volontari\n"
    importing.import_file(session, world.admin, procedure, "e.csv", data.encode("cp1252"))
    [o] = service.objectives(session, procedure)
    assert (o.title, o.critical_issues) == ("Caffè sociale", "Più volontari")


def test_keys_as_headers_comma_separated_csv_and_blank_lines(session, world):
    procedure = procedure_of(session, world)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["obiettivo", "azioni_programmate", "azioni_realizzate", "grado_raggiungimento_pct"])
    writer.writerow([])
    writer.writerow(["Con la virgola", "4", "1", "999"])  # a computed column is ignored
    importing.import_file(session, world.admin, procedure, "e.csv", buffer.getvalue().encode())
    [o] = service.objectives(session, procedure)
    assert o.achievement.shown == Decimal("25.00")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_imports_back(session, world, fmt):
    """Round trip through the file: export, import into another procedure, same table."""
    from workspace.procedures import lifecycle

    procedure = procedure_of(session, world)
    service.create(session, world.admin, procedure, row())
    service.create(session, world.admin, procedure, row(obiettivo="=HYPERLINK(\"http://x\")", risorse_pagate="",
                                                        risorse_preventivate="", criticita="+39 ritardi"))
    data = document.render(procedure, service.objectives(session, procedure), fmt)
    other = lifecycle.create_procedure(session, world.admin, procedure.ambito_code, "Altra procedura")
    importing.import_file(session, world.admin, other, f"export.{fmt}", data)
    assert [service.row_values(o) for o in service.objectives(session, other)] == \
        [service.row_values(o) for o in service.objectives(session, procedure)]
    assert service.objectives(session, other)[1].title == "=HYPERLINK(\"http://x\")"


def test_only_the_ufficio_di_piano_imports(session, world):
    procedure = procedure_of(session, world)
    session.commit()
    with pytest.raises(Exception) as caught:
        importing.import_file(session, world.facilitator, procedure, "e.csv", file_of(GOOD, "csv"))
    assert getattr(caught.value, "status", None) == 403
    assert service.objectives(session, procedure) == []


def test_the_template(app):
    headers = [c.header for c in service.INPUT_COLUMNS]
    with app.app_context():
        assert csv_rows(importing.template_bytes("csv")) == [headers]
        xlsx, ods = importing.template_bytes("xlsx"), importing.template_bytes("ods")
    assert xlsx_sheet_names(xlsx) == ods_sheet_names(ods) == ["Esiti 2021-2023", "Istruzioni"]
    assert xlsx_rows(xlsx)[0] == headers and ods_rows(ods)[0] == headers
    instructions = xlsx_rows(xlsx, "Istruzioni")
    assert instructions[1][0] == "Obiettivo 2021-2023" and "obbligatorio" in instructions[1][2]
    # The template parses as a file with headers and no objective.
    with pytest.raises(importing.ImportRefused, match="nessun obiettivo"):
        importing.parse(xlsx, "xlsx")
