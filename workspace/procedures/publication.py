"""The public record of a procedure (its publication log): which items it shows — the avviso, each
tavolo, each admitted organisation — from when until when.

Items enter the record with the lifecycle (the avviso and its tavoli when the avviso is published,
the admitted organisations when the tavoli start) for five years; the RUP may publish a tavolo
instituted later and change any item's window (an end set to now withdraws it). Each change is
announced to the audit trail (``signals.action_recorded``) in its transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import signals
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import conflict, invalid_fields, not_found
from workspace.procedures import permissions
from workspace.procedures.models import DEFAULT_PUBLICATION_YEARS, Procedure, PublicationItem

if TYPE_CHECKING:
    from workspace.tavoli.models import Tavolo


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _announce(session: Session, actor: User | None, action: str, item: PublicationItem) -> None:
    signals.action_recorded.send(session, actor=actor, action=action, object_type="publication_item",
                                 object_id=item.id, details={
                                     "procedure_id": item.procedure_id, "kind": item.kind, "ref_id": item.ref_id,
                                     "published_from": item.published_from.isoformat(),
                                     "published_until": item.published_until.isoformat()})


def publish(session: Session, actor: User | None, procedure: Procedure, kind: str, ref_id: int, title: str,
            start: datetime, now: datetime) -> PublicationItem:
    """Put an item on the record from ``start`` for five years (an item already there stays as it is)."""
    existing = session.scalar(select(PublicationItem).where(
        PublicationItem.procedure_id == procedure.id, PublicationItem.kind == kind, PublicationItem.ref_id == ref_id))
    if existing is not None:
        return existing
    item = PublicationItem(procedure=procedure, kind=kind, ref_id=ref_id, title=title[:300], published_from=start,
                           published_until=add_years(start, DEFAULT_PUBLICATION_YEARS),
                           created_by_id=actor.id if actor else None, created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    _announce(session, actor, "publication.created", item)
    return item


def unpublished_tavoli(procedure: Procedure) -> list[Tavolo]:
    published = {i.ref_id for i in procedure.publications if i.kind == "tavolo"}
    return [t for t in procedure.tavoli if t.id not in published]


def publish_tavolo(session: Session, actor: User, procedure: Procedure, tavolo: Tavolo,
                   now: datetime | None = None) -> PublicationItem:
    """A tavolo instituted after the avviso was published joins the public record (and the form)."""
    permissions.require_manage(actor, procedure)
    if tavolo.procedure_id != procedure.id:
        raise not_found(_("Tavolo inesistente."))
    if not permissions.avviso_out(procedure):
        raise conflict(_("I tavoli si pubblicano con l'avviso."))
    now = now or utcnow()
    return publish(session, actor, procedure, "tavolo", tavolo.id, tavolo.title, now, now)


def set_publication_window(session: Session, actor: User, item: PublicationItem, start: datetime | None,
                           end: datetime | None, now: datetime | None = None) -> None:
    """Change when an item of the public record starts and stops being shown (end = now withdraws it)."""
    permissions.require_manage(actor, item.procedure)
    errors: dict[str, str] = {}
    if start is None:
        errors["published_from"] = _("La data di inizio della pubblicazione è obbligatoria.")
    if end is None:
        errors["published_until"] = _("La data di fine della pubblicazione è obbligatoria.")
    elif start is not None and end <= start:
        errors["published_until"] = _("La pubblicazione deve terminare dopo il suo inizio.")
    if errors or start is None or end is None:
        raise invalid_fields(errors)
    item.published_from, item.published_until = start, end
    item.updated_at = now or utcnow()
    session.flush()
    _announce(session, actor, "publication.window_changed", item)
