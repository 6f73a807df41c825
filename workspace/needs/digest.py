"""What changed at a tavolo, in readable Italian: the «Novità dall'ultima visita» page and the
opt-in daily e-mail digest.

Both read the tavolo's numbered event record (``workspace.record``), so they tell exactly what the
live channel broadcast. ``send_digests`` is meant to run once a day (cron or a systemd timer
calling ``tavoli digest send``): for each person who opted in at a tavolo it sends one e-mail with
what others did since the previous digest, then moves ``last_digest_at`` forward, so running it
twice in a row sends nothing the second time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import record
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.i18n import ngettext
from workspace.needs.labels import KIND_LABELS, STATUS_LABELS
from workspace.needs.models import Bisogno
from workspace.problems import forbidden
from workspace.tavoli import permissions
from workspace.tavoli.models import Tavolo, TavoloRole

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Europe/Rome")
FIRST_VISIT_WINDOW = timedelta(days=7)
FIRST_DIGEST_WINDOW = timedelta(hours=24)

# Live-seduta mechanics: meaningful in the room, noise for someone catching up later. The set-up
# of the tavolo (its institution, members and roles) is on its members page and in the audit trail.
QUIET_KINDS = frozenset({"presence.joined", "presence.left", "presence.marked", "timer.set",
                         "agenda.moved", "spotlight.set", "tavolo.created", "member.added",
                         "member.removed", "role.set", "role.removed"})


def local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


def local_text(moment: datetime | None) -> str:
    return local(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


@dataclass
class NewsLine:
    seq: int
    at: datetime
    text: str
    actor_id: int | None
    bisogno_id: int | None = None

    @property
    def day(self) -> date:
        return local(self.at).date()


# --- one event, one sentence -----------------------------------------------------------------


def _parse(moment: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(moment) if moment else None
    except (TypeError, ValueError):
        return None


def moderation_reason(payload: dict[str, Any]) -> str:
    """The reason in an ``annotation.deleted`` event (named ``deletion_reason`` in events recorded
    before the live payloads took the API's name)."""
    return payload.get("moderation_reason") or payload.get("deletion_reason") or ""


def describe(ev: record.TavoloEvent, actors: dict[int, User], titles: Mapping[Any, str]) -> NewsLine | None:
    """The Italian sentence for one event, or None for the live-seduta mechanics."""
    if ev.kind in QUIET_KINDS:
        return None
    p = ev.payload or {}
    actor = actors.get(ev.actor_id) if ev.actor_id else None
    who = actor.name if actor else _("Una persona")
    org = p.get("organisation")
    who_org = _("%(who)s (%(org)s)", who=who, org=org) if org else who
    bisogno_id: int | None = None
    text: str

    if ev.kind.startswith("bisogno."):
        bisogno_id = p.get("id")
        title = p.get("title") or titles.get(bisogno_id, "")
        if ev.kind == "bisogno.created":
            text = _("%(who)s ha proposto il bisogno «%(title)s».", who=who_org, title=title)
        elif ev.kind == "bisogno.updated":
            text = _("%(who)s ha modificato il bisogno «%(title)s» (versione %(v)s).", who=who, title=title,
                     v=p.get("version"))
        elif ev.kind == "bisogno.status" and p.get("status") == "ritirato":
            text = _("%(who)s ha ritirato il bisogno «%(title)s».", who=who, title=title)
        elif ev.kind == "bisogno.status":
            text = _("%(who)s ha portato il bisogno «%(title)s» allo stato «%(s)s».", who=who, title=title,
                     s=str(STATUS_LABELS.get(p.get("status") or "", p.get("status"))))
        elif ev.kind == "bisogno.merged":
            text = _("%(who)s ha accorpato il bisogno «%(title)s» in «%(into)s».", who=who, title=title,
                     into=titles.get(p.get("into"), f"#{p.get('into')}"))
        else:
            text = _("%(who)s ha aggiornato il bisogno «%(title)s».", who=who, title=title)
    elif ev.kind.startswith("annotation."):
        bisogno_id = p.get("bisogno_id")
        title = titles.get(bisogno_id, "")
        if ev.kind == "annotation.created" and p.get("parent_id"):
            text = _("%(who)s ha risposto a un'annotazione sul bisogno «%(title)s».", who=who_org, title=title)
        elif ev.kind == "annotation.created":
            text = _("%(who)s ha aggiunto un'annotazione («%(kind)s») al bisogno «%(title)s».", who=who_org,
                     kind=str(KIND_LABELS.get(p.get("kind") or "", p.get("kind"))), title=title)
        elif ev.kind == "annotation.deleted" and p.get("moderated"):
            text = _("%(who)s ha moderato un'annotazione sul bisogno «%(title)s». Motivazione: %(r)s",
                     who=who, title=title, r=moderation_reason(p))
        elif ev.kind == "annotation.deleted":
            text = _("%(who)s ha eliminato una propria annotazione sul bisogno «%(title)s».", who=who,
                     title=title)
        elif ev.kind == "annotation.supported":
            n = len(p.get("supports") or [])
            text = ngettext("%(who)s ha aggiornato i sostegni a un'annotazione sul bisogno «%(title)s» "
                            "(ora la sostiene %(num)d organizzazione).",
                            "%(who)s ha aggiornato i sostegni a un'annotazione sul bisogno «%(title)s» "
                            "(ora la sostengono %(num)d organizzazioni).", n, who=who, title=title)
        else:
            text = _("%(who)s ha aggiornato un'annotazione sul bisogno «%(title)s».", who=who, title=title)
    elif ev.kind == "seduta.convened":
        starts = _parse(p.get("starts_at"))
        text = _("È stata convocata la seduta n. %(n)s per il %(d)s.", n=p.get("number"), d=local_text(starts))
        if p.get("place"):
            text += " " + _("Luogo: %(place)s.", place=p["place"])
    elif ev.kind == "seduta.started":
        text = _("È iniziata la seduta n. %(n)s.", n=p.get("number"))
    elif ev.kind == "seduta.closed":
        text = _("Si è chiusa la seduta n. %(n)s.", n=p.get("number"))
    else:
        # Events of other areas (votes, verbali, ...) until they get their own sentence.
        text = _("%(who)s: aggiornamento del tavolo (%(kind)s).", who=who, kind=ev.kind)
    return NewsLine(seq=ev.seq, at=ev.at, text=text, actor_id=ev.actor_id, bisogno_id=bisogno_id)


def news(session: Session, tavolo: Tavolo, since: datetime | None, until: datetime | None = None,
         exclude_actor_id: int | None = None) -> list[NewsLine]:
    """Readable lines for the events of ``tavolo`` after ``since`` (and up to ``until``), oldest first."""
    events = [ev for ev in record.events_between(session, tavolo.id, since)
              if (until is None or ev.at <= until)
              and (exclude_actor_id is None or ev.actor_id != exclude_actor_id)]
    if not events:
        return []
    actor_ids = {ev.actor_id for ev in events if ev.actor_id}
    actors = {u.id: u for u in session.scalars(select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    titles = dict(session.execute(select(Bisogno.id, Bisogno.title).where(Bisogno.tavolo_id == tavolo.id)).all())
    lines = (describe(ev, actors, titles) for ev in events)
    return [line for line in lines if line is not None]


def visit_novita(session: Session, user: User, tavolo: Tavolo,
                 now: datetime | None = None) -> tuple[list[NewsLine], datetime, TavoloRole | None]:
    """What is new for ``user`` since their last visit to the «novità» page (the last
    ``FIRST_VISIT_WINDOW`` on a first visit), and the moment ``since`` they are counted from. The
    visit is remembered for next time: a personal bookmark, not a change to the tavolo, so not
    on its record. Administrators without a role at the tavolo have no bookmark."""
    now = now or utcnow()
    role = permissions.tavolo_role(session, user, tavolo.id)
    since = role.last_visit_at if role is not None and role.last_visit_at else now - FIRST_VISIT_WINDOW
    lines = news(session, tavolo, since, until=now)
    if role is not None:
        role.last_visit_at = now
        session.flush()
    return lines, since, role


def set_digest(session: Session, user: User, tavolo: Tavolo, wanted: bool) -> TavoloRole:
    """Opt in or out of the daily e-mail of a tavolo (a personal setting, not on the record)."""
    role = permissions.tavolo_role(session, user, tavolo.id)
    if role is None:
        raise forbidden(_("Il riepilogo si attiva per i tavoli a cui partecipi con un ruolo: come amministratore "
                          "senza ruolo a questo tavolo non viene salvato nulla."))
    role.digest = wanted
    session.flush()
    return role


def by_day(lines: Iterable[NewsLine]) -> list[tuple[date, list[NewsLine]]]:
    """Lines grouped by local (Europe/Rome) calendar day, in the order given."""
    return [(day, list(group)) for day, group in groupby(lines, key=lambda line: line.day)]


# --- the daily e-mail ------------------------------------------------------------------------


@dataclass
class DigestReport:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (address, tavolo title)
    skipped: int = 0  # opted in, nothing new
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, message)

    def summary(self) -> str:
        return _("Riepiloghi inviati: %(s)s; senza novità: %(k)s; non riusciti: %(f)s.",
                 s=len(self.sent), k=self.skipped, f=len(self.failed))


def digest_message(session: Session, role: TavoloRole, lines: list[NewsLine]) -> tuple[str, str]:
    """Subject and text body of the digest for one person at one tavolo (Italian)."""
    from workspace.mail import external_url, render_mail

    tavolo = role.tavolo
    days = [(day, [(line, external_url("needs.bisogno", tavolo_id=tavolo.id, bisogno_id=line.bisogno_id)
                    if line.bisogno_id else None) for line in group])
            for day, group in by_day(lines)]
    subject = ngettext("Tavoli · %(t)s: %(num)d novità", "Tavoli · %(t)s: %(num)d novità", len(lines),
                       t=tavolo.title)
    body = render_mail(
        "digest.txt",
        user=role.user,
        tavolo=tavolo,
        days=days,
        count=len(lines),
        day_label=lambda d: _day_label(d),
        time_label=lambda m: local(m).strftime("%H:%M"),
        novita_url=external_url("needs.novita", tavolo_id=tavolo.id),
        bisogni_url=external_url("needs.bisogni", tavolo_id=tavolo.id),
    )
    return subject, body


_WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
_MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre")


def _day_label(day: date) -> str:
    """«lunedì 3 marzo 2025»: the e-mail is always Italian, whatever the server's locale."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def send_digests(session: Session, now: datetime | None = None, dry_run: bool = False,
                 echo: Callable[[str], None] | None = None) -> DigestReport:
    """One e-mail per person per tavolo with what others did since that person's last digest.

    Each sent digest is committed at once (``last_digest_at`` moves to ``now``), so a failure half
    way never makes the next run send the same news twice; a failed send leaves it unchanged so
    the next run retries. With ``dry_run`` nothing is sent and nothing is stored.
    """
    from workspace.mail import MailError, send_mail

    now = now or utcnow()
    report = DigestReport()
    say = echo or (lambda _msg: None)
    roles = list(session.scalars(select(TavoloRole).where(TavoloRole.digest.is_(True))
                                 .order_by(TavoloRole.tavolo_id, TavoloRole.id)))
    with force_locale("it"):
        for role in roles:
            user = role.user
            if not user.active or not user.email:
                continue
            since = role.last_digest_at or (now - FIRST_DIGEST_WINDOW)
            # The recipient's own actions are no news to them.
            lines = news(session, role.tavolo, since, until=now, exclude_actor_id=user.id)
            if not lines:
                report.skipped += 1
                continue
            subject, body = digest_message(session, role, lines)
            if dry_run:
                say(_("[prova] %(to)s · %(t)s: %(n)s novità", to=user.email, t=role.tavolo.title, n=len(lines)))
                report.sent.append((user.email, role.tavolo.title))
                continue
            try:
                send_mail(user.email, subject, body)
            except MailError as exc:
                log.error("Riepilogo per %s (tavolo %s) non inviato: %s", user.email, role.tavolo_id, exc.message)
                report.failed.append((user.email, exc.message))
                session.rollback()
                continue
            role.last_digest_at = now
            session.commit()
            say(_("Inviato a %(to)s · %(t)s: %(n)s novità", to=user.email, t=role.tavolo.title, n=len(lines)))
            report.sent.append((user.email, role.tavolo.title))
    if dry_run:
        session.rollback()
    return report
