"""``tavoli export sintesi --procedure ID --format pdf|odt|docx --output PATH``: a procedure's
documento di sintesi on file (the stored PDF/A once approved; a draft is exported as a draft, its
footer says so).

Exit status 0 with the file written; 2 with an Italian message on standard error for a bad
procedure id, a procedure without a documento di sintesi, a format not on offer, or a file that
cannot be written. Each export is recorded in the audit trail (an export of an official document).
"""
from __future__ import annotations

from pathlib import Path

import click

from workspace.minutes.cli import _app_context, _fail


@click.command(name="sintesi")
@click.option("--procedure", "procedure_id", required=True, metavar="ID", help="Identificativo della procedura.")
@click.option("--format", "fmt", required=True, metavar="FORMATO", help="pdf (PDF/A), odt o docx.")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="File da scrivere.")
def export_sintesi(procedure_id: str, fmt: str, output: str) -> None:
    """Esporta il documento di sintesi di una procedura su file."""
    from flask_babel import force_locale

    from workspace.db import db
    from workspace.exports import check_format
    from workspace.ids import parse_id
    from workspace.problems import Problem
    from workspace.procedures.models import Procedure
    from workspace.sintesi import service

    parsed = parse_id(procedure_id)
    if parsed is None:
        _fail(f"identificativo di procedura non valido: «{procedure_id[:20]}» (serve un numero intero positivo).")
    with _app_context(), force_locale("it"):
        session = db.session
        try:
            fmt = check_format(fmt, service.DOCUMENT_FORMATS).name
        except Problem as problem:
            _fail(problem.message)
        procedure = session.get(Procedure, parsed)
        if procedure is None:
            _fail(f"la procedura {procedure_id} non esiste.")
        assert procedure is not None
        documento = service.documento_of(session, procedure)
        if documento is None:
            _fail(f"la procedura «{procedure.title}» (id {procedure.id}) non ha ancora un documento di sintesi: "
                  "il RUP lo genera dalla pagina della procedura quando i tavoli sono in corso.")
        assert documento is not None
        data = service.document_bytes(documento, fmt)
        path = Path(output)
        try:
            path.write_bytes(data)
        except OSError as exc:
            session.rollback()
            _fail(f"impossibile scrivere {path}: {exc.strerror or exc}.")
        service.record_export(session, None, documento, fmt, "cli")
        session.commit()
        state = ("approvato, SHA-256 " + documento.content_sha256 if documento.approved and documento.content_sha256
                 else "bozza non approvata")
        click.echo(f"Scritto {path} ({len(data)} byte): documento di sintesi della procedura {procedure.id}, {state}.")
