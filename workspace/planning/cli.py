"""``tavoli export priorita|schede|obiettivi --procedure ID --format FMT --output PATH``.

- ``priorita``: csv, xlsx, ods, json — one row per ranked bisogno of every closed round, with the
  disposition;
- ``schede``: odt, docx, pdf (PDF/A, one card per page), xlsx, ods, csv, json;
- ``obiettivi``: odt, docx — the objectives section (6) of the Documento di Piano.

``--tavolo ID`` or ``--macroarea X`` narrow the export. Exit status 0 with the file written; 2 with
an Italian message on standard error for a bad procedure id, tavolo, macroarea or format, or a file
that cannot be written. Each export is recorded in the audit trail.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from workspace.minutes.cli import _app_context

INVALID = 2


def _fail(message: str) -> None:
    click.echo(f"Errore: {message}", err=True)
    sys.exit(INVALID)


def _run(what: str, procedure_id: str, fmt: str, output: str, tavolo: str | None, macroarea: str | None) -> None:
    from flask_babel import force_locale

    from workspace import signals
    from workspace.db import db
    from workspace.exports import check_format
    from workspace.ids import parse_id
    from workspace.planning import documents
    from workspace.problems import Problem
    from workspace.procedures.models import Procedure
    from workspace.reference.models import Macroarea

    allowed = {"priorita": documents.PRIORITY_FORMATS, "schede": documents.SCHEDE_FORMATS,
               "obiettivi": documents.OBIETTIVI_FORMATS}[what]
    if parse_id(procedure_id) is None:
        _fail(f"identificativo di procedura non valido: «{procedure_id[:20]}» (serve un numero intero positivo).")
    with _app_context(), force_locale("it"):
        session = db.session
        try:
            fmt = check_format(fmt, allowed).name
        except Problem as problem:
            _fail(problem.message)
        procedure = session.get(Procedure, parse_id(procedure_id))
        if procedure is None:
            _fail(f"la procedura {procedure_id} non esiste.")
        assert procedure is not None
        scope = documents.Scope()
        if tavolo is not None:
            tavolo_id = parse_id(tavolo)
            if tavolo_id is None or tavolo_id not in {t.id for t in procedure.tavoli}:
                _fail(f"il tavolo «{tavolo[:20]}» non appartiene alla procedura {procedure.id}.")
            scope = documents.Scope(tavolo_id=tavolo_id)
        elif macroarea is not None:
            code = macroarea.strip().upper()
            if len(code) != 1 or session.get(Macroarea, code) is None:
                _fail(f"macroarea sconosciuta: «{macroarea[:20]}» (una lettera da A a J).")
            scope = documents.Scope(macroarea=code)
        if what == "priorita":
            data = documents.priorities_bytes(session, procedure, fmt, scope)
        elif what == "schede":
            data = documents.schede_bytes(session, procedure, fmt, scope)
        else:
            data = documents.obiettivi_bytes(session, procedure, fmt)
        path = Path(output)
        try:
            path.write_bytes(data)
        except OSError as exc:
            session.rollback()
            _fail(f"impossibile scrivere {path}: {exc.strerror or exc}.")
        signals.action_recorded.send(session, actor=None, action="planning.exported", object_type="procedure",
                                     object_id=procedure.id, details={"what": what, "format": fmt,
                                                                      "scope": scope.label(), "via": "cli"})
        session.commit()
        click.echo(f"Scritto {path} ({len(data)} byte): {what}, procedura n. {procedure.id}, {scope.label()}.")


_OPTIONS = [
    click.option("--procedure", "procedure_id", required=True, metavar="ID", help="Identificativo della procedura."),
    click.option("--output", "output", required=True, type=click.Path(dir_okay=False), help="File da scrivere."),
    click.option("--tavolo", default=None, metavar="ID", help="Solo questo tavolo della procedura."),
    click.option("--macroarea", default=None, metavar="LETTERA", help="Solo questa macroarea."),
]


def _with_options(fn):
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


@click.command(name="priorita")
@click.option("--format", "fmt", required=True, metavar="FORMATO", help="csv, xlsx, ods o json.")
@_with_options
def export_priorita(procedure_id: str, fmt: str, output: str, tavolo: str | None, macroarea: str | None) -> None:
    """Esporta le priorità dei tavoli e le disposizioni dell'Ufficio di Piano."""
    _run("priorita", procedure_id, fmt, output, tavolo, macroarea)


@click.command(name="schede")
@click.option("--format", "fmt", required=True, metavar="FORMATO", help="odt, docx, pdf, xlsx, ods, csv o json.")
@_with_options
def export_schede(procedure_id: str, fmt: str, output: str, tavolo: str | None, macroarea: str | None) -> None:
    """Esporta le schede obiettivo (una per pagina nei documenti)."""
    _run("schede", procedure_id, fmt, output, tavolo, macroarea)


@click.command(name="obiettivi")
@click.option("--format", "fmt", required=True, metavar="FORMATO", help="odt o docx.")
@click.option("--procedure", "procedure_id", required=True, metavar="ID", help="Identificativo della procedura.")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False), help="File da scrivere.")
def export_obiettivi(procedure_id: str, fmt: str, output: str) -> None:
    """Esporta la sezione 6 del Documento di Piano: gli obiettivi."""
    _run("obiettivi", procedure_id, fmt, output, None, None)
