"""Tavoli, sedute, agenda, presence: the facilitator's and the room's operations.

Each write checks permission, validates, changes rows and appends one event to the tavolo's
record in the same transaction (see workspace/record.py). The caller commits. Instituting a tavolo
and its members and roles: ``workspace.tavoli.membership``; the events' payloads:
``workspace.tavoli.payloads``.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from workspace import record, signals
from workspace.accounts.models import Organisation, User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem, conflict, invalid, not_found
from workspace.reference.models import KeyPoint, Macroarea
from workspace.tavoli import permissions
from workspace.tavoli.models import (
    PRESENCE_MODES,
    SEDUTA_MODES,
    AgendaItem,
    Presence,
    Seduta,
    Tavolo,
    TavoloMember,
    TavoloRole,
    tavolo_macroarea,
)
from workspace.tavoli.payloads import presence_payload, seduta_payload, tavolo_payload

MAX_TIMER_SECONDS = 4 * 3600

# --- lookups ---------------------------------------------------------------------------------


def get_tavolo(session: Session, tavolo_id: int) -> Tavolo:
    tavolo = session.get(Tavolo, tavolo_id)
    if tavolo is None:
        raise not_found(_("Tavolo inesistente."))
    return tavolo


def get_seduta(session: Session, seduta_id: int, tavolo_id: int | None = None) -> Seduta:
    seduta = session.get(Seduta, seduta_id)
    if seduta is None or (tavolo_id is not None and seduta.tavolo_id != tavolo_id):
        raise not_found(_("Seduta inesistente."))
    return seduta


# Asked by every live page, join batch and contribution: built once with a bound parameter (as the
# questions of ``permissions``).
_LIVE_SEDUTA = select(Seduta).where(Seduta.tavolo_id == bindparam("tavolo_id"), Seduta.status == "in_corso")


def live_seduta(session: Session, tavolo_id: int) -> Seduta | None:
    return session.scalar(_LIVE_SEDUTA, {"tavolo_id": tavolo_id})


_CONTRIBUTION_MACROAREE = (select(Macroarea.code, Macroarea.name, KeyPoint.id, KeyPoint.text)
                           .join(tavolo_macroarea, tavolo_macroarea.c.macroarea_code == Macroarea.code)
                           .outerjoin(KeyPoint, KeyPoint.macroarea_code == Macroarea.code)
                           .where(tavolo_macroarea.c.tavolo_id == bindparam("tavolo_id"))
                           .order_by(Macroarea.code, KeyPoint.position))


def contribution_macroaree(session: Session, tavolo_id: int) -> list[dict[str, Any]]:
    """The tavolo's macroaree (by code) with their key points (by position), as the contribution form
    lists them: one column query instead of the ORM rows and a query per macroarea."""
    macroaree: list[dict[str, Any]] = []
    for code, name, kp_id, text in session.execute(_CONTRIBUTION_MACROAREE, {"tavolo_id": tavolo_id}):
        if not macroaree or macroaree[-1]["code"] != code:
            macroaree.append({"code": code, "name": name, "key_points": []})
        if kp_id is not None:
            macroaree[-1]["key_points"].append({"id": kp_id, "text": text})
    return macroaree


def tavoli_for(session: Session, user: User) -> list[tuple[Tavolo, str]]:
    """The tavoli a person takes part in, with their role (administrators see all)."""
    if user.is_admin:
        own = {r.tavolo_id: r.role for r in session.scalars(select(TavoloRole).where(TavoloRole.user_id == user.id))}
        return [(t, own.get(t.id, "facilitator")) for t in session.scalars(select(Tavolo).order_by(Tavolo.id))]
    rows = session.execute(
        select(Tavolo, TavoloRole.role).join(TavoloRole, TavoloRole.tavolo_id == Tavolo.id)
        .where(TavoloRole.user_id == user.id).order_by(Tavolo.id)
    ).all()
    return [(t, r) for t, r in rows]


# --- sedute ----------------------------------------------------------------------------------------


def create_seduta(session: Session, actor: User, tavolo: Tavolo, starts_at: datetime, place: str = "",
                  mode: str = "presenza", agenda: list[str] | None = None) -> Seduta:
    permissions.require(session, actor, "facilitate", tavolo.id)
    if mode not in SEDUTA_MODES:
        raise invalid(_("Modalità non valida: in presenza, da remoto o mista."))
    titles = [t.strip() for t in (agenda or []) if t and t.strip()]
    number = (session.scalar(select(func.max(Seduta.number)).where(Seduta.tavolo_id == tavolo.id)) or 0) + 1
    seduta = Seduta(tavolo=tavolo, number=number, starts_at=starts_at, place=place.strip(), mode=mode)
    session.add(seduta)
    session.flush()
    for position, title in enumerate(titles, start=1):
        session.add(AgendaItem(seduta=seduta, position=position, title=title[:300]))
    session.flush()
    record.append(session, tavolo.id, "seduta.convened", seduta_payload(seduta), actor.id)
    return seduta


# --- the live seduta -----------------------------------------------------------------------------


def start_seduta(session: Session, actor: User, seduta: Seduta, op_id: str | None = None) -> record.TavoloEvent:
    permissions.require(session, actor, "facilitate", seduta.tavolo_id)
    if seduta.status != "convocata":
        raise conflict(_("La seduta non è convocata: non si può avviare (stato attuale: %(s)s).",
                         s=seduta.status))
    if live_seduta(session, seduta.tavolo_id) is not None:
        raise conflict(_("C'è già una seduta in corso per questo tavolo."))
    seduta.status, seduta.started_at = "in_corso", utcnow()
    if seduta.agenda and seduta.current_item_id is None:
        seduta.current_item_id = seduta.agenda[0].id
    session.flush()
    # The quorum indicator starts with the seduta (nobody present yet), as a snapshot would show it.
    return record.append(session, seduta.tavolo_id, "seduta.started",
                         seduta_payload(seduta) | {"quorum": quorum(session, seduta)}, actor.id, op_id)


def close_seduta(session: Session, actor: User, seduta: Seduta, op_id: str | None = None) -> record.TavoloEvent:
    permissions.require(session, actor, "facilitate", seduta.tavolo_id)
    if seduta.status != "in_corso":
        raise conflict(_("La seduta non è in corso."))
    now = utcnow()
    seduta.status, seduta.closed_at = "chiusa", now
    seduta.timer_ends_at = seduta.timer_label = None
    for presence in seduta.presences:
        if presence.left_at is None:
            presence.left_at = now
    session.flush()
    event = record.append(session, seduta.tavolo_id, "seduta.closed", seduta_payload(seduta), actor.id, op_id)
    # Other areas (voting) finish what belonged to the seduta, in this transaction; a Problem
    # raised by one of them refuses the whole closing.
    signals.seduta_closed.send(session, actor=actor, seduta=seduta)
    return event


def _require_live(seduta: Seduta) -> None:
    if seduta.status != "in_corso":
        raise conflict(_("La seduta non è in corso."))


def move_agenda(session: Session, actor: User, seduta: Seduta, item_id: int,
                op_id: str | None = None) -> record.TavoloEvent:
    permissions.require(session, actor, "facilitate", seduta.tavolo_id)
    _require_live(seduta)
    if item_id not in {i.id for i in seduta.agenda}:
        raise invalid(_("Punto all'ordine del giorno inesistente in questa seduta."))
    seduta.current_item_id = item_id
    session.flush()
    return record.append(session, seduta.tavolo_id, "agenda.moved",
                         {"seduta_id": seduta.id, "current_item_id": item_id}, actor.id, op_id)


def set_timer(session: Session, actor: User, seduta: Seduta, seconds: int, label: str = "",
              op_id: str | None = None) -> record.TavoloEvent:
    permissions.require(session, actor, "facilitate", seduta.tavolo_id)
    _require_live(seduta)
    if not 0 <= seconds <= MAX_TIMER_SECONDS:
        raise invalid(_("Durata del timer non valida (da 0 a 4 ore)."))
    if seconds == 0:
        seduta.timer_ends_at, seduta.timer_label = None, None
    else:
        seduta.timer_ends_at = utcnow() + timedelta(seconds=seconds)
        seduta.timer_label = label.strip()[:200] or None
    session.flush()
    return record.append(session, seduta.tavolo_id, "timer.set", {
        "seduta_id": seduta.id,
        "ends_at": seduta.timer_ends_at.isoformat() if seduta.timer_ends_at else None,
        "label": seduta.timer_label,
    }, actor.id, op_id)


# --- presence ----------------------------------------------------------------------------------


def open_presence(session: Session, seduta: Seduta, user_id: int) -> Presence | None:
    """The person's presence at the seduta that has not ended yet, if any."""
    return session.scalar(select(Presence).where(
        Presence.seduta_id == seduta.id, Presence.user_id == user_id, Presence.left_at.is_(None)))


def presence_join(session: Session, user: User, seduta: Seduta, mode: str = "remoto") -> record.TavoloEvent | None:
    """Automatic presence when someone opens the live seduta. None if already present."""
    role = permissions.require(session, user, "view", seduta.tavolo_id)
    _require_live(seduta)
    if mode not in PRESENCE_MODES:
        raise invalid(_("Modalità di presenza non valida."))
    if open_presence(session, seduta, user.id) is not None:
        return None
    tr = permissions.tavolo_role(session, user, seduta.tavolo_id)
    presence = Presence(seduta=seduta, user_id=user.id, organisation_id=tr.organisation_id if tr else None,
                        role=role, mode=mode, source="auto", joined_at=utcnow())
    session.add(presence)
    session.flush()
    return record.append(session, seduta.tavolo_id, "presence.joined", presence_payload(presence) |
                         {"quorum": quorum(session, seduta)}, user.id)


def present_among(session: Session, seduta: Seduta, user_ids: set[int]) -> set[int]:
    """Which of ``user_ids`` have a presence at the seduta that has not ended."""
    return set(session.scalars(select(Presence.user_id).where(
        Presence.seduta_id == seduta.id, Presence.left_at.is_(None), Presence.user_id.in_(user_ids))))


def presence_join_many(session: Session, seduta: Seduta, people: list[tuple[User, str]]) -> list[Problem | None]:
    """``presence_join`` for several people at once (the joins of a storm, written together): the
    same checks and outcome for each — a Problem for a refused person, nothing recorded for one
    already present — with a constant number of queries for the batch instead of about twelve per
    person. The events carry the quorum as it stood after each presence, in order."""
    outcomes: list[Problem | None] = [None] * len(people)
    if not people:
        return outcomes
    ids = {user.id for user, _mode in people}
    roles = {r.user_id: r for r in session.scalars(
        select(TavoloRole).where(TavoloRole.tavolo_id == seduta.tavolo_id, TavoloRole.user_id.in_(ids)))}
    open_ids = present_among(session, seduta, ids)
    members = set(session.scalars(select(TavoloMember.organisation_id)
                                  .where(TavoloMember.tavolo_id == seduta.tavolo_id)))
    present_people = set(session.scalars(select(Presence.user_id).distinct().where(
        Presence.seduta_id == seduta.id, Presence.left_at.is_(None))))
    present_orgs = set(session.scalars(select(Presence.organisation_id).distinct().where(
        Presence.seduta_id == seduta.id, Presence.left_at.is_(None), Presence.organisation_id.in_(members))))
    threshold = seduta.tavolo.quorum_percent
    now = utcnow()
    added: list[Presence] = []
    for i, (user, mode) in enumerate(people):
        tr = roles.get(user.id)
        role = permissions.effective(user, tr.role if tr is not None else None)
        try:
            if role not in permissions.RULES["view"]:
                raise permissions.refusal("view")
            _require_live(seduta)
            if mode not in PRESENCE_MODES:
                raise invalid(_("Modalità di presenza non valida."))
        except Problem as problem:
            outcomes[i] = problem
            continue
        if user.id in open_ids:
            continue  # already present (another tab, or twice in this batch)
        open_ids.add(user.id)
        added.append(Presence(seduta_id=seduta.id, user_id=user.id, organisation_id=tr.organisation_id if tr else None,
                              role=role, mode=mode, source="auto", joined_at=now))
    if not added:
        return outcomes
    session.add_all(added)
    session.flush()
    # Names for the payloads in two queries (then found in the identity map, not one query each).
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({p.user_id for p in added})))}
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_({p.organisation_id for p in added if p.organisation_id is not None})))}
    items: list[tuple[str, dict[str, Any], int | None]] = []
    for presence in added:
        present_people.add(presence.user_id)
        if presence.organisation_id in members:
            present_orgs.add(presence.organisation_id)
        payload = presence_payload(presence, users.get(presence.user_id), orgs.get(presence.organisation_id or 0))
        payload["quorum"] = quorum_payload(len(present_orgs), len(members), len(present_people), threshold)
        items.append(("presence.joined", payload, presence.user_id))
    record.append_many(session, seduta.tavolo_id, items)
    return outcomes


def presence_leave(session: Session, user: User, seduta: Seduta) -> record.TavoloEvent | None:
    presence = open_presence(session, seduta, user.id)
    if presence is None or presence.source == "manual":
        return None  # marked present by the facilitator: leaving the page does not undo that
    presence.left_at = utcnow()
    session.flush()
    return record.append(session, seduta.tavolo_id, "presence.left", presence_payload(presence) |
                         {"quorum": quorum(session, seduta)}, user.id)


def presence_leave_many(session: Session, seduta: Seduta, user_ids: list[int]) -> None:
    """``presence_leave`` for several people at once (the disconnects of a storm: the seduta ends,
    the hall's network drops): each open automatic presence among ``user_ids`` ends, in a constant
    number of queries, and the events carry the quorum as it stood after each departure, in order.
    A presence the facilitator marked stays, as it does one by one."""
    if not user_ids:
        return
    open_rows = session.execute(select(Presence.user_id, Presence.organisation_id).where(
        Presence.seduta_id == seduta.id, Presence.left_at.is_(None))).all()
    order = {user_id: i for i, user_id in enumerate(user_ids)}
    leaving = sorted(session.scalars(select(Presence).where(
        Presence.seduta_id == seduta.id, Presence.left_at.is_(None), Presence.user_id.in_(order),
        Presence.source != "manual")), key=lambda p: (order[p.user_id], p.id))
    if not leaving:
        return
    members = set(session.scalars(select(TavoloMember.organisation_id)
                                  .where(TavoloMember.tavolo_id == seduta.tavolo_id)))
    # Open presences per person and per member organisation: who is still there after each departure.
    people = Counter(user_id for user_id, _org in open_rows)
    organisations = Counter(org for _user, org in open_rows if org in members)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({p.user_id for p in leaving})))}
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_({p.organisation_id for p in leaving if p.organisation_id is not None})))}
    now = utcnow()
    for presence in leaving:
        presence.left_at = now
    session.flush()
    threshold = seduta.tavolo.quorum_percent
    items: list[tuple[str, dict[str, Any], int | None]] = []
    for presence in leaving:
        _one_less(people, presence.user_id)
        if presence.organisation_id in members:
            _one_less(organisations, presence.organisation_id)
        payload = presence_payload(presence, users.get(presence.user_id), orgs.get(presence.organisation_id or 0))
        payload["quorum"] = quorum_payload(len(organisations), len(members), len(people), threshold)
        items.append(("presence.left", payload, presence.user_id))
    record.append_many(session, seduta.tavolo_id, items)


def _one_less(counts: Counter, key: Any) -> None:
    """One open presence fewer for ``key``; gone from the count when none is left."""
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]


def mark_presence(session: Session, actor: User, seduta: Seduta, user_id: int, present: bool,
                  mode: str = "presenza", op_id: str | None = None) -> record.TavoloEvent:
    """The facilitator marks someone in the room who has no device (or marks them gone)."""
    permissions.require(session, actor, "facilitate", seduta.tavolo_id)
    _require_live(seduta)
    if mode not in PRESENCE_MODES:
        raise invalid(_("Modalità di presenza non valida."))
    person = session.get(User, user_id)
    tr = permissions.tavolo_role(session, person, seduta.tavolo_id) if person else None
    if tr is None:
        raise invalid(_("La persona indicata non fa parte del tavolo."))
    now = utcnow()
    current = open_presence(session, seduta, user_id)
    if present:
        if current is None:
            current = Presence(seduta=seduta, user_id=user_id, organisation_id=tr.organisation_id, role=tr.role,
                               mode=mode, source="manual", marked_by_id=actor.id, joined_at=now)
            session.add(current)
        else:
            current.source, current.mode, current.marked_by_id = "manual", mode, actor.id
    elif current is not None:
        current.left_at, current.marked_by_id = now, actor.id
    session.flush()
    payload = {"seduta_id": seduta.id, "user_id": user_id, "present": present, "mode": mode,
               "presence": presence_payload(current) if current else None, "quorum": quorum(session, seduta)}
    return record.append(session, seduta.tavolo_id, "presence.marked", payload, actor.id, op_id)


def quorum(session: Session, seduta: Seduta) -> dict[str, Any]:
    """Member organisations present (through any delegate) against all member organisations."""
    members = session.scalar(select(func.count()).select_from(TavoloMember)
                             .where(TavoloMember.tavolo_id == seduta.tavolo_id)) or 0
    present = session.scalar(
        select(func.count(func.distinct(Presence.organisation_id)))
        .join(TavoloMember, (TavoloMember.organisation_id == Presence.organisation_id)
              & (TavoloMember.tavolo_id == seduta.tavolo_id))
        .where(Presence.seduta_id == seduta.id, Presence.left_at.is_(None))
    ) or 0
    people = session.scalar(select(func.count(func.distinct(Presence.user_id)))
                            .where(Presence.seduta_id == seduta.id, Presence.left_at.is_(None))) or 0
    return quorum_payload(present, members, people, seduta.tavolo.quorum_percent)


def quorum_payload(present: int, members: int, people: int, threshold: int) -> dict[str, Any]:
    """The quorum as events and snapshots carry it: ``present`` of ``members`` organisations."""
    reached = members > 0 and present * 100 >= threshold * members
    return {"organisations_present": present, "organisations_total": members, "people_present": people,
            "threshold_percent": threshold, "reached": reached}


def register(session: Session, seduta: Seduta) -> list[Presence]:
    """The attendance register of a seduta, in order of arrival."""
    # Names loaded with the rows: every join of a plenary sends the whole register (one query, not
    # two per person present).
    return list(session.scalars(select(Presence).where(Presence.seduta_id == seduta.id)
                                .options(joinedload(Presence.user), joinedload(Presence.organisation))
                                .order_by(Presence.joined_at, Presence.id)))


# --- contribution window -------------------------------------------------------------------------


def check_contribution_window(session: Session, tavolo: Tavolo, now: datetime | None = None) -> Seduta | None:
    """Contributions are accepted during a live seduta, or between sedute inside the window.

    Returns the live seduta, if any, so the contribution can be tied to it.
    """
    seduta = live_seduta(session, tavolo.id)
    if seduta is not None:
        return seduta
    now = now or utcnow()
    opens, closes = tavolo.contribution_opens_at, tavolo.contribution_closes_at
    fmt = "%d/%m/%Y %H:%M"
    if opens is None or closes is None:
        raise Problem("window_closed", _("I contributi a questo tavolo si raccolgono solo durante le sedute."), 409)
    if now < opens:
        raise Problem("window_closed", _("La raccolta dei contributi apre il %(d)s.",
                                         d=_local(opens).strftime(fmt)), 409)
    if now > closes:
        raise Problem("window_closed", _("La raccolta dei contributi è chiusa dal %(d)s.",
                                         d=_local(closes).strftime(fmt)), 409)
    return None


def _local(moment: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Rome"))


# --- the live snapshot ---------------------------------------------------------------------------


def present_payloads(session: Session, seduta: Seduta) -> list[dict[str, Any]]:
    """``presence_payload`` of everyone present now, in order of arrival, read as plain rows: every
    join of a plenary sends the list, so no ORM object is made per person present."""
    rows = session.execute(
        select(Presence.id, Presence.seduta_id, Presence.user_id, User.name, Organisation.name, Presence.role,
               Presence.mode, Presence.source, Presence.joined_at)
        .join(User, User.id == Presence.user_id, isouter=True)
        .join(Organisation, Organisation.id == Presence.organisation_id, isouter=True)
        .where(Presence.seduta_id == seduta.id, Presence.left_at.is_(None))
        .order_by(Presence.joined_at, Presence.id))
    return [{"id": pid, "seduta_id": sid, "user_id": uid, "name": name, "organisation": org, "role": role,
             "mode": mode, "source": source, "joined_at": joined.isoformat(), "left_at": None}
            for pid, sid, uid, name, org, role, mode, source, joined in rows]


def tavolo_snapshot(session: Session, tavolo: Tavolo, register: bool = True) -> dict[str, Any]:
    """The tavolo's part of a live snapshot. ``register``: with the people present (the console
    shows them); without it a joining client gets the counts in ``quorum`` — a plenary's register
    would be most of every participant's reply (250 KB at 1,000 present), for a screen that shows
    a number."""
    seduta = live_seduta(session, tavolo.id)
    part: dict[str, Any] = {
        "tavolo": tavolo_payload(tavolo),
        "seduta": seduta_payload(seduta) if seduta else None,
        "quorum": quorum(session, seduta) if seduta else None,
    }
    if register:
        part["presences"] = present_payloads(session, seduta) if seduta else []
    return part
