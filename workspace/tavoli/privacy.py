"""What the tavoli area tells the privacy area about a person, through the named signals.

- ``personal_data_requested``: the person's tavolo roles, presences and what they did at each
  tavolo (the events they are the actor of, without payloads: those may name other people);
- ``person_pseudonymised``: the tavolo roles go (the access ends; presences stay for the
  organisation, and their copies of the name in the record are rewritten by privacy);
- ``retention_due``: presences older than ``RETENTION_PRESENCE_YEARS`` keep seduta, organisation,
  role, mode and times (each organisation's attendance remains provable) but lose the person: they
  point to the shared, inactive placeholder account, and the ``presence.*`` events of the same age
  lose the person's id and name.

Connected in ``workspace.tavoli.register``.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.accounts.payloads import organisation_ref
from workspace.accounts.service import ARCHIVE_EMAIL, ARCHIVE_NAME, archived_person
from workspace.record import TavoloEvent
from workspace.tavoli.models import Presence, Tavolo, TavoloRole

if TYPE_CHECKING:
    from workspace.privacy.service import Scrubber

_BATCH = 500


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --------------------------------------------------------------------------- export


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    uid = user.id
    titles = {t.id: t.title for t in session.scalars(select(Tavolo))}
    roles = session.scalars(select(TavoloRole).where(TavoloRole.user_id == uid).order_by(TavoloRole.id))
    presences = session.scalars(select(Presence).where(Presence.user_id == uid).order_by(Presence.id))
    events = session.scalars(select(TavoloEvent).where(TavoloEvent.actor_id == uid)
                             .order_by(TavoloEvent.tavolo_id, TavoloEvent.seq))
    return {
        "tavolo_roles": [
            {"tavolo_id": r.tavolo_id, "tavolo": titles.get(r.tavolo_id), "role": r.role,
             "organisation": organisation_ref(r.organisation), "digest": r.digest,
             "last_visit_at": _iso(r.last_visit_at), "last_digest_at": _iso(r.last_digest_at)}
            for r in roles
        ],
        "presences": [_presence(p, titles) for p in presences],
        # What the person did at each tavolo, without the payloads: those may name other people.
        "events": [
            {"tavolo_id": e.tavolo_id, "tavolo": titles.get(e.tavolo_id), "seq": e.seq, "kind": e.kind,
             "object_id": e.payload.get("id") if isinstance(e.payload, dict) else None, "at": _iso(e.at)}
            for e in events
        ],
    }


def _presence(p: Presence, titles: dict[int, str]) -> dict[str, Any]:
    seduta = p.seduta
    return {
        "tavolo_id": seduta.tavolo_id, "tavolo": titles.get(seduta.tavolo_id),
        "seduta_id": seduta.id, "seduta_number": seduta.number, "seduta_starts_at": _iso(seduta.starts_at),
        "organisation": organisation_ref(p.organisation), "role": p.role, "mode": p.mode,
        # "manual": marked by the facilitator (who is not named here).
        "source": p.source, "joined_at": _iso(p.joined_at), "left_at": _iso(p.left_at),
    }


# --------------------------------------------------------------------------- pseudonymisation


def pseudonymise(session: Session, *, user: User, scrubber: Scrubber, **_: Any) -> int:
    """The person's roles at every tavolo end (the organisation keeps its own membership)."""
    deleted = cast("CursorResult[Any]", session.execute(delete(TavoloRole).where(TavoloRole.user_id == user.id)))
    return deleted.rowcount or 0


# --------------------------------------------------------------------------- retention


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _unlink(value: Any) -> Any:
    """A copy of an event payload without the person: ``user_id`` -> None, ``name`` -> placeholder."""
    if isinstance(value, list):
        return [_unlink(v) for v in value]
    if isinstance(value, dict):
        out = {k: _unlink(v) for k, v in value.items()}
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
            archive_id = archived_person(session, now=now).id
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
            .order_by(TavoloEvent.id).limit(_BATCH)))
        if not batch:
            break
        last = batch[-1].id
        for ev in batch:
            new = _unlink(ev.payload)
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


def apply_retention(session: Session, *, config: dict[str, Any], now: datetime, dry_run: bool = False,
                    **_: Any) -> dict[str, int]:
    presences, events = unlink_presences(session, int(config.get("RETENTION_PRESENCE_YEARS") or 0),
                                         now=now, dry_run=dry_run)
    return {"presences": presences, "presence_events": events}
