"""``tavoli export verbale SEDUTA_ID --format pdf|odt|docx --output PATH``: a seduta's verbale on file
(the stored PDF/A once approved; a draft is exported as a draft, its footer says so). With
``--what registro`` the presence register alone, ``--format csv|ods``.

Exit status 0 with the file written; 2 with an Italian message on standard error for a bad seduta
id, a seduta without a verbale, a format not on offer, or a file that cannot be written. Each
export is recorded in the audit trail (an export of an official document).
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


@click.command(name="verbale")
@click.argument("seduta_id", metavar="SEDUTA_ID")
@click.option("--format", "fmt", required=True, metavar="FORMATO",
              help="verbale: pdf (PDF/A), odt o docx; registro: csv o ods.")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="File da scrivere.")
@click.option("--what", type=click.Choice(["verbale", "registro"]), default="verbale", show_default=True,
              help="Il verbale intero o il solo registro delle presenze.")
def export_verbale(seduta_id: str, fmt: str, output: str, what: str) -> None:
    """Esporta il verbale di una seduta (o il suo registro delle presenze) su file."""
    from flask_babel import force_locale

    from workspace.db import db
    from workspace.exports import check_format
    from workspace.minutes import service
    from workspace.problems import Problem
    from workspace.tavoli.models import Seduta

    if not seduta_id.isdigit() or int(seduta_id) < 1:
        _fail(f"identificativo di seduta non valido: «{seduta_id[:20]}» (serve un numero intero positivo).")
    with _app_context(), force_locale("it"):
        session = db.session
        allowed = service.DOCUMENT_FORMATS if what == "verbale" else service.REGISTER_FORMATS
        try:
            fmt = check_format(fmt, allowed).name
        except Problem as problem:
            _fail(problem.message)
        seduta = session.get(Seduta, int(seduta_id))
        if seduta is None:
            _fail(f"la seduta {seduta_id} non esiste.")
        assert seduta is not None
        verbale = service.verbale_of(session, seduta.id)
        if verbale is None:
            _fail(f"la seduta n. {seduta.number} del tavolo «{seduta.tavolo.title}» (id {seduta.id}) non ha un "
                  "verbale: si genera quando la seduta è chiusa.")
        assert verbale is not None
        data = (service.document_bytes(verbale, fmt) if what == "verbale" else service.register_bytes(verbale, fmt))
        path = Path(output)
        try:
            path.write_bytes(data)
        except OSError as exc:
            session.rollback()
            _fail(f"impossibile scrivere {path}: {exc.strerror or exc}.")
        service.record_export(session, None, verbale, what, fmt, "cli")
        session.commit()
        state = "approvato, SHA-256 " + verbale.content_sha256 if verbale.approved and verbale.content_sha256 \
            else "bozza non approvata"
        click.echo(f"Scritto {path} ({len(data)} byte): {what} della seduta n. {seduta.number}, {state}.")
