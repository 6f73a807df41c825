"""«Novità dall'ultima visita» and the daily e-mail digest (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.helpers import mail_files, mail_text, read_mail
from tests.needs.support import count, post, text
from tests.world import add_bisogno, login_client
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.needs.digest import send_digests
from workspace.needs.models import Bisogno
from workspace.record import TavoloEvent
from workspace.tavoli.models import TavoloRole


def role_of(world, user) -> TavoloRole:
    return db.session.scalar(select(TavoloRole).where(TavoloRole.tavolo_id == world.tavolo.id,
                                                      TavoloRole.user_id == user.id))


def new_bisogno(app, world, who=None, **overrides) -> int:
    with app.app_context():
        return add_bisogno(db.session, world, db.session.merge(who or world.delegate), **overrides).id


def age_everything(app, world, hours: int) -> None:
    """Move every event recorded so far ``hours`` into the past."""
    with app.app_context():
        for ev in db.session.scalars(select(TavoloEvent).where(TavoloEvent.tavolo_id == world.tavolo.id)):
            ev.at = utcnow() - timedelta(hours=hours)
        db.session.commit()


# --------------------------------------------------------------------------- novità


def test_novita_lists_what_came_after_the_last_visit_only(app, world):
    new_bisogno(app, world, title="Bisogno di prima")
    age_everything(app, world, hours=2)
    with app.app_context():
        role_of(world, world.delegate2).last_visit_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    after = new_bisogno(app, world, title="Bisogno di dopo")
    with app.app_context():
        needs_service.add_annotation(db.session, db.session.merge(world.colleague), db.session.get(Bisogno, after),
                                     "dato", "Un dato")
        db.session.commit()

    client, _token = login_client(app, world.delegate2)
    before_visit = utcnow()
    page = client.get(f"/tavoli/{world.tavolo.id}/novita")
    assert page.status_code == 200
    body = text(page)
    assert "Bisogno di dopo" in body
    assert "Bisogno di prima" not in body
    assert f"{world.delegate.name} ({world.ets.name}) ha proposto il bisogno «Bisogno di dopo»." in body
    assert f"{world.colleague.name} ({world.ets.name}) ha aggiunto un'annotazione («Dato o evidenza»)" in body
    assert f'href="/tavoli/{world.tavolo.id}/bisogni/{after}"' in page.get_data(as_text=True)
    assert "2 novità" in body
    with app.app_context():
        assert role_of(world, world.delegate2).last_visit_at >= before_visit
    # The visit is remembered: nothing is new the second time.
    again = text(client.get(f"/tavoli/{world.tavolo.id}/novita"))
    assert "Bisogno di dopo" not in again and "Nessuna novità." in again


def test_first_visit_shows_the_last_seven_days(app, world):
    new_bisogno(app, world, title="Bisogno vecchio")
    age_everything(app, world, hours=24 * 8)
    new_bisogno(app, world, title="Bisogno recente")
    client, _token = login_client(app, world.observer)
    body = text(client.get(f"/tavoli/{world.tavolo.id}/novita"))
    assert "negli ultimi 7 giorni" in body
    assert "Bisogno recente" in body and "Bisogno vecchio" not in body


def test_admin_without_role_sees_novita_but_nothing_is_stored(app, world):
    new_bisogno(app, world, title="Bisogno per l'amministratrice")
    client, token = login_client(app, world.admin)
    page = client.get(f"/tavoli/{world.tavolo.id}/novita")
    assert page.status_code == 200
    body = text(page)
    assert "Bisogno per l'amministratrice" in body and "non vengono salvati" in body
    refused = post(client, token, f"/tavoli/{world.tavolo.id}/digest", {"digest": "1"})
    assert refused.status_code == 403
    with app.app_context():
        assert count(app, TavoloRole, TavoloRole.user_id == world.admin.id) == 0


def test_digest_toggle(app, world):
    client, token = login_client(app, world.delegate2)
    assert "Attiva il riepilogo" in text(client.get(f"/tavoli/{world.tavolo.id}/novita"))
    response = post(client, token, f"/tavoli/{world.tavolo.id}/digest", {"digest": "1"})
    assert response.status_code == 302
    with app.app_context():
        assert role_of(world, world.delegate2).digest is True
    assert "Disattiva il riepilogo" in text(client.get(f"/tavoli/{world.tavolo.id}/novita"))
    post(client, token, f"/tavoli/{world.tavolo.id}/digest", {"digest": "0"})
    with app.app_context():
        assert role_of(world, world.delegate2).digest is False
    outsider, outsider_token = login_client(app, world.outsider)
    assert post(outsider, outsider_token, f"/tavoli/{world.tavolo.id}/digest", {"digest": "1"}).status_code == 403


# --------------------------------------------------------------------------- digest


def _opt_in(app, world, *users) -> None:
    with app.app_context():
        for user in users:
            role_of(world, user).digest = True
        db.session.commit()


def test_digest_goes_once_to_who_opted_in(app, world):
    age_everything(app, world, hours=48)  # the convocation of the seduta is older than a day
    _opt_in(app, world, world.delegate2, world.delegate)
    bid = new_bisogno(app, world, title="Trasporto sociale insufficiente")
    with app.app_context():
        report = send_digests(db.session)
    assert len(report.sent) == 1
    files = mail_files(app)
    assert len(files) == 1
    message = read_mail(files[0])
    # delegate2 opted in; the author opted in too, but their own actions are no news to them;
    # the observer did not opt in.
    assert message["To"] == world.delegate2.email
    assert world.tavolo.title in message["Subject"]
    body = mail_text(message)
    assert "Trasporto sociale insufficiente" in body
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/tavoli/{world.tavolo.id}/bisogni/{bid}" in body
    assert f"{base}/tavoli/{world.tavolo.id}/novita" in body
    assert f"Gentile {world.delegate2.name}" in body

    # Run again at once: nothing new, nothing sent.
    with app.app_context():
        again = send_digests(db.session)
    assert again.sent == [] and len(mail_files(app)) == 1

    # Something new later: only that goes out.
    new_bisogno(app, world, who=world.delegate2, title="Carenza di centri diurni")
    with app.app_context():
        third = send_digests(db.session)
    assert [to for to, _t in third.sent] == [world.delegate.email]
    newest = read_mail(mail_files(app)[-1])
    assert newest["To"] == world.delegate.email
    assert "Carenza di centri diurni" in mail_text(newest)
    assert "Trasporto sociale insufficiente" not in mail_text(newest)


def test_no_opt_in_no_mail_and_dry_run_sends_nothing(app, world):
    new_bisogno(app, world, title="Bisogno senza riepilogo")
    with app.app_context():
        assert send_digests(db.session).sent == []
    assert mail_files(app) == []
    _opt_in(app, world, world.observer)
    with app.app_context():
        dry = send_digests(db.session, dry_run=True)
        assert [to for to, _t in dry.sent] == [world.observer.email]
        assert role_of(world, world.observer).last_digest_at is None
    assert mail_files(app) == []


@pytest.mark.real_db  # the command builds its own app and connection from DATABASE_URL
def test_cli_digest_send(app, world, monkeypatch):
    _opt_in(app, world, world.observer)
    new_bisogno(app, world, title="Bisogno dal comando")
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("TAVOLI_INSTANCE", app.config["INSTANCE_PATH"])
    monkeypatch.setenv("BASE_URL", "https://tavoli.example.org")
    for name in ("REDIS_URL", "MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    from workspace.cli import main

    runner = CliRunner()
    dry = runner.invoke(main, ["digest", "send", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert world.observer.email in dry.output and mail_files(app) == []

    first = runner.invoke(main, ["digest", "send"])
    assert first.exit_code == 0, first.output
    assert "Riepiloghi inviati: 1" in first.output
    files = mail_files(app)
    assert len(files) == 1
    body = mail_text(read_mail(files[0]))
    assert "Bisogno dal comando" in body and f"https://tavoli.example.org/tavoli/{world.tavolo.id}/novita" in body

    second = runner.invoke(main, ["digest", "send"])
    assert second.exit_code == 0 and "Riepiloghi inviati: 0" in second.output
    assert len(mail_files(app)) == 1
