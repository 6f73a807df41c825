"""``tavoli export esiti --procedure ID --format pdf|odt|docx|csv|xlsx|ods|json --output PATH``: the
*Tabella Esiti* of a procedure's previous programming on file.

Exit status 0 with the file written; 2 with an Italian message on standard error for a bad
procedure id, a format not on offer, or a file that cannot be written. Each export is recorded in
the audit trail (an export of an official document).
"""
from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click

INVALID = 2


def _app_context() -> AbstractContextManager[Any]:
    """The running app's context (inside ``tavoli``), or a new app's (run on its own)."""
    from flask import has_app_context

    if has_app_context():
        return nullcontext()
    from workspace import create_app

    return create_app({"CHECK_MIGRATIONS": True}).app_context()


def _fail(message: str) -> None:
    click.echo(f"Errore: {message}", err=True)
    sys.exit(INVALID)


@click.command(name="esiti")
@click.option("--procedure", "procedure_id", required=True, metavar="ID", help="Identificativo della procedura.")
@click.option("--format", "fmt", required=True, metavar="FORMATO",
              help="pdf (PDF/A), odt, docx, csv, xlsx, ods o json.")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False), help="File da scrivere.")
def export_esiti(procedure_id: str, fmt: str, output: str) -> None:
    """Esporta la tabella esiti della precedente programmazione 2021-2023 di una procedura."""
    from flask_babel import force_locale

    from workspace.db import db
    from workspace.esiti import document, service
    from workspace.exports import check_format
    from workspace.problems import Problem
    from workspace.procedures.models import Procedure

    if not procedure_id.isdigit() or int(procedure_id) < 1:
        _fail(f"identificativo di procedura non valido: «{procedure_id[:20]}» (serve un numero intero positivo).")
    with _app_context(), force_locale("it"):
        session = db.session
        try:
            fmt = check_format(fmt, document.FORMATS).name
        except Problem as problem:
            _fail(problem.message)
        procedure = session.get(Procedure, int(procedure_id))
        if procedure is None:
            _fail(f"la procedura {procedure_id} non esiste.")
        assert procedure is not None
        objectives = service.objectives(session, procedure)
        data = document.render(procedure, objectives, fmt)
        path = Path(output)
        try:
            path.write_bytes(data)
        except OSError as exc:
            session.rollback()
            _fail(f"impossibile scrivere {path}: {exc.strerror or exc}.")
        service.announce(session, None, "exported", procedure, None, format=fmt, channel="cli")
        session.commit()
        click.echo(f"Scritto {path} ({len(data)} byte): esiti 2021-2023 della procedura n. {procedure.id}, "
                   f"obiettivi in tabella: {len(objectives)}.")
