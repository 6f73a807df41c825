"""``tavoli export esiti --procedure ID --format … --output PATH``: exit 0 with the file (every
format), exit 2 with an Italian message for a bad id, an unknown procedure, a format not on offer or
a file that cannot be written; each export goes on the audit trail. And the Pavia demo's table:
three objectives in three different bands."""
from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from tests.esiti.support import procedure_of, row
from tests.exports.readback import csv_rows, docx_text, json_rows, normalise, ods_rows, pdf_xmp, xlsx_rows
from workspace import signals
from workspace.cli import main
from workspace.esiti import service


def run(app, *args: str):
    with app.app_context():
        return CliRunner().invoke(main, ["export", "esiti", *args])


@pytest.fixture
def filled(world, in_app):
    with in_app() as db:
        procedure = procedure_of(db, world)
        service.create(db, world.admin, procedure, row())
        db.commit()
        return procedure.id


def test_every_format(app, filled, tmp_path):
    seen = []

    def receiver(_session, *, action, details, **_):
        seen.append((action, details.get("format"), details.get("channel")))

    signals.action_recorded.connect(receiver)
    try:
        for fmt in ("csv", "xlsx", "ods", "json", "pdf", "odt", "DOCX"):
            target = tmp_path / f"esiti.{fmt.lower()}"
            out = run(app, "--procedure", str(filled), "--format", fmt, "--output", str(target))
            assert out.exit_code == 0, out.output
            assert "obiettivi in tabella: 1." in out.output and str(target) in out.output
    finally:
        signals.action_recorded.disconnect(receiver)
    assert csv_rows((tmp_path / "esiti.csv").read_bytes())[1][1] == "Potenziare l'assistenza domiciliare"
    assert xlsx_rows((tmp_path / "esiti.xlsx").read_bytes())[1][1] == "Potenziare l'assistenza domiciliare"
    assert ods_rows((tmp_path / "esiti.ods").read_bytes())[1][1] == "Potenziare l'assistenza domiciliare"
    assert json_rows((tmp_path / "esiti.json").read_bytes())[0]["fascia_raggiungimento"] == "50-79% (sufficiente)"
    assert pdf_xmp((tmp_path / "esiti.pdf").read_bytes())["part"] in ("1", "2", "3")
    assert "GRADO DI RAGGIUNGIMENTO" in normalise(docx_text((tmp_path / "esiti.docx").read_bytes()))
    assert [s for s in seen if s[0] == "esiti.exported"] == [
        ("esiti.exported", f, "cli") for f in ("csv", "xlsx", "ods", "json", "pdf", "odt", "docx")]


@pytest.mark.parametrize(("args", "fragment"), [
    (("--procedure", "abc", "--format", "csv"), "identificativo di procedura non valido: «abc»"),
    (("--procedure", "0", "--format", "csv"), "identificativo di procedura non valido"),
    (("--procedure", "999999", "--format", "csv"), "la procedura 999999 non esiste"),
    (("--procedure", "{id}", "--format", "html"), "Formato non disponibile: html"),
])
def test_refusals_exit_2_in_italian(app, filled, tmp_path, args, fragment):
    args = tuple(a.replace("{id}", str(filled)) for a in args)
    out = run(app, *args, "--output", str(tmp_path / "x"))
    assert out.exit_code == 2 and fragment in out.output and "Errore:" in out.output
    assert not (tmp_path / "x").exists()


def test_an_unwritable_path(app, filled, tmp_path):
    out = run(app, "--procedure", str(filled), "--format", "csv", "--output", str(tmp_path / "manca" / "x.csv"))
    assert out.exit_code == 2 and "impossibile scrivere" in out.output


def test_the_demo_table(session):
    from workspace.demo.loader import load_demo
    from workspace.procedures.models import Procedure

    assert load_demo(session, only_if_empty=True) is True
    # The demo's procedure in progress (the second one is concluded: tests/sintesi/test_demo.py).
    procedure = session.query(Procedure).order_by(Procedure.id).first()
    objectives = service.objectives(session, procedure)
    assert len(objectives) == 3
    assert [o.achievement.band.key for o in objectives] == ["sufficiente", "ottimo", "insufficiente"]
    assert [o.budget.band.key for o in objectives] == ["<100%", "100%", ">100%"]
    assert objectives[2].achievement.shown == Decimal("33.33")
