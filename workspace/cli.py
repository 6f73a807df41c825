"""The ``tavoli`` command: serve, migrate, load reference data and the demo."""
from __future__ import annotations

import os
import sys

import click

from workspace import create_app


def _app(check_migrations: bool = False):
    return create_app({"CHECK_MIGRATIONS": check_migrations})


@click.group()
def main() -> None:
    """Tavoli — co-programmazione dei Piani di Zona."""


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="5000")
def serve(host: str, port: int) -> None:
    """Avvia il server (modalità integrata, un processo, gevent)."""
    from workspace.extensions import socketio
    from workspace.migrate import DatabaseNotMigrated
    from workspace.serving import LISTEN_BACKLOG, patched, tune_gc

    if not patched():
        # Only reached when this module is run directly, not through the `tavoli` command.
        click.echo("Attenzione: processo senza gevent, un thread per connessione.", err=True)

    if not (os.environ.get("BASE_URL") or "").strip():
        # The links in e-mails and security.txt follow the address given on the command line too.
        os.environ["HOST"], os.environ["PORT"] = host, str(port)
    try:
        app = _app(check_migrations=True)
    except DatabaseNotMigrated as exc:
        click.echo(f"Errore: {exc}", err=True)
        sys.exit(1)
    from workspace.voting.live import close_due_forever

    # Asynchronous votes close by themselves when their closing time has passed (every 30 s).
    socketio.start_background_task(close_due_forever, app)
    tune_gc()
    click.echo(f"Tavoli in ascolto su http://{host}:{port}/")
    # gevent's WSGI server, WebSocket through simple-websocket (workspace/serving.py); no access log.
    options = {"backlog": LISTEN_BACKLOG} if patched() else {}
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False,
                 **options)


@main.group()
def db() -> None:
    """Migrazioni del database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Porta il database all'ultima revisione."""
    from workspace.migrate import upgrade

    app = _app()
    upgrade(app.config["DATABASE_URL"])
    click.echo("Database aggiornato.")


@db.command("check")
def db_check() -> None:
    """Esce con stato 1 se il database non è aggiornato."""
    from workspace.db import db as database
    from workspace.migrate import DatabaseNotMigrated, check_migrated

    app = _app()
    with app.app_context():
        try:
            check_migrated(database.engine)
        except DatabaseNotMigrated as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo("Database aggiornato.")


@main.group()
def reference() -> None:
    """Dati di riferimento ufficiali (macroaree, LEPS, territorio, schede)."""


@reference.command("load")
def reference_load() -> None:
    """Carica o aggiorna i dati di riferimento (idempotente)."""
    from workspace.db import db as database
    from workspace.reference.loader import load_reference

    app = _app(check_migrations=True)
    with app.app_context():
        report = load_reference(database.session)
        database.session.commit()
    click.echo(report.summary())


@main.group()
def demo() -> None:
    """Dati dimostrativi (Ambito di Pavia)."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Non fa nulla se la demo è già stata caricata.")
def demo_load(if_empty: bool) -> None:
    """Carica la demo dell'Ambito di Pavia."""
    from workspace.db import db as database
    from workspace.demo.loader import DEMO_PASSWORD, demo_logins, load_demo

    app = _app(check_migrations=True)
    with app.app_context():
        created = load_demo(database.session, only_if_empty=if_empty)
        database.session.commit()
        click.echo("Demo caricata." if created else "Demo già presente: nessuna modifica.")
        click.echo(f"Accessi dimostrativi (password per tutti: {DEMO_PASSWORD}):")
        for email, role in demo_logins():
            click.echo(f"  {email:<40} {role}")


@main.group()
def digest() -> None:
    """Riepiloghi giornalieri via e-mail delle novità dei tavoli."""


@digest.command("send")
@click.option("--dry-run", is_flag=True, help="Mostra chi riceverebbe un riepilogo senza inviare né salvare nulla.")
def digest_send(dry_run: bool) -> None:
    """Invia i riepiloghi a chi li ha attivati (da eseguire una volta al giorno, con cron o un timer systemd)."""
    from workspace.db import db as database
    from workspace.needs.digest import send_digests

    app = _app(check_migrations=True)
    with app.app_context():
        report = send_digests(database.session, dry_run=dry_run, echo=click.echo)
        click.echo(report.summary())
    if report.failed:
        sys.exit(1)


@main.group()
def admin() -> None:
    """Amministratori dell'Ufficio di Piano."""


@admin.command("invite")
@click.option("--email", required=True, help="E-mail della persona da invitare.")
@click.option("--name", required=True, help="Nome e cognome.")
@click.option("--organisation", "organisation_name", default="Ufficio di Piano",
              show_default=True, help="Organizzazione (Ufficio di Piano) di cui sarà delegata.")
def admin_invite(email: str, name: str, organisation_name: str) -> None:
    """Invita un'amministratrice o un amministratore (il primo accesso di una nuova installazione).

    Il link d'invito è inviato per e-mail (o scritto in instance/mail/) e stampato qui.
    """
    from sqlalchemy import select

    from workspace.accounts import links
    from workspace.accounts import service as accounts
    from workspace.accounts.models import Organisation
    from workspace.db import db as database
    from workspace.mail import external_url
    from workspace.problems import Problem

    app = _app(check_migrations=True)
    with app.app_context():
        session = database.session
        org = session.scalar(select(Organisation).where(Organisation.name == organisation_name,
                                                        Organisation.kind == "ufficio_di_piano"))
        try:
            if org is None:
                org = accounts.create_organisation(session, name=organisation_name, kind="ufficio_di_piano",
                                                   ambito_code=app.config["AMBITO_CODE"])
            raw = links.invite_delegate(session, org, name=name, email=email, grants_admin=True)
            session.commit()
        except Problem as exc:
            session.rollback()
            click.echo(f"Errore: {exc}", err=True)
            sys.exit(2)
        click.echo(f"Invito inviato a {email}. Link (valido una volta sola):")
        click.echo("  " + external_url("accounts.invitation", token=raw))


@main.group()
def privacy() -> None:
    """Privacy: conservazione dei dati personali."""


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Conta soltanto ciò che sarebbe eliminato o reso anonimo, senza modificare nulla.")
def privacy_purge(dry_run: bool) -> None:
    """Applica i tempi di conservazione (da eseguire ogni giorno, con cron o un timer systemd).

    \b
    - e-mail scritte in MAIL_DIR più vecchie di TAVOLI_RETENTION_MAIL_DAYS giorni: eliminate;
    - link monouso usati o scaduti da più di TAVOLI_RETENTION_TOKENS_DAYS giorni: eliminati;
    - presenze più vecchie di TAVOLI_RETENTION_PRESENCE_YEARS anni: restano organizzazione, ruolo e
      orari, la persona è sostituita da «Persona non più identificabile» (anche negli eventi).
    Il valore 0 disattiva una regola.
    """
    from workspace.db import db as database
    from workspace.privacy.retention import purge

    app = _app(check_migrations=True)
    with app.app_context():
        session = database.session
        report = purge(session, app.config, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
        click.echo(report.summary())


@main.group()
def export() -> None:
    """Esporta i documenti ufficiali (verbali, priorità, schede, sintesi, esiti) su file."""


def _register_area_commands() -> None:
    # Each area defines its own commands; they are attached here, in one visible place.
    from workspace.audit.cli import audit
    from workspace.esiti.cli import export_esiti
    from workspace.minutes.cli import export_verbale
    from workspace.planning.cli import export_obiettivi, export_priorita, export_schede
    from workspace.sintesi.cli import export_sintesi
    from workspace.voting.cli import votes

    main.add_command(votes)
    main.add_command(audit)
    export.add_command(export_verbale)
    export.add_command(export_priorita)
    export.add_command(export_schede)
    export.add_command(export_obiettivi)
    export.add_command(export_sintesi)
    export.add_command(export_esiti)


_register_area_commands()


if __name__ == "__main__":
    main()
