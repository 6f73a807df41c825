"""Who sits at a tavolo: its institution, its member organisations and people's roles.

The Ufficio di Piano's administrators do this (``permissions.require_manage``; facilitators do
not, see there). Like every change to a tavolo, each write checks the permission, validates
before touching a row and appends one numbered event in the same transaction, so a role change
reaches the live pages at once (a person whose role changed is told, a removed person is refused
from then on) and the audit trail through ``signals.event_recorded``:

    tavolo.created   member.added   member.removed   role.set   role.removed

A call that changes nothing (adding a member twice, giving a person the role they have) appends
nothing. The caller commits.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from workspace import record
from workspace.accounts.models import Organisation, User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import conflict, invalid, not_found
from workspace.reference.models import Macroarea
from workspace.tavoli import permissions
from workspace.tavoli.models import TAVOLO_ROLES, Tavolo, TavoloMember, TavoloRole
from workspace.tavoli.payloads import member_payload, role_payload, tavolo_payload
from workspace.tavoli.service import live_seduta, open_presence, quorum

if TYPE_CHECKING:
    from workspace.procedures.models import Procedure


def get_procedure(session: Session, procedure_id: int) -> Procedure:
    """The procedure a tavolo is instituted under. Procedures sit above tavoli (they admit
    organisations to tavoli), so its class is reached through the tavolo's mapping, not imported."""
    procedure_class = inspect(Tavolo).relationships["procedure"].mapper.class_
    procedure = session.get(procedure_class, procedure_id)
    if procedure is None:
        raise not_found(_("Procedura inesistente."))
    return procedure


def create_tavolo(session: Session, actor: User, procedure: Procedure, title: str, macroaree: list[str],
                  description: str = "", opens_at: datetime | None = None,
                  closes_at: datetime | None = None, quorum_percent: int = 50) -> Tavolo:
    permissions.require_manage(actor)
    title = (title or "").strip()
    if not title:
        raise invalid(_("Il titolo del tavolo è obbligatorio."))
    if not macroaree:
        raise invalid(_("Un tavolo riguarda almeno una macroarea."))
    found = session.scalars(select(Macroarea).where(Macroarea.code.in_(macroaree))).all()
    if len(found) != len(set(macroaree)) or any(m.status != "active" for m in found):
        raise invalid(_("Macroarea non valida: scegliere fra le macroaree attive 2025-2027."))
    if opens_at and closes_at and closes_at <= opens_at:
        raise invalid(_("La finestra dei contributi deve chiudersi dopo l'apertura."))
    if not 0 < quorum_percent <= 100:
        raise invalid(_("Il quorum è una percentuale fra 1 e 100."))
    tavolo = Tavolo(procedure=procedure, title=title, description=description, macroaree=list(found),
                    contribution_opens_at=opens_at, contribution_closes_at=closes_at,
                    quorum_percent=quorum_percent)
    session.add(tavolo)
    session.flush()
    session.add(record.RecordStream(tavolo_id=tavolo.id, last_seq=0))
    session.flush()
    record.append(session, tavolo.id, "tavolo.created", tavolo_payload(tavolo), actor.id)
    return tavolo


# --- member organisations ---------------------------------------------------------------------


def _member(session: Session, tavolo: Tavolo, organisation_id: int) -> TavoloMember | None:
    return session.scalar(select(TavoloMember).where(TavoloMember.tavolo_id == tavolo.id,
                                                     TavoloMember.organisation_id == organisation_id))


def _with_quorum(session: Session, tavolo: Tavolo, payload: dict[str, Any]) -> dict[str, Any]:
    """Membership changes move the quorum of a live seduta: the event carries the new one."""
    seduta = live_seduta(session, tavolo.id)
    return payload | {"seduta_id": seduta.id if seduta else None,
                      "quorum": quorum(session, seduta) if seduta else None}


def _add_member(session: Session, actor: User, tavolo: Tavolo, organisation: Organisation) -> TavoloMember:
    existing = _member(session, tavolo, organisation.id)
    if existing is not None:
        return existing
    member = TavoloMember(tavolo=tavolo, organisation=organisation, joined_at=utcnow())
    session.add(member)
    session.flush()
    record.append(session, tavolo.id, "member.added", _with_quorum(session, tavolo, member_payload(member)),
                  actor.id)
    return member


def add_member(session: Session, actor: User, tavolo: Tavolo, organisation: Organisation) -> TavoloMember:
    """The organisation becomes a member of the tavolo (without naming a person yet)."""
    permissions.require_manage(actor)
    return _add_member(session, actor, tavolo, organisation)


def remove_member(session: Session, actor: User, tavolo: Tavolo, organisation: Organisation) -> record.TavoloEvent:
    """The organisation leaves the tavolo. Its delegates' roles go first, one by one, so that every
    person who loses access is told; what the organisation contributed stays on the record."""
    permissions.require_manage(actor)
    member = _member(session, tavolo, organisation.id)
    if member is None:
        raise not_found(_("«%(o)s» non è membro del tavolo.", o=organisation.name))
    delegates = session.scalars(
        select(User.name).join(TavoloRole, TavoloRole.user_id == User.id)
        .where(TavoloRole.tavolo_id == tavolo.id, TavoloRole.organisation_id == organisation.id)
        .order_by(User.name)).all()
    if delegates:
        raise conflict(_("Prima di togliere «%(o)s» dal tavolo, togliere il ruolo ai suoi delegati: %(p)s.",
                         o=organisation.name, p=", ".join(delegates)))
    payload = member_payload(member)
    session.delete(member)
    session.flush()
    return record.append(session, tavolo.id, "member.removed", _with_quorum(session, tavolo, payload), actor.id)


# --- people's roles -----------------------------------------------------------------------------


def _role(session: Session, tavolo: Tavolo, user: User) -> TavoloRole | None:
    return session.scalar(select(TavoloRole).where(TavoloRole.tavolo_id == tavolo.id,
                                                   TavoloRole.user_id == user.id))


def _set_role(session: Session, actor: User, tavolo: Tavolo, user: User, role: str,
              organisation: Organisation | None) -> TavoloRole:
    if role not in TAVOLO_ROLES:
        raise invalid(_("Ruolo non valido."))
    if role == "delegate" and organisation is None:
        raise invalid(_("Un delegato rappresenta un'organizzazione membro del tavolo."))
    if not user.active:
        raise invalid(_("La persona indicata non ha un account attivo."))
    existing = _role(session, tavolo, user)
    if existing is not None and existing.role == role and existing.organisation_id == (
            organisation.id if organisation else None):
        return existing
    if role == "delegate" and organisation is not None:  # a delegate's organisation sits at the tavolo
        _add_member(session, actor, tavolo, organisation)
    previous = existing.role if existing is not None else None
    if existing is None:
        existing = TavoloRole(tavolo=tavolo, user=user, role=role, organisation=organisation)
        session.add(existing)
    else:
        existing.role, existing.organisation = role, organisation
    session.flush()
    record.append(session, tavolo.id, "role.set", role_payload(existing) | {"previous": previous}, actor.id)
    return existing


def set_role(session: Session, actor: User, tavolo: Tavolo, user: User, role: str,
             organisation: Organisation | None = None) -> TavoloRole:
    """Give a person a role at the tavolo (or change it). A delegate speaks for an organisation,
    which becomes a member of the tavolo if it is not one yet (its own ``member.added`` event)."""
    permissions.require_manage(actor)
    return _set_role(session, actor, tavolo, user, role, organisation)


def remove_role(session: Session, actor: User, tavolo: Tavolo, user: User) -> record.TavoloEvent:
    """The person no longer takes part in the tavolo. During a live seduta their presence ends
    with it (the quorum changes); their organisation stays a member."""
    permissions.require_manage(actor)
    existing = _role(session, tavolo, user)
    if existing is None:
        raise not_found(_("%(u)s non ha un ruolo a questo tavolo.", u=user.name))
    payload = role_payload(existing)
    seduta = live_seduta(session, tavolo.id)
    presence = open_presence(session, seduta, user.id) if seduta is not None else None
    if presence is not None:
        presence.left_at = utcnow()
    session.delete(existing)
    session.flush()
    # The presence's id only: attendance data stays in the presence.* events, which the retention
    # rules unlink from the person after some years.
    payload |= {"presence_id": presence.id if presence is not None else None}
    return record.append(session, tavolo.id, "role.removed", _with_quorum(session, tavolo, payload), actor.id)


# --- admissions -----------------------------------------------------------------------------------


def admit_organisation(session: Session, actor: User, tavolo: Tavolo, organisation: Organisation,
                       delegate: User | None = None) -> None:
    """An organisation admitted by the tavolo's procedure becomes a member and, when named, the
    person becomes its delegate (someone who already has another role at the tavolo keeps it).

    For ``workspace.procedures``, which has checked who may decide (the RUP admitting, or the
    delegate's own invitation link): no permission is asked here, but every change is recorded
    like any other, with ``actor`` as its author."""
    _add_member(session, actor, tavolo, organisation)
    if delegate is None:
        return
    existing = _role(session, tavolo, delegate)
    if existing is None or existing.role == "delegate":
        _set_role(session, actor, tavolo, delegate, "delegate", organisation)
