"""``tavoli audit verify``: walk the whole chain of the audit trail.

Exit 0 printing how many entries were checked (and the last hash, worth noting somewhere outside
this database: it is what a later check can be compared with); exit 1 naming the first broken
entry (number, time, action) and why.
"""
from __future__ import annotations

import sys
from datetime import UTC

import click

BROKEN = 1


@click.group(name="audit")
def audit() -> None:
    """Registro di audit (catena di impronte SHA-256)."""


@audit.command()
def verify() -> None:
    """Verifica l'intera catena del registro di audit."""
    from workspace import create_app
    from workspace.audit.chain import verify as walk
    from workspace.db import db

    app = create_app({"CHECK_MIGRATIONS": True})
    with app.app_context():
        session = db.session
        if db.engine.dialect.name == "postgresql":
            # One snapshot for the head and every entry: appends committed meanwhile stay out of it.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            result = walk(session)
        finally:
            session.rollback()
            session.close()
            db.engine.dispose()
    if result.ok:
        click.echo(f"Registro di audit integro: {result.checked} voci verificate.")
        if result.checked:
            click.echo(f"Impronta dell'ultima voce: {result.last_hash}")
        return
    broken = result.broken
    assert broken is not None
    when = broken.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if broken.at else "—"
    click.echo(f"Registro di audit ALTERATO: voce n. {broken.entry_id} del {when} ({broken.action or '—'}): "
               f"{broken.reason}. Voci integre prima di questa: {result.checked}.", err=True)
    sys.exit(BROKEN)
