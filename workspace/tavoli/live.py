"""Socket.IO operations of the facilitator's console, automatic presence and the tavolo's part of
the live snapshot. Bound by ``workspace.tavoli.register``."""
from __future__ import annotations

from typing import Any

from flask import current_app

from workspace import realtime, record
from workspace.db import reading
from workspace.problems import Problem
from workspace.realtime import ID, operation
from workspace.tavoli import permissions, service


def guard(session, user, tavolo_id: int) -> None:
    """Who may join a tavolo's room or send it operations: whoever may see the tavolo."""
    permissions.require_at(session, user, "view", tavolo_id)


def door(session, user, action: str, tavolo_id: int) -> None:
    """The tavolo (404 if unknown) and the person's right to ``action`` there (403): the check
    ``workspace.policy`` makes before the views whose policy row has a door."""
    role = permissions.require_at(session, user, "view", tavolo_id)  # an outsider reads "not of this tavolo"
    permissions.allowed(role, action)


def guard_together(session, joins: list[tuple[Any, int]]) -> list[Problem | None]:
    """``guard`` for a batch of joins (a join storm), one query per tavolo: None for each person who
    may join, else the Problem refusing them — the same verdicts as ``guard`` one by one."""
    roles: dict[int, dict[int, str] | Problem] = {}
    for tavolo_id in {t for _u, t in joins}:
        try:
            roles[tavolo_id] = permissions.roles_at(session, tavolo_id, {u.id for u, t in joins if t == tavolo_id})
        except Problem as unknown:
            roles[tavolo_id] = unknown
    verdicts: list[Problem | None] = []
    for user, tavolo_id in joins:
        held = roles[tavolo_id]
        try:
            if isinstance(held, Problem):
                raise held
            permissions.allowed(permissions.effective(user, held.get(user.id)), "view")
            verdicts.append(None)
        except Problem as problem:
            verdicts.append(problem)
    return verdicts


def snapshot_part(session, tavolo_id: int, register: bool = True) -> dict:
    return service.tavolo_snapshot(session, service.get_tavolo(session, tavolo_id), register)


def _must_write(session, user, tavolo_id: int, joining: bool) -> bool:
    """Whether a join or leave has a presence to record. Called outside a transaction (the live
    join and disconnect), it finds out in a read transaction: most joins and leaves record nothing
    (no live seduta, already present) and never take SQLite's write lock."""
    if session.in_transaction():
        return True
    with reading():
        seduta = service.live_seduta(session, tavolo_id)
        present = seduta is not None and service.open_presence(session, seduta, user.id) is not None
        session.commit()
    return seduta is not None and (present != joining)


def presence_on_join(session, user, tavolo_id: int, mode: str) -> None:
    if not _must_write(session, user, tavolo_id, joining=True):
        return
    seduta = service.live_seduta(session, tavolo_id)
    if seduta is not None:
        service.presence_join(session, user, seduta, mode)


def presence_on_join_together(session, arrivals) -> None:
    """Receiver of ``signals.tavolo_joined_together``: the presences of a batch of joins, one
    ``presence_join_many`` per tavolo. Like ``presence_on_join``, finds out first in a read
    transaction whether anyone needs recording (a reconnect storm finds everyone still present)."""
    by_tavolo: dict[int, list] = {}
    for arrival in arrivals:
        by_tavolo.setdefault(arrival.tavolo_id, []).append(arrival)
    for tavolo_id, group in by_tavolo.items():
        if not session.in_transaction():
            with reading():
                seduta = service.live_seduta(session, tavolo_id)
                present = set() if seduta is None else service.present_among(session, seduta, {a.user.id for a in group})
                session.commit()
            if seduta is None or all(a.user.id in present for a in group):
                continue
        seduta = service.live_seduta(session, tavolo_id)
        if seduta is None:
            continue
        outcomes = service.presence_join_many(session, seduta, [(a.user, a.mode) for a in group])
        for arrival, problem in zip(group, outcomes, strict=True):
            if problem is not None:
                arrival.error = problem


def presence_on_leave(session, user, tavolo_id: int) -> None:
    # Another tab or device of the same person is still connected: still present.
    if realtime.connections_in(tavolo_id, user.id) != 0 or not _must_write(session, user, tavolo_id, joining=False):
        return
    seduta = service.live_seduta(session, tavolo_id)
    if seduta is not None:
        service.presence_leave(session, user, seduta)


def presence_on_leave_together(session, departures) -> None:
    """Receiver of ``signals.tavolo_left_together``: the presences a batch of departures ends, one
    ``presence_leave_many`` per tavolo. Like ``presence_on_leave``: someone still connected from
    another tab or device stays present, and a read transaction finds out first whether anyone
    needs recording (most departures outside a live seduta record nothing)."""
    by_tavolo: dict[int, list[int]] = {}
    for departure in departures:
        people = by_tavolo.setdefault(departure.tavolo_id, [])
        if departure.user.id not in people:
            people.append(departure.user.id)
    for tavolo_id, people in by_tavolo.items():
        leaving = [user_id for user_id in people if realtime.connections_in(tavolo_id, user_id) == 0]
        if not leaving:
            continue
        if not session.in_transaction():
            with reading():
                seduta = service.live_seduta(session, tavolo_id)
                present = set() if seduta is None else service.present_among(session, seduta, set(leaving))
                session.commit()
            if not present:
                continue
        seduta = service.live_seduta(session, tavolo_id)
        if seduta is not None:
            service.presence_leave_many(session, seduta, leaving)


def evict_removed(session, event: record.TavoloEvent) -> None:
    """Receiver of ``signals.event_recorded``: a person whose role was removed leaves the tavolo's
    room once the change is committed (after the ``role.removed`` event has reached them)."""
    if event.kind != "role.removed":
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    tavolo_id, user_id = event.tavolo_id, event.payload["user_id"]

    def leave() -> None:
        realtime.evict(app, tavolo_id, user_id)

    # After the delivery of the event itself (the outbox keeps the order).
    record.on_commit(session, lambda: realtime.outbox.put(leave))


def _seduta(session, data):
    service.get_tavolo(session, data["tavolo_id"])
    return service.get_seduta(session, data["seduta_id"], data["tavolo_id"])


@operation("seduta.start", {"seduta_id": ID}, required=("seduta_id",))
def _start(session, user, data):
    event = service.start_seduta(session, user, _seduta(session, data), data["op_id"])
    return event, {"id": data["seduta_id"]}


@operation("seduta.close", {"seduta_id": ID}, required=("seduta_id",))
def _close(session, user, data):
    event = service.close_seduta(session, user, _seduta(session, data), data["op_id"])
    return event, {"id": data["seduta_id"]}


@operation("agenda.move", {"seduta_id": ID, "item_id": ID}, required=("seduta_id", "item_id"))
def _agenda(session, user, data):
    event = service.move_agenda(session, user, _seduta(session, data), data["item_id"], data["op_id"])
    return event, {"id": data["item_id"]}


@operation("timer.set", {"seduta_id": ID, "seconds": {"type": "integer", "minimum": 0},
                         "label": {"type": "string", "maxLength": 200}}, required=("seduta_id", "seconds"))
def _timer(session, user, data):
    event = service.set_timer(session, user, _seduta(session, data), data["seconds"], data.get("label", ""),
                              data["op_id"])
    return event, {"ends_at": event.payload["ends_at"]}


@operation("presence.mark", {"seduta_id": ID, "user_id": ID, "present": {"type": "boolean"},
                             "mode": {"enum": ["presenza", "remoto"]}},
           required=("seduta_id", "user_id", "present"))
def _mark(session, user, data):
    event = service.mark_presence(session, user, _seduta(session, data), data["user_id"], data["present"],
                                  data.get("mode", "presenza"), data["op_id"])
    return event, {"quorum": event.payload["quorum"]}
