"""Retention: ``tavoli privacy purge`` applies the configured periods (0 turns a rule off).

- ``RETENTION_MAIL_DAYS`` (TAVOLI_RETENTION_MAIL_DAYS, 30): messages written to ``MAIL_DIR`` when no
  SMTP server is configured (``instance/mail/*.eml``) are deleted once older than this. They hold
  addresses and single-use links.
- ``RETENTION_TOKENS_DAYS`` (TAVOLI_RETENTION_TOKENS_DAYS, 90): single-use links (invitations,
  password resets, login links) are deleted this long after they were used or expired; so are the
  records of logins ended by a logout. Only
  hashes of the links are stored, but each row names an address and often a person.
- ``RETENTION_PRESENCE_YEARS`` (TAVOLI_RETENTION_PRESENCE_YEARS, 5): presences older than this keep
  their seduta, organisation, role, mode and times (the attendance of each organisation remains
  provable) but lose the person: they point to one shared, inactive placeholder account, "Persona
  non più identificabile", and the ``presence.*`` events of the same age lose the person's id and
  name. Approved verbali are documents of the procedure and are not touched here. Applied by the
  tavoli area, which owns presences, as a receiver of ``workspace.signals.retention_due``
  (``workspace/tavoli/privacy.py``); so is any rule another area adds.

Every rule takes ``now`` so that tests (and a dry run "as of" a date) can freeze time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from workspace import closure, signals
from workspace.accounts.models import AccessToken, LoginSession
from workspace.db import utcnow


@dataclass
class PurgeReport:
    dry_run: bool = False
    mail_files: int = 0
    tokens: int = 0
    logins: int = 0
    presences: int = 0
    events: int = 0

    def summary(self) -> str:
        dry = self.dry_run
        lines = [
            f"E-mail in MAIL_DIR {'da eliminare' if dry else 'eliminate'}: {self.mail_files}",
            f"Link monouso usati o scaduti {'da eliminare' if dry else 'eliminati'}: {self.tokens}",
            f"Accessi chiusi (logout) {'da eliminare' if dry else 'eliminati'}: {self.logins}",
            f"Presenze {'da rendere anonime' if dry else 'rese anonime'}: {self.presences} "
            f"(eventi {'da aggiornare' if dry else 'aggiornati'}: {self.events})",
        ]
        if dry:
            lines.append("Prova: nessuna modifica salvata.")
        return "\n".join(lines)


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


def _old_tokens(days: int, now: datetime) -> ColumnElement[bool]:
    cutoff = now - timedelta(days=days)
    return or_(AccessToken.used_at < cutoff, AccessToken.expires_at < cutoff)


def purge_tokens(session: Session, days: int, *, now: datetime, dry_run: bool = False) -> int:
    """Delete single-use links used, or expired, more than ``days`` days before ``now``."""
    if days <= 0:
        return 0
    if dry_run:
        return session.scalar(select(func.count()).select_from(AccessToken).where(_old_tokens(days, now))) or 0
    deleted = cast("CursorResult[Any]", session.execute(delete(AccessToken).where(_old_tokens(days, now))))
    return deleted.rowcount or 0


def purge_logins(session: Session, days: int, *, now: datetime, dry_run: bool = False) -> int:
    """Delete the records of logins ended (logout) more than ``days`` days before ``now``: once
    ended they only say when a person used Tavoli, which the audit trail already keeps."""
    if days <= 0:
        return 0
    old = LoginSession.ended_at < now - timedelta(days=days)
    if dry_run:
        return session.scalar(select(func.count()).select_from(LoginSession).where(old)) or 0
    deleted = cast("CursorResult[Any]", session.execute(delete(LoginSession).where(old)))
    return deleted.rowcount or 0


def purge(session: Session, config: dict[str, Any], *, now: datetime | None = None,
          dry_run: bool = False) -> PurgeReport:
    """Apply every retention rule of ``config`` as of ``now``. The caller commits (or not, for a dry run)."""
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    report.mail_files = purge_mail(config["MAIL_DIR"], int(config.get("RETENTION_MAIL_DAYS") or 0),
                                   now=now, dry_run=dry_run)
    report.tokens = purge_tokens(session, int(config.get("RETENTION_TOKENS_DAYS") or 0), now=now, dry_run=dry_run)
    report.logins = purge_logins(session, int(config.get("RETENTION_TOKENS_DAYS") or 0), now=now, dry_run=dry_run)
    # The rules of the other areas (presences: tavoli).
    with closure.exempt(session):  # a legal duty: also in concluded procedures
        counts = signals.collect(signals.retention_due, session, config=config, now=now, dry_run=dry_run)
    report.presences = int(counts.get("presences", 0))
    report.events = int(counts.get("presence_events", 0))
    if not dry_run:
        signals.action_recorded.send(session, actor=None, action="retention.applied", object_type=None,
                                     object_id=None, details={"mail_files": report.mail_files, "tokens": report.tokens,
                                                              "logins": report.logins,
                                                              "presences": report.presences, "events": report.events})
    return report
