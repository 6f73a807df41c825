"""Retention: ``tavoli privacy purge`` applies the configured periods (0 turns a rule off).

- ``RETENTION_MAIL_DAYS`` (TAVOLI_RETENTION_MAIL_DAYS, 30): messages written to ``MAIL_DIR`` when no
  SMTP server is configured (``instance/mail/*.eml``) are deleted once older than this. They hold
  addresses and single-use links.
- ``RETENTION_TOKENS_DAYS`` (TAVOLI_RETENTION_TOKENS_DAYS, 90): single-use links (invitations,
  password resets, login links) are deleted this long after they were used or expired. Only
  hashes of the links are stored, but each row names an address and often a person.
- ``RETENTION_PRESENCE_YEARS`` (TAVOLI_RETENTION_PRESENCE_YEARS, 5): presences older than this keep
  their seduta, organisation, role, mode and times (the attendance of each organisation remains
  provable) but lose the person: they point to one shared, inactive placeholder account, "Persona
  non più identificabile", and the ``presence.*`` events of the same age lose the person's id and
  name. Approved verbali are documents of the procedure and are not touched here.

Every rule takes ``now`` so that tests (and a dry run "as of" a date) can freeze time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from workspace.accounts.models import AccessToken, User
from workspace.db import utcnow
from workspace.record import TavoloEvent
from workspace.tavoli.models import Presence

ARCHIVE_NAME = "Persona non più identificabile"
ARCHIVE_EMAIL = "presenze-archiviate@tavoli.invalid"  # RFC 2606: never deliverable


@dataclass
class PurgeReport:
    dry_run: bool = False
    mail_files: int = 0
    tokens: int = 0
    presences: int = 0
    events: int = 0

    def summary(self) -> str:
        dry = self.dry_run
        lines = [
            f"E-mail in MAIL_DIR {'da eliminare' if dry else 'eliminate'}: {self.mail_files}",
            f"Link monouso usati o scaduti {'da eliminare' if dry else 'eliminati'}: {self.tokens}",
            f"Presenze {'da rendere anonime' if dry else 'rese anonime'}: {self.presences} "
            f"(eventi {'da aggiornare' if dry else 'aggiornati'}: {self.events})",
        ]
        if dry:
            lines.append("Prova: nessuna modifica salvata.")
        return "\n".join(lines)


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def purge_mail(mail_dir: str | Path, days: int, *, now: datetime, dry_run: bool = False) -> int:
    """Delete ``*.eml`` files last modified more than ``days`` days before ``now``."""
    directory = Path(mail_dir)
    if days <= 0 or not directory.is_dir():
        return 0
    cutoff = (now - timedelta(days=days)).timestamp()
    count = 0
    for path in directory.glob("*.eml"):
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            if not dry_run:
                path.unlink()
        except FileNotFoundError:
            continue
        count += 1
    return count


def _old_tokens(days: int, now: datetime):
    cutoff = now - timedelta(days=days)
    return or_(AccessToken.used_at < cutoff, AccessToken.expires_at < cutoff)


def purge_tokens(session: Session, days: int, *, now: datetime, dry_run: bool = False) -> int:
    """Delete single-use links used, or expired, more than ``days`` days before ``now``."""
    if days <= 0:
        return 0
    if dry_run:
        return session.scalar(select(func.count()).select_from(AccessToken).where(_old_tokens(days, now))) or 0
    return session.execute(delete(AccessToken).where(_old_tokens(days, now))).rowcount or 0


def archive_person(session: Session, *, now: datetime) -> User:
    """The shared placeholder that old presences point to (created on first use, never active)."""
    person = session.scalar(select(User).where(User.email == ARCHIVE_EMAIL))
    if person is None:
        person = User(name=ARCHIVE_NAME, email=ARCHIVE_EMAIL, password_hash=None, active=False,
                      is_admin=False, pseudonymised_at=now, created_at=now)
        session.add(person)
        session.flush()
    return person


def _unlink(value: Any, archive_id: int) -> Any:
    """A copy of an event payload without the person: ``user_id`` -> None, ``name`` -> placeholder."""
    if isinstance(value, list):
        return [_unlink(v, archive_id) for v in value]
    if isinstance(value, dict):
        out = {k: _unlink(v, archive_id) for k, v in value.items()}
        if out.get("user_id") is not None:
            out["user_id"] = None
            if "name" in out:
                out["name"] = ARCHIVE_NAME
        return out
    return value


def unlink_presences(session: Session, years: int, *, now: datetime,
                     dry_run: bool = False) -> tuple[int, int]:
    """Unlink the person from presences (and their ``presence.*`` events) older than ``years``.

    Returns (presences, events) changed, or that would change with ``dry_run``."""
    if years <= 0:
        return 0, 0
    cutoff = years_before(now, years)
    archive_id = session.scalar(select(User.id).where(User.email == ARCHIVE_EMAIL))
    old = [Presence.joined_at < cutoff]
    if archive_id is not None:
        old.append(Presence.user_id != archive_id)
    if dry_run:
        presences = session.scalar(select(func.count()).select_from(Presence).where(*old)) or 0
    else:
        rows = list(session.scalars(select(Presence).where(*old)))
        if rows:
            archive_id = archive_person(session, now=now).id
        for p in rows:
            p.user_id = archive_id
            p.marked_by_id = None
        presences = len(rows)

    events = 0
    last = 0
    while True:
        batch = list(session.scalars(
            select(TavoloEvent)
            .where(TavoloEvent.id > last, TavoloEvent.kind.like("presence.%"), TavoloEvent.at < cutoff)
            .order_by(TavoloEvent.id).limit(500)))
        if not batch:
            break
        last = batch[-1].id
        for ev in batch:
            new = _unlink(ev.payload, archive_id or 0)
            self_reported = ev.kind in ("presence.joined", "presence.left") and ev.actor_id is not None
            if new == ev.payload and not self_reported:
                continue
            events += 1
            if dry_run:
                continue
            ev.payload = new
            if self_reported:
                ev.actor_id = None  # the person who joined or left is the actor of these two kinds
    session.flush()
    return presences, events


def purge(session: Session, config: dict, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply every retention rule of ``config`` as of ``now``. The caller commits (or not, for a dry run)."""
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    report.mail_files = purge_mail(config["MAIL_DIR"], int(config.get("RETENTION_MAIL_DAYS") or 0),
                                   now=now, dry_run=dry_run)
    report.tokens = purge_tokens(session, int(config.get("RETENTION_TOKENS_DAYS") or 0), now=now, dry_run=dry_run)
    report.presences, report.events = unlink_presences(
        session, int(config.get("RETENTION_PRESENCE_YEARS") or 0), now=now, dry_run=dry_run)
    return report
