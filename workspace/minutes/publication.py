"""What the public may read of a procedure's sedute, without logging in: per tavolo, the
convocations with their agendas, the approved verbali (edition for publication, PDF/A, hash) and
the results of closed votes, each with its publication date and end date.

Only procedures that are published (the procedures area's ``published`` flag) and whose public
record shows something now (their publication windows: ``procedures.service.get_public_procedure``)
are shown, and only their tavoli whose publication window is open. Drafts and remarks never appear:
a verbale is public once approved, for the procedure's publication period from its approval.
Anything else is a 404 that does not say whether it exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.minutes import content as contents
from workspace.minutes.models import Verbale
from workspace.minutes.service import settings_for
from workspace.problems import Problem, not_found
from workspace.procedures import permissions as procedure_permissions
from workspace.procedures import service as procedures
from workspace.procedures.models import Procedure, PublicationItem
from workspace.procedures.publication import add_years
from workspace.record import TavoloEvent
from workspace.tavoli.models import Seduta, Tavolo
from workspace.voting import payloads as vote_payloads
from workspace.voting import rounds as vote_rounds
from workspace.voting.models import VoteRound


@dataclass
class Convocation:
    seduta: Seduta
    published_from: datetime | None
    published_until: datetime | None


@dataclass
class PublicVote:
    vote: VoteRound
    results: dict[str, Any]
    published_from: datetime | None
    published_until: datetime | None


@dataclass
class PublicTavolo:
    tavolo: Tavolo
    item: PublicationItem
    convocations: list[Convocation] = field(default_factory=list)
    verbali: list[Verbale] = field(default_factory=list)
    votes: list[PublicVote] = field(default_factory=list)


def public_procedure(session: Session, procedure_id: int, now: datetime | None = None) -> Procedure:
    """The procedure, if its publication is on; otherwise a 404 that reveals nothing."""
    now = now or utcnow()
    procedure = procedures.get_public_procedure(session, procedure_id, now)
    if not procedure.published:
        raise not_found(_("Procedura inesistente o non pubblicata."))
    return procedure


def _convened_at(session: Session, tavolo_id: int) -> dict[int, datetime]:
    """When each seduta was convened: its ``seduta.convened`` event."""
    rows = session.execute(select(TavoloEvent.payload, TavoloEvent.at).where(
        TavoloEvent.tavolo_id == tavolo_id, TavoloEvent.kind == "seduta.convened")).all()
    return {p["id"]: at for p, at in rows if isinstance(p, dict) and "id" in p}


def visible_verbali(session: Session, tavolo_id: int, now: datetime) -> list[Verbale]:
    rows = session.scalars(select(Verbale).where(Verbale.tavolo_id == tavolo_id, Verbale.status == "approvato")
                           .order_by(Verbale.seduta_id, Verbale.edition))
    return [v for v in rows if v.published_from is not None and v.published_until is not None
            and v.published_from <= now < v.published_until]


def public_tavoli(session: Session, procedure: Procedure, now: datetime | None = None) -> list[PublicTavolo]:
    now = now or utcnow()
    years = settings_for(session, procedure.id).publication_years
    items = {i.ref_id: i for i in procedure_permissions.visible_items(procedure, now, "tavolo")}
    out = []
    for tavolo in procedure.tavoli:
        if tavolo.id not in items:
            continue
        entry = PublicTavolo(tavolo, items[tavolo.id])
        convened = _convened_at(session, tavolo.id)
        for seduta in tavolo.sedute:
            start = convened.get(seduta.id)
            entry.convocations.append(Convocation(seduta, start, add_years(start, years) if start else None))
        entry.verbali = visible_verbali(session, tavolo.id, now)
        for vote in vote_rounds.rounds_of(session, tavolo.id):
            if vote.status != "closed" or vote.closed_at is None:
                continue
            results = vote_payloads.results(session, vote, None)
            entry.votes.append(PublicVote(vote, results, vote.closed_at, add_years(vote.closed_at, years)))
        out.append(entry)
    return out


def public_verbale(session: Session, procedure_id: int, verbale_id: int, now: datetime | None = None
                   ) -> tuple[Procedure, Verbale]:
    """An approved verbale in its publication window, of a visible tavolo of a published procedure."""
    now = now or utcnow()
    procedure = public_procedure(session, procedure_id, now)
    verbale = session.get(Verbale, verbale_id)
    visible = {i.ref_id for i in procedure_permissions.visible_items(procedure, now, "tavolo")}
    if (verbale is None or verbale.tavolo_id not in visible
            or verbale not in visible_verbali(session, verbale.tavolo_id, now)):
        raise not_found(_("Verbale inesistente o non pubblicato."))
    return procedure, verbale


def public_content(verbale: Verbale) -> dict[str, Any]:
    """The edition for publication of an approved verbale."""
    if not verbale.approved or verbale.content is None:
        raise Problem("not_found", _("Verbale inesistente o non pubblicato."), 404)
    return contents.public_edition(verbale.content, verbale.naming or "organisation_role")


def procedure_of_verbale(session: Session, verbale: Verbale) -> Procedure:
    return session.get_one(Tavolo, verbale.tavolo_id).procedure
