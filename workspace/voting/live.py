"""Socket.IO operations of priority votes, and the coalesced live turnout.

Operations (acks as everywhere on /live: ``{"ok": true, ...}`` or ``{"error": code, "message": ...}``):

- ``vote.open``, ``vote.close``, ``vote.declare_interest``, ``vote.tie_break``: ordinary operations,
  one numbered event each (vote.opened, vote.closed with the results, vote.interest_declared,
  vote.tie_break).
- ``vote.cast`` ``{op_id, tavolo_id, round_id, ballot}``: no numbered event per ballot (it would be
  one broadcast per ballot, and for secret rounds a per-voter timestamped record). The ack is
  ``{"ok": true, "result": receipt}``; a retried ``op_id`` is acknowledged with ``"duplicate": true``.
- ``vote.status`` ``{tavolo_id, round_id}``: read-only; may I vote, have I voted, my declarations.

Live turnout: after each committed ballot the service hands over a small payload
(``{tavolo_id, round_id, revision, status, turnout, tally?}``); it is pushed to the tavolo's room
as the ``vote.live`` message at most once per ``PUSH_INTERVAL`` per round, always the newest
(highest ``revision``). It is not a numbered event: it carries derived state that the snapshot on
join/resync provides again, and clients keep the payload with the highest revision.

Also here: closing a seduta closes its open live rounds (``tavoli.service.seduta_closed_hooks``),
and ``close_due_forever`` — started by ``tavoli serve`` — closes asynchronous rounds whose
closing time has passed.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError, OperationalError

from workspace import realtime, record
from workspace.db import db
from workspace.extensions import socketio
from workspace.problems import Problem
from workspace.realtime import ID, NAMESPACE, OP_ID, handles, operation
from workspace.tavoli import service as tavoli_service
from workspace.voting import service

log = logging.getLogger(__name__)

#: Seconds between two pushes of the same round's turnout (a few per second at most).
PUSH_INTERVAL = 0.3
LIVE_MESSAGE = "vote.live"

realtime.add_snapshot_part(lambda session, tavolo: service.votes_snapshot(session, tavolo))


# --- coalesced pushes ---------------------------------------------------------------------------------

_latest: dict[int, dict[str, Any]] = {}
_scheduled: set[int] = set()
_lock = threading.Lock()


def _push_later(round_id: int) -> None:
    socketio.sleep(PUSH_INTERVAL)
    with _lock:
        payload = _latest.pop(round_id, None)
        _scheduled.discard(round_id)
    if payload is None:
        return
    try:
        socketio.emit(LIVE_MESSAGE, payload, to=record.room(payload["tavolo_id"]), namespace=NAMESPACE)
    except Exception:  # noqa: BLE001 — a lost push is repaired by the next one or a resync
        log.exception("vote.live push failed")


def notify(payload: dict[str, Any]) -> None:
    """Keep the newest payload of its round and make sure one push is scheduled."""
    round_id = payload["round_id"]
    with _lock:
        current = _latest.get(round_id)
        if current is None or payload["revision"] >= current["revision"]:
            _latest[round_id] = payload
        if round_id in _scheduled:
            return
        _scheduled.add(round_id)
    socketio.start_background_task(_push_later, round_id)


service.set_live_notifier(notify)


# --- closing: with the seduta, and when the closing time has passed -----------------------------------


def close_live_rounds(session, actor, seduta) -> list[record.TavoloEvent]:
    """Close the open rounds held in ``seduta`` (it is being closed: its live votes end with it).
    Runs inside ``close_seduta``'s transaction; drafts stay drafts."""
    from sqlalchemy import select

    from workspace.voting.models import VoteRound

    rounds = session.scalars(select(VoteRound).where(VoteRound.seduta_id == seduta.id, VoteRound.status == "open")
                             .order_by(VoteRound.id)).all()
    return [service.close_round(session, actor, vote) for vote in rounds]


if close_live_rounds not in tavoli_service.seduta_closed_hooks:
    tavoli_service.seduta_closed_hooks.append(close_live_rounds)

#: Seconds between two looks for asynchronous rounds past their closing time.
CLOSE_DUE_INTERVAL = 30


def close_due_once(app) -> int:
    """Close every round past its closing time, in ``app``'s context; the number closed."""
    with app.app_context():
        session = db.session
        try:
            closed = service.close_due_rounds(session)
            session.commit()
            return len(closed)
        except Exception:  # noqa: BLE001 — the loop must survive a bad moment of the database
            session.rollback()
            log.exception("closing the rounds past their closing time failed")
            return 0


def close_due_forever(app, interval: float = CLOSE_DUE_INTERVAL) -> None:
    """Background task of ``tavoli serve``: every ``interval`` seconds, close the due rounds
    (their ``vote.closed`` events reach the live pages like any other)."""
    while True:
        socketio.sleep(interval)
        count = close_due_once(app)
        if count:
            log.info("closed %d round(s) past their closing time", count)


# --- operations ---------------------------------------------------------------------------------------


def _round(session, data) -> Any:
    return service.get_round(session, data["round_id"], data["tavolo_id"])


@operation("vote.open", {"round_id": ID}, required=("round_id",))
def _open(session, user, data):
    event = service.open_round(session, user, _round(session, data), data["op_id"])
    return event, {"id": data["round_id"], "status": "open", "turnout": event.payload["turnout"]}


@operation("vote.close", {"round_id": ID}, required=("round_id",))
def _close(session, user, data):
    event = service.close_round(session, user, _round(session, data), data["op_id"])
    return event, {"id": data["round_id"], "status": "closed", "ranking": event.payload["ranking"],
                   "turnout": event.payload["turnout"]}


@operation("vote.declare_interest", {"round_id": ID, "bisogno_id": ID, "note": {"type": "string"}},
           required=("round_id", "bisogno_id"))
def _declare(session, user, data):
    declaration, event = service.declare_interest(session, user, _round(session, data), data["bisogno_id"],
                                                  data.get("note", ""), data["op_id"])
    return event, {"id": declaration.id, "bisogno_id": data["bisogno_id"]}


@operation("vote.tie_break", {"round_id": ID, "seed": {"type": "string", "minLength": 1, "maxLength": 100}},
           required=("round_id",))
def _tie_break(session, user, data):
    event = service.tie_break(session, user, _round(session, data), data.get("seed"), data["op_id"])
    return event, {"id": data["round_id"], "ranking": event.payload["ranking"],
                   "seed": event.payload["tie_break"]["seed"]}


CAST_SCHEMA = realtime._validator({
    "required": ["op_id", "tavolo_id", "round_id", "ballot"],
    "properties": {"op_id": OP_ID, "tavolo_id": ID, "round_id": ID, "ballot": {"type": "object"}},
})
STATUS_SCHEMA = realtime._validator({
    "required": ["tavolo_id", "round_id"],
    "properties": {"tavolo_id": ID, "round_id": ID},
})


def _checked(schema, data) -> dict | None:
    if not isinstance(data, dict):
        return realtime._error("invalid", _("Il messaggio non ha la forma prevista."))
    errors = sorted(schema.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        return realtime._error("invalid", realtime._schema_message(errors[0]))
    if not current_user.is_authenticated:
        return realtime._error("unauthorized", _("Accesso richiesto."))
    return None


@handles("vote.cast")
def _cast(data=None):
    refusal = _checked(CAST_SCHEMA, data)
    if refusal is not None:
        return refusal
    session = db.session
    user = current_user._get_current_object()
    for attempt in range(3):
        try:
            receipt = service.cast_ballot(session, user, _round(session, data), data["ballot"], data["op_id"])
            session.commit()
            return {"ok": True, "result": receipt, **({"duplicate": True} if receipt["duplicate"] else {})}
        except Problem as problem:
            session.rollback()
            return problem.as_ack()
        except (IntegrityError, OperationalError):
            # A concurrent delivery of the same ballot (or a lock timeout): the retry sees its outcome.
            session.rollback()
            if attempt == 2:
                log.exception("vote.cast kept conflicting")
        except Exception:  # noqa: BLE001 — one bad message never takes the server down
            session.rollback()
            log.exception("vote.cast failed")
            return realtime._error("internal", _("Errore interno: la scheda non è stata registrata. Riprova."))
    return realtime._error("conflict", _("La scheda è in conflitto con un invio concorrente: riprova."))


@handles("vote.status")
def _status(data=None):
    refusal = _checked(STATUS_SCHEMA, data)
    if refusal is not None:
        return refusal
    session = db.session
    try:
        from workspace.tavoli import permissions

        vote = _round(session, data)
        permissions.require(session, current_user._get_current_object(), "view", vote.tavolo_id)
        status = service.my_status(session, vote, current_user._get_current_object())
        return {"ok": True, "result": status | {"turnout": service.turnout(session, vote)}}
    except Problem as problem:
        return problem.as_ack()
    finally:
        session.rollback()
