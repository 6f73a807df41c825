"""Retention (`tavoli privacy purge`): only items older than the configured periods go, as of a
frozen ``now``."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tests.test_cli import run
from workspace import record
from workspace.accounts.models import AccessToken, User
from workspace.accounts.service import ARCHIVE_EMAIL, ARCHIVE_NAME
from workspace.privacy.retention import PurgeReport, purge
from workspace.record import TavoloEvent
from workspace.tavoli.models import Presence
from workspace.tavoli.privacy import years_before

NOW = datetime(2031, 6, 15, 10, 0, tzinfo=UTC)


def make_mail(app, name: str, age: timedelta) -> Path:
    directory = Path(app.config["MAIL_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("To: someone@example.org\nSubject: prova\n\ncorpo\n")
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def make_token(s, kind: str, email: str, *, created: datetime, expires: datetime, used: datetime | None = None):
    token = AccessToken(kind=kind, token_hash=os.urandom(32).hex(), email=email, created_at=created,
                        expires_at=expires, used_at=used)
    s.add(token)
    s.flush()
    return token.id


def make_presence(s, world, joined: datetime) -> tuple[int, int]:
    presence = Presence(seduta_id=world.seduta.id, user_id=world.delegate.id, organisation_id=world.ets.id,
                        role="delegate", mode="presenza", source="manual", marked_by_id=world.facilitator.id,
                        joined_at=joined, left_at=joined + timedelta(hours=2))
    s.add(presence)
    s.flush()
    payload = {"id": presence.id, "seduta_id": world.seduta.id, "user_id": world.delegate.id,
               "name": "Delia Delegata", "organisation": "Associazione Alfa (prova)", "role": "delegate",
               "quorum": {"present": 1, "members": 3}}
    ev = record.append(s, world.tavolo.id, "presence.joined", payload, world.delegate.id)
    ev.at = joined
    s.flush()
    return presence.id, ev.id


def scenario(app, in_app, world) -> dict:
    ids = {
        "old_mail": make_mail(app, "old.eml", timedelta(days=31)),
        "new_mail": make_mail(app, "new.eml", timedelta(days=29)),
    }
    with in_app() as s:
        ids["used_long_ago"] = make_token(s, "login_link", "a@example.org", created=NOW - timedelta(days=100),
                                          expires=NOW - timedelta(days=99), used=NOW - timedelta(days=99, hours=23))
        ids["expired_long_ago"] = make_token(s, "invitation", "b@example.org", created=NOW - timedelta(days=120),
                                             expires=NOW - timedelta(days=91))
        ids["used_recently"] = make_token(s, "login_link", "c@example.org", created=NOW - timedelta(days=10),
                                          expires=NOW - timedelta(days=9), used=NOW - timedelta(days=10))
        ids["pending"] = make_token(s, "invitation", "d@example.org", created=NOW - timedelta(days=2),
                                    expires=NOW + timedelta(days=12))
        ids["old_presence"], ids["old_event"] = make_presence(s, world, years_before(NOW, 5) - timedelta(days=1))
        ids["new_presence"], ids["new_event"] = make_presence(s, world, years_before(NOW, 5) + timedelta(days=1))
        s.commit()
    return ids


def test_purge_removes_only_what_is_older_than_the_periods(app, in_app, world):
    ids = scenario(app, in_app, world)
    with in_app() as s:
        report = purge(s, app.config, now=NOW)
        s.commit()
    assert (report.mail_files, report.tokens, report.presences, report.events) == (1, 2, 1, 1)

    assert not ids["old_mail"].exists() and ids["new_mail"].exists()
    with in_app() as s:
        left = set(s.scalars(select(AccessToken.id)))
        assert left == {ids["used_recently"], ids["pending"]}

        archive = s.scalar(select(User).where(User.email == ARCHIVE_EMAIL))
        assert archive.name == ARCHIVE_NAME and not archive.active and archive.password_hash is None
        old = s.get(Presence, ids["old_presence"])
        assert old.user_id == archive.id and old.marked_by_id is None
        # The organisation's attendance is still provable.
        assert (old.organisation_id, old.role, old.mode) == (world.ets.id, "delegate", "presenza")
        assert old.left_at is not None
        new = s.get(Presence, ids["new_presence"])
        assert new.user_id == world.delegate.id and new.marked_by_id == world.facilitator.id

        old_event = s.get(TavoloEvent, ids["old_event"])
        assert old_event.payload["user_id"] is None and old_event.payload["name"] == ARCHIVE_NAME
        assert old_event.payload["organisation"] == "Associazione Alfa (prova)"
        assert old_event.payload["quorum"] == {"present": 1, "members": 3}
        assert old_event.actor_id is None
        new_event = s.get(TavoloEvent, ids["new_event"])
        assert new_event.payload["name"] == "Delia Delegata" and new_event.actor_id == world.delegate.id

    # Applying it again finds nothing more to do.
    with in_app() as s:
        again = purge(s, app.config, now=NOW)
        s.commit()
    assert (again.mail_files, again.tokens, again.presences, again.events) == (0, 0, 0, 0)


def test_dry_run_counts_and_changes_nothing(app, in_app, world):
    ids = scenario(app, in_app, world)
    with in_app() as s:
        report = purge(s, app.config, now=NOW, dry_run=True)
        s.rollback()
    assert (report.mail_files, report.tokens, report.presences, report.events) == (1, 2, 1, 1)
    assert "Prova: nessuna modifica salvata." in report.summary()
    assert ids["old_mail"].exists()
    with in_app() as s:
        assert len(list(s.scalars(select(AccessToken.id)))) == 4
        assert s.get(Presence, ids["old_presence"]).user_id == world.delegate.id
        assert s.get(TavoloEvent, ids["old_event"]).payload["name"] == "Delia Delegata"
        assert s.scalar(select(User).where(User.email == ARCHIVE_EMAIL)) is None


def test_zero_turns_a_rule_off(app, in_app, world):
    ids = scenario(app, in_app, world)
    app.config.update(RETENTION_MAIL_DAYS=0, RETENTION_TOKENS_DAYS=0, RETENTION_PRESENCE_YEARS=0)
    with in_app() as s:
        report = purge(s, app.config, now=NOW)
        s.commit()
    assert report == PurgeReport()
    assert ids["old_mail"].exists()


def test_periods_come_from_the_configuration(app, in_app, world):
    ids = scenario(app, in_app, world)
    app.config.update(RETENTION_MAIL_DAYS=60, RETENTION_TOKENS_DAYS=5, RETENTION_PRESENCE_YEARS=10)
    with in_app() as s:
        report = purge(s, app.config, now=NOW)
        s.commit()
    assert (report.mail_files, report.tokens, report.presences) == (0, 3, 0)
    assert ids["old_mail"].exists()


def test_years_before_handles_29_february():
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)


def test_purge_command(tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    mail = tmp_path / "instance" / "mail"
    mail.mkdir(parents=True)
    old = mail / "old.eml"
    old.write_text("To: x@example.org\n\nx\n")
    stamp = (datetime.now(UTC) - timedelta(days=40)).timestamp()
    os.utime(old, (stamp, stamp))

    dry = run(["privacy", "purge", "--dry-run"], tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "E-mail in MAIL_DIR da eliminare: 1" in dry.stdout and old.exists()

    done = run(["privacy", "purge"], tmp_path, TAVOLI_RETENTION_MAIL_DAYS="30")
    assert done.returncode == 0, done.stderr
    assert "E-mail in MAIL_DIR eliminate: 1" in done.stdout and not old.exists()


def test_ended_logins_go_with_the_single_use_links(app, in_app, world):
    """The records of logins ended by a logout go after RETENTION_TOKENS_DAYS; open ones stay."""
    from workspace.accounts.models import LoginSession

    with in_app() as s:
        rows = {
            "ended_long_ago": LoginSession(user_id=world.delegate.id, key_hash=os.urandom(32).hex(),
                                           created_at=NOW - timedelta(days=200), ended_at=NOW - timedelta(days=91)),
            "ended_recently": LoginSession(user_id=world.delegate.id, key_hash=os.urandom(32).hex(),
                                           created_at=NOW - timedelta(days=20), ended_at=NOW - timedelta(days=10)),
            "open_old": LoginSession(user_id=world.delegate.id, key_hash=os.urandom(32).hex(),
                                     created_at=NOW - timedelta(days=300)),
        }
        s.add_all(rows.values())
        s.commit()
        ids = {name: row.id for name, row in rows.items()}
    with in_app() as s:
        assert purge(s, app.config, now=NOW, dry_run=True).logins == 1
        s.rollback()
        report = purge(s, app.config, now=NOW)
        s.commit()
        assert report.logins == 1 and "Accessi chiusi (logout) eliminati: 1" in report.summary()
        left = set(s.scalars(select(LoginSession.id).where(LoginSession.id.in_(ids.values()))))
    assert left == {ids["ended_recently"], ids["open_old"]}
