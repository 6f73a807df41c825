"""``tavoli export sintesi --procedure ID --format pdf|odt|docx --output PATH``: exit 0 with the file
(the stored PDF/A once approved), exit 2 with an Italian message for a bad id, a procedure without a
documento, a format not on offer, a file that cannot be written."""
from __future__ import annotations

from click.testing import CliRunner

from tests.exports.readback import docx_footer, docx_text, normalise, odt_footer, odt_text, pdf_xmp
from tests.sintesi.support import concluded
from workspace.cli import main


def run(app, *args: str):
    with app.app_context():
        return CliRunner().invoke(main, ["export", "sintesi", *args])


def test_each_format_of_an_approved_documento(app, closing, in_app, tmp_path):
    c = closing
    with in_app() as db:
        documento = concluded(db, c)
        stored, digest = documento.pdf, documento.content_sha256
    out = run(app, "--procedure", str(c.procedure_id), "--format", "pdf", "--output", str(tmp_path / "s.pdf"))
    assert out.exit_code == 0, out.output
    assert digest in out.output and "approvato" in out.output
    assert (tmp_path / "s.pdf").read_bytes() == stored
    assert pdf_xmp(stored)["part"] == "2"
    for fmt in ("odt", "docx"):
        target = tmp_path / f"s.{fmt}"
        out = run(app, "--procedure", str(c.procedure_id), "--format", fmt.upper(), "--output", str(target))
        assert out.exit_code == 0, out.output
        data = target.read_bytes()
        text = normalise(odt_text(data) if fmt == "odt" else docx_text(data))
        assert "Documento di sintesi" in text and "Contributi ricevuti" in text and "Partecipazione" in text
        assert "Priorità per macroarea" in text  # the chart's data table travels with it
        assert digest in (odt_footer(data) if fmt == "odt" else docx_footer(data))


def test_refusals_exit_2_with_an_italian_message(app, closing, tmp_path):
    c = closing
    target = str(tmp_path / "s.pdf")
    cases = {
        ("--procedure", "abc", "--format", "pdf", "--output", target): "identificativo di procedura non valido",
        ("--procedure", "²", "--format", "pdf", "--output", target): "identificativo di procedura non valido",
        ("--procedure", "9" * 23, "--format", "pdf", "--output", target): "identificativo di procedura non valido",
        ("--procedure", "99999", "--format", "pdf", "--output", target): "non esiste",
        ("--procedure", str(c.procedure_id), "--format", "pdf", "--output", target): "non ha ancora un documento",
        ("--procedure", str(c.procedure_id), "--format", "xlsx", "--output", target): "Formato",
    }
    for args, fragment in cases.items():
        out = run(app, *args)
        assert out.exit_code == 2, (args, out.output)
        assert fragment in out.output, (args, out.output)
    assert not (tmp_path / "s.pdf").exists()


def test_an_unwritable_path_exits_2(app, closing, in_app, tmp_path):
    c = closing
    with in_app() as db:
        concluded(db, c)
    out = run(app, "--procedure", str(c.procedure_id), "--format", "pdf", "--output", str(tmp_path / "no" / "s.pdf"))
    assert out.exit_code == 2 and "impossibile scrivere" in out.output
