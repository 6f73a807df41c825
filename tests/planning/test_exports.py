"""Exports of priorities and schede obiettivo: round trips (XLSX, ODS, CSV, JSON parsed back give
the same values), the 26 official labels in ODT, DOCX and PDF, one card per page, PDF/A
identification, formula neutralisation, the JSON schemas in docs/, the Documento di Piano's
section 6, and the CLI (exit 0 with the file, exit 2 with an Italian message)."""
from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from tests.exports.readback import (
    csv_rows,
    docx_page_breaks,
    docx_text,
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
from tests.planning.support import closed_world, complete_values
from workspace.cli import main
from workspace.exports.tables import csv_text
from workspace.planning import documents, schema, service
from workspace.procedures.models import Procedure

DOCS = Path(__file__).resolve().parents[2] / "docs"
FORMULA = "=HYPERLINK(\"http://evil.example\";\"clic\")"


@pytest.fixture
def planned(session):
    """Two complete cards (macroaree E and A) and a disposition with a formula-like reason."""
    vw, _ = closed_world(session)
    procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
    service.record_disposition(session, vw.admin, vw.bisogni[1], "accolto", "+39 motivazione che sembra una formula")
    service.record_disposition(session, vw.admin, vw.bisogni[0], "non_accolto", "Fuori dalla competenza dell'Ambito")
    first = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[1]])
    values = complete_values(session, "E")
    values["objectives"] = FORMULA
    service.update_scheda(session, vw.admin, first, values=values)
    service.set_ready(session, vw.admin, first)
    second = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[0], vw.bisogni[2]], macroarea_code="A")
    service.update_scheda(session, vw.admin, second, values=complete_values(session, "A"), leps=[_a_leps(session)])
    session.commit()
    return vw, procedure, [first, second]


def _a_leps(session) -> str:
    from workspace.reference.service import get_macroarea

    return get_macroarea(session, "A").leps[0].id


def _plain(value):
    """A value as it comes back from every format, for comparison."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    return value


def test_priorities_round_trip_in_every_table_format(session, planned):
    _vw, procedure, _cards = planned
    rows = documents.priority_rows(session, procedure)
    assert len(rows) == 4 and rows[0]["posizione"] == 1 and rows[0]["esito"] == "Accolto"
    keys = [c.key for c in documents.PRIORITY_COLUMNS]
    expected = [[_plain(r[k]) for k in keys] for r in rows]
    sheet_cell = {"'" + r["motivazione"] if r["motivazione"] and r["motivazione"][0] in "=+-@" else None
                  for r in rows} - {None}
    assert sheet_cell == {"'+39 motivazione che sembra una formula"}

    xlsx = documents.priorities_bytes(session, procedure, "xlsx")
    back = xlsx_rows(xlsx)
    assert back[0] == [c.label for c in documents.PRIORITY_COLUMNS]
    assert [[_plain(v) for v in r] for r in back[1:]] == [
        [("'" + v if isinstance(v, str) and v.startswith("+") else v) for v in row] for row in expected]
    assert not any("f" in row for row in xlsx_types(xlsx))

    ods = documents.priorities_bytes(session, procedure, "ods")
    back = ods_rows(ods)
    assert [[_plain(v) for v in r] for r in back[1:]] == [
        [("'" + v if isinstance(v, str) and v.startswith("+") else v) for v in row] for row in expected]
    assert not any("formula" in row for row in ods_types(ods))

    csv = csv_rows(documents.priorities_bytes(session, procedure, "csv"))
    assert csv[1:] == [[csv_text(v) for v in [r[k] for k in keys]] for r in rows]
    assert any(cell == "'+39 motivazione che sembra una formula" for row in csv for cell in row)

    data = json.loads(documents.priorities_bytes(session, procedure, "json"))
    Draft202012Validator(json.loads((DOCS / "priorita.schema.json").read_text()),
                         format_checker=FormatChecker()).validate(data)
    assert [d["bisogno_id"] for d in data] == [r["bisogno_id"] for r in rows]
    assert data[0]["motivazione"] == "+39 motivazione che sembra una formula"  # JSON is data: not altered


def test_scopes_per_tavolo_and_macroarea(session, planned):
    vw, procedure, cards = planned
    by_macroarea = documents.cards(session, procedure, documents.Scope(macroarea="A"))
    assert [c.id for c in by_macroarea] == [cards[1].id]
    assert len(documents.cards(session, procedure, documents.Scope(tavolo_id=vw.tavolo.id))) == 2
    assert documents.priority_rows(session, procedure, documents.Scope(macroarea="A")) == []
    assert len(documents.priority_rows(session, procedure, documents.Scope(macroarea="E"))) == 4


def test_cards_round_trip_in_table_formats_with_formulas_neutralised(session, planned):
    _vw, procedure, cards = planned
    sheet = documents.card_sheet(session, procedure)
    labels = [c.label for c in sheet.cols]
    assert labels[6:] == schema.labels()
    expected = [[_plain(v) for v in row] for row in sheet.values()]
    neutral = [[("'" + v if isinstance(v, str) and v.startswith(("=", "+", "-", "@")) else v) for v in row]
               for row in expected]
    xlsx = documents.schede_bytes(session, procedure, "xlsx")
    assert xlsx_rows(xlsx)[0] == labels
    assert [[_plain(v) for v in r] for r in xlsx_rows(xlsx)[1:]] == neutral
    assert not any("f" in row for row in xlsx_types(xlsx))
    ods = documents.schede_bytes(session, procedure, "ods")
    assert [[_plain(v) for v in r] for r in ods_rows(ods)[1:]] == neutral
    csv = csv_rows(documents.schede_bytes(session, procedure, "csv"))
    assert csv[0] == labels
    objectives = labels.index("QUALI OBIETTIVI VUOLE RAGGIUNGERE")
    row = next(r for r in csv[1:] if r[0] == str(cards[0].id))
    assert row[objectives] == "'" + FORMULA
    assert len(csv) == 3


def test_cards_json_follows_the_schema(session, planned):
    _vw, procedure, cards = planned
    data = json.loads(documents.schede_bytes(session, procedure, "json"))
    Draft202012Validator(json.loads((DOCS / "schede-obiettivo.schema.json").read_text()),
                         format_checker=FormatChecker()).validate(data)
    assert sorted(s["id"] for s in data["schede"]) == sorted(c.id for c in cards)
    first = next(s for s in data["schede"] if s["id"] == cards[0].id)
    assert [f["label_it"] for f in first["fields"]] == schema.labels()
    assert first["fields"][1]["value"] == FORMULA
    assert first["fields"][4]["value"] == {"public": 120000, "private": 15000.5}


@pytest.mark.parametrize("fmt", ["odt", "docx", "pdf"])
def test_every_official_label_in_the_card_documents(session, planned, fmt):
    _vw, procedure, cards = planned
    data = documents.schede_bytes(session, procedure, fmt)
    # Whitespace dropped: the PDF breaks long labels across lines (also after a hyphen).
    text = re.sub(r"\s+", "", {"odt": odt_text, "docx": docx_text, "pdf": pdf_text}[fmt](data))
    for label in schema.labels():
        assert re.sub(r"\s+", "", label) in text, label
    assert "Macroareaprincipale" in text and "LEPScollegati" in text
    if fmt == "pdf":
        assert pdf_xmp(data)["part"] in ("1", "2", "3")
        assert "conformance" in pdf_xmp(data)
        # Each card starts on a page of its own.
        pages = pdf_pages(data)
        starts = [next(n for n, page in enumerate(pages) if c.title in page) for c in cards]
        assert len(set(starts)) == len(cards)
    elif fmt == "odt":
        assert odt_page_breaks(data) == len(cards) - 1
    else:
        assert docx_page_breaks(data) == len(cards) - 1


@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_documento_di_piano_section_6(session, planned, fmt):
    _vw, _procedure, cards = planned
    data = documents.obiettivi_bytes(session, _procedure, fmt)
    text = normalise(odt_text(data) if fmt == "odt" else docx_text(data))
    assert normalise("individuazione degli obiettivi") in text
    assert normalise("Obiettivi connessi alla realizzazione dei LEPS") in text
    assert normalise("Obiettivi del singolo Ambito") in text
    for card in cards:
        assert normalise(card.title) in text


def _cli(app, *args: str):
    with app.app_context():
        return CliRunner().invoke(main, ["export", *args])


def test_cli_writes_every_format(app, session, planned, tmp_path):
    _vw, procedure, _cards = planned
    for what, formats in (("priorita", documents.PRIORITY_FORMATS), ("schede", ("csv", "json", "odt"))):
        for fmt in formats:
            target = tmp_path / f"{what}.{fmt}"
            out = _cli(app, what, "--procedure", str(procedure.id), "--format", fmt, "--output", str(target))
            assert out.exit_code == 0, out.output
            assert target.stat().st_size > 0
    out = _cli(app, "schede", "--procedure", str(procedure.id), "--format", "csv", "--macroarea", "A",
               "--output", str(tmp_path / "a.csv"))
    assert out.exit_code == 0, out.output
    assert len(csv_rows((tmp_path / "a.csv").read_bytes())) == 2


@pytest.mark.parametrize("args, message", [
    (["priorita", "--procedure", "abc", "--format", "csv"], "identificativo di procedura non valido"),
    (["priorita", "--procedure", "999999", "--format", "csv"], "la procedura 999999 non esiste"),
    (["priorita", "--procedure", "{pid}", "--format", "pdf"], "Formato non disponibile"),
    (["schede", "--procedure", "{pid}", "--format", "rtf"], "Formato non disponibile"),
    (["schede", "--procedure", "{pid}", "--format", "csv", "--macroarea", "Z"], "macroarea sconosciuta"),
    (["schede", "--procedure", "{pid}", "--format", "csv", "--tavolo", "999999"], "non appartiene"),
])
def test_cli_refusals_exit_2_in_italian(app, session, planned, tmp_path, args, message):
    _vw, procedure, _cards = planned
    target = tmp_path / "out"
    out = _cli(app, *[a.replace("{pid}", str(procedure.id)) for a in args], "--output", str(target))
    assert out.exit_code == 2
    assert message in out.output
    assert not target.exists()

