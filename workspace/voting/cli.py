"""The ``votes`` command group: count a tally file, recount a stored round, close the due rounds.

``seal`` removes what the database engine still keeps of secret rounds' mixed ballots (docs/secret-ballot.md).
The lead wires it into ``tavoli`` (``from workspace.voting.cli import votes``); it also runs on its
own: ``python -m workspace.voting.cli tally --method schulze voti.json``. The report is JSON on
standard output; invalid input exits with status 2 and an Italian message on standard error.
``recount ROUND_ID`` exits with status 1 when the recomputed result differs from the stored one.
"""
from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import click
from flask import current_app

from workspace.voting.methods import METHOD_NAMES, VotingError
from workspace.voting.tallyfile import count, parse, read_text

INVALID_INPUT = 2
DIFFERENT = 1


def _app_context() -> AbstractContextManager[Any]:
    """The running app's context (inside ``tavoli``), or a new app's (run on its own)."""
    from flask import has_app_context

    if has_app_context():
        return nullcontext()
    from workspace import create_app

    return create_app().app_context()


@click.group(name="votes")
def votes() -> None:
    """Conteggio dei voti di priorità di un tavolo."""


@votes.command()
@click.option("--method", type=click.Choice(METHOD_NAMES), required=True, help="Metodo di conteggio.")
@click.option("--k", type=int, default=None, help="approval: approvazioni massime per scheda (predefinito: tutti i candidati).")
@click.option("--points", type=int, default=None, help="dot: punti da distribuire per scheda (predefinito: 10).")
@click.option("--max-per-item", type=int, default=None, help="dot: punti massimi per voce (predefinito: --points).")
@click.option(
    "--criteria",
    default=None,
    help='score: criteri separati da virgole, es. "urgenza,impatto,fattibilita" (predefinito: "punteggio" '
    "se le schede danno un numero solo per candidato, altrimenti urgenza, impatto, fattibilità).",
)
@click.option("--weights", default=None, help='score: pesi dei criteri, es. "1,1,1" (predefinito: uguali).')
@click.option(
    "--tie-break",
    "seed",
    default=None,
    metavar="SEED",
    help="Spareggio deterministico (SHA-256 di seed+candidato) dei gruppi di pari merito; solo se richiesto.",
)
@click.argument("file", metavar="FILE")
def tally(method: str, k, points, max_per_item, criteria, weights, seed, file: str) -> None:
    """Conta le schede di FILE (JSON {"candidates": [...], "ballots": [...]}; "-" per l'ingresso standard)."""
    try:
        document = parse(read_text(file))
        output = count(
            document,
            method,
            seed=seed,
            k=k,
            points=points,
            max_per_item=max_per_item,
            criteria=criteria,
            weights=weights,
        )
    except VotingError as exc:
        click.echo(str(exc), err=True)
        sys.exit(INVALID_INPUT)
    click.echo(json.dumps(output, ensure_ascii=False, indent=2))


@votes.command()
@click.argument("round_id", type=int, metavar="ROUND_ID")
def recount(round_id: int) -> None:
    """Riconta una votazione chiusa dalle sue schede e la confronta con il risultato memorizzato.

    Stampa un resoconto JSON (metodo, versione, differenze); esce con stato 1 se qualcosa differisce.
    """
    from workspace.problems import Problem

    with _app_context():
        from workspace.db import db
        from workspace.voting import results, rounds

        session = db.session
        try:
            report = results.recount(session, rounds.get_round(session, round_id))
        except Problem as problem:
            click.echo(problem.message, err=True)
            sys.exit(INVALID_INPUT)
        finally:
            session.rollback()
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["match"]:
        click.echo(f"Il riconteggio della votazione {round_id} differisce dal risultato memorizzato "
                   f"({len(report['differences'])} differenze).", err=True)
        sys.exit(DIFFERENT)


@votes.command("close-due")
def close_due() -> None:
    """Chiude le votazioni asincrone la cui data di chiusura è passata (lo fa già «tavoli serve» ogni 30 s;
    utile con un server esterno, da cron o da un timer systemd)."""
    with _app_context():
        from workspace.db import db
        from workspace.voting import box, rounds

        session = db.session
        try:
            events = rounds.close_due_rounds(session)
            session.commit()
        except Exception:
            session.rollback()
            raise
        closed = [ev.payload.get("id") for ev in events]
        if any(ev.payload.get("secret") for ev in events) and not box.wait_sealed(current_app, box.SEAL_PATIENCE):
            click.echo("Il database non è stato sigillato: eseguire «tavoli votes seal».", err=True)
    if closed:
        click.echo(f"Votazioni chiuse: {len(closed)} ({', '.join(str(i) for i in closed)}).")
    else:
        click.echo("Nessuna votazione da chiudere.")


@votes.command()
def seal() -> None:
    """Cancella dai file del database le tracce delle schede segrete già mescolate nell'urna (checkpoint
    del -wal su SQLite, VACUUM FULL su PostgreSQL). Si fa da sé alla chiusura di ogni votazione segreta
    e all'avvio di «tavoli serve»; utile prima di un backup. Esce con stato 1 se non ci riesce."""
    with _app_context():
        from workspace.db import db
        from workspace.voting import box

        done = box.seal(db.engine, patience=60)
    if not done:
        click.echo("Il database è occupato: non è stato possibile sigillarlo entro 60 secondi, riprovare.", err=True)
        sys.exit(DIFFERENT)
    click.echo("Database sigillato: nessuna traccia delle schede segrete mescolate resta nei file.")


if __name__ == "__main__":
    votes(prog_name="python -m workspace.voting.cli")
