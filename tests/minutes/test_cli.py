"""``tavoli export verbale SEDUTA_ID --format pdf|odt|docx --output PATH`` (and ``--what registro``
for the presence register in CSV or ODS): exit 0 with the file, exit 2 with an Italian message for a
bad id, a seduta without a verbale, a format not on offer, a file that cannot be written. Each export
is an action for the audit trail."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.exports.readback import csv_rows, docx_text, normalise, ods_rows, odt_text, pdf_xmp
from tests.minutes.support import approved
from workspace import signals
from workspace.cli import main
from workspace.tavoli import service as tavoli


def run(app, *args: str):
    with app.app_context():
        return CliRunner().invoke(main, ["export", "verbale", *args])


@pytest.fixture
def recorded():
    seen = []

    def receiver(_session, *, action, details, actor, **_):
        seen.append((action, details.get("what"), details.get("format"), details.get("channel"), actor))

    signals.action_recorded.connect(receiver)
    yield seen
    signals.action_recorded.disconnect(receiver)


def test_each_format_of_an_approved_verbale(app, scripted, in_app, tmp_path, recorded):
    s = scripted
    with in_app() as db:
        verbale = approved(db, s)
        stored, digest = verbale.pdf, verbale.content_sha256
    out = run(app, str(s.seduta.id), "--format", "pdf", "--output", str(tmp_path / "v.pdf"))
    assert out.exit_code == 0, out.output
    assert digest in out.output and "approvato" in out.output
    assert (tmp_path / "v.pdf").read_bytes() == stored
    assert pdf_xmp(stored)["part"] == "2"
    for fmt in ("odt", "docx"):
        target = tmp_path / f"v.{fmt}"
        out = run(app, str(s.seduta.id), "--format", fmt.upper(), "--output", str(target))
        assert out.exit_code == 0, out.output
        text = normalise(odt_text(target.read_bytes()) if fmt == "odt" else docx_text(target.read_bytes()))
        assert "Verbale della seduta n. 1" in text and "Registro delle presenze" in text
    assert [r for r in recorded if r[0] == "verbale.exported"] == [
        ("verbale.exported", "verbale", f, "cli", None) for f in ("pdf", "odt", "docx")]


def test_the_register_alone(app, scripted, tmp_path):
    s = scripted
    out = run(app, str(s.seduta.id), "--what", "registro", "--format", "csv", "--output", str(tmp_path / "r.csv"))
    assert out.exit_code == 0, out.output
    assert "bozza non approvata" in out.output
    rows = csv_rows((tmp_path / "r.csv").read_bytes())
    assert [r[0] for r in rows] == ["Persona", "Delia Delegata", "Dario Delegato", "Olga Osservatrice"]
    out = run(app, str(s.seduta.id), "--what", "registro", "--format", "ods", "--output", str(tmp_path / "r.ods"))
    assert out.exit_code == 0 and ods_rows((tmp_path / "r.ods").read_bytes())[1][0] == "Delia Delegata"


def test_bad_input_exits_2_in_italian(app, scripted, in_app, tmp_path, recorded):
    s = scripted
    target = str(tmp_path / "x.pdf")
    cases = {
        ("abc", "pdf"): "identificativo di seduta non valido",
        ("0", "pdf"): "identificativo di seduta non valido",
        ("999999", "pdf"): "la seduta 999999 non esiste",
        (str(s.seduta.id), "xlsx"): "Formato non disponibile: xlsx. Formati ammessi: pdf, odt, docx",
        (str(s.seduta.id), "csv"): "Formato non disponibile",
    }
    for (seduta_id, fmt), message in cases.items():
        out = run(app, seduta_id, "--format", fmt, "--output", target)
        assert out.exit_code == 2, (seduta_id, fmt, out.output)
        assert message in out.stderr, out.stderr
    registro = run(app, str(s.seduta.id), "--what", "registro", "--format", "pdf", "--output", target)
    assert registro.exit_code == 2 and "Formati ammessi: csv, ods" in registro.stderr
    with in_app() as db:
        other = tavoli.create_seduta(db, s.facilitator, s.tavolo, s.seduta.starts_at, "Sala", "presenza", ["Uno"])
        db.commit()
        other_id = other.id
    out = run(app, str(other_id), "--format", "pdf", "--output", target)
    assert out.exit_code == 2 and "non ha un verbale" in out.stderr
    nowhere = run(app, str(s.seduta.id), "--format", "odt", "--output", str(tmp_path / "manca" / "v.odt"))
    assert nowhere.exit_code == 2 and "impossibile scrivere" in nowhere.stderr
    assert not (tmp_path / "x.pdf").exists()
    assert recorded == []  # nothing exported, nothing recorded
