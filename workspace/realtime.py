"""The live channel: Socket.IO namespace ``/live``, one room per tavolo.

Authentication is the login session cookie plus the CSRF token in the handshake ``auth``.
Client writes are *operations*: a named event with a JSON payload carrying an ``op_id``; the
payload is validated against the operation's schema, the service runs in one transaction, and the
acknowledgement is ``{"ok": true, "seq": N, "result": {...}}`` or ``{"error": code, "message": ...}``.
An ``op_id`` already applied is acknowledged again without being applied twice, so a client can
retry from its outbox until it is acknowledged. docs/live-protocol.md describes the protocol.
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room
from flask_wtf.csrf import ValidationError, validate_csrf
from jsonschema import Draft202012Validator
from sqlalchemy.exc import IntegrityError

from workspace import record
from workspace.db import db
from workspace.extensions import socketio
from workspace.problems import Problem

NAMESPACE = "/live"
log = logging.getLogger(__name__)

OP_ID = {"type": "string", "minLength": 8, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
# Bounded to the database's integer columns: a larger number cannot name a row, and unbounded it
# overflows the driver (SQLite) and would come back as an internal error instead of a clear refusal.
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

SnapshotPart = Callable[[Any, Any], dict[str, Any]]
_snapshot_parts: list[SnapshotPart] = []
# Called with (session, user, tavolo_id) when a client joins / leaves a tavolo room.
_join_hooks: list[Callable] = []
_leave_hooks: list[Callable] = []

# Which tavoli each connection joined, and whose it is (per process), to undo presence on disconnect.
_rooms_by_sid: dict[str, set[int]] = defaultdict(set)
_sid_user: dict[str, int] = {}
_rooms_lock = threading.Lock()


def add_snapshot_part(fn: SnapshotPart) -> None:
    _snapshot_parts.append(fn)


def on_join(fn: Callable) -> Callable:
    _join_hooks.append(fn)
    return fn


def on_leave(fn: Callable) -> Callable:
    _leave_hooks.append(fn)
    return fn


def _emit_event(tavolo_id: int, message: dict[str, Any]) -> None:
    socketio.emit("event", {"tavolo_id": tavolo_id, **message}, to=record.room(tavolo_id), namespace=NAMESPACE)


_handlers: list[tuple[str, Callable]] = []


def handles(event: str) -> Callable:
    """Collect a handler; ``init_app`` binds the collection to each app's Socket.IO server
    (binding at import time would tie handlers to whichever server existed then)."""

    def decorate(fn: Callable) -> Callable:
        _handlers.append((event, fn))
        return fn

    return decorate


def init_app(app) -> None:
    record.set_emitter(_emit_event)
    import workspace.needs.live  # noqa: F401  (fills _handlers on first import)
    import workspace.tavoli.live  # noqa: F401
    import workspace.voting.live  # noqa: F401

    for event, fn in _handlers:
        socketio.on_event(event, fn, namespace=NAMESPACE)
    socketio.on_error(NAMESPACE)(_on_handler_error)


def _on_handler_error(exc: Exception) -> dict[str, str]:
    """Whatever escapes a handler (e.g. a call with extra arguments, which never reaches the
    handler's own checks) still gets an error ack: the client is not left waiting for one."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        log.exception("rollback after a handler error failed")
    if isinstance(exc, TypeError):
        log.warning("malformed call on %s: %s", NAMESPACE, exc)
        return _error("invalid", _("Il messaggio non ha la forma prevista."))
    log.error("unhandled error on %s", NAMESPACE, exc_info=exc)
    return _error("internal", _("Errore interno: riprova fra poco."))


def _error(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator({"type": "object", "additionalProperties": False, **schema})


def _schema_message(error) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        return _("Manca un campo obbligatorio: %(f)s.", f=error.message.split("'")[1])
    if error.validator == "additionalProperties":
        return _("Campo non previsto nel messaggio.")
    if where:
        return _("Valore non valido per il campo «%(f)s».", f=where)
    return _("Il messaggio non ha la forma prevista.")


def snapshot(session, user, tavolo) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for part in _snapshot_parts:
        data.update(part(session, tavolo))
    return data


# --- connection ----------------------------------------------------------------------------------


def _refuse(code: str, message: str) -> ConnectionRefusedError:
    # python-socketio sends str() of the first argument as the error's message and the second as
    # its data: the client reads err.message (Italian) and err.data.error (the code). A dict as
    # first argument would reach the client as a Python repr.
    return ConnectionRefusedError(message, {"error": code})


@handles("connect")
def _connect(auth=None):
    if not current_user.is_authenticated:
        raise _refuse("unauthorized", _("Accesso richiesto."))
    token = auth.get("csrf_token") if isinstance(auth, dict) else None
    try:
        validate_csrf(token)
    except ValidationError:
        raise _refuse("csrf", _("Token di sicurezza mancante o non valido: ricarica la pagina.")) from None
    return True


@handles("disconnect")
def _disconnect(*_args):
    with _rooms_lock:
        tavoli = _rooms_by_sid.pop(request.sid, set())
        _sid_user.pop(request.sid, None)
    for tavolo_id in tavoli:
        _run_leave_hooks(tavolo_id)


def _run_leave_hooks(tavolo_id: int) -> None:
    session = db.session
    try:
        for hook in _leave_hooks:
            hook(session, current_user._get_current_object(), tavolo_id)
        session.commit()
    except Exception:  # noqa: BLE001 — a presence update must never break a disconnect
        session.rollback()
        log.exception("leave hook failed")


def connections_in(tavolo_id: int, user_id: int) -> int:
    """How many of this process's connections a user has open on a tavolo (tabs, devices)."""
    with _rooms_lock:
        return sum(1 for sid, rooms in _rooms_by_sid.items()
                   if tavolo_id in rooms and _sid_user.get(sid) == user_id)


JOIN_SCHEMA = _validator({
    "required": ["tavolo_id"],
    "properties": {"tavolo_id": ID, "last_seq": {"type": "integer", "minimum": 0},
                   "mode": {"enum": ["presenza", "remoto"]}, "presence": {"type": "boolean"}},
})


def _sync_reply(session, tavolo, last_seq: int | None) -> dict[str, Any]:
    if last_seq is not None:
        rep = record.replay(session, tavolo.id, last_seq)
        if not rep.too_far_behind:
            return {"ok": True, "mode": "replay", "events": rep.events, "last_seq": rep.last_seq}
    current = record.last_seq(session, tavolo.id)
    return {"ok": True, "mode": "snapshot", "snapshot": snapshot(session, current_user, tavolo), "last_seq": current}


@handles("join")
def _join(data=None):
    from workspace.tavoli import permissions
    from workspace.tavoli.service import get_tavolo

    if not isinstance(data, dict):
        return _error("invalid", _("Il messaggio non ha la forma prevista."))
    errors = sorted(JOIN_SCHEMA.iter_errors(data), key=lambda e: e.path)
    if errors:
        return _error("invalid", _schema_message(errors[0]))
    session = db.session
    try:
        tavolo = get_tavolo(session, data["tavolo_id"])
        permissions.require(session, current_user, "view", tavolo.id)
        join_room(record.room(tavolo.id))
        with _rooms_lock:
            _rooms_by_sid[request.sid].add(tavolo.id)
            _sid_user[request.sid] = current_user.id
        if data.get("presence", True):
            for hook in _join_hooks:
                hook(session, current_user._get_current_object(), tavolo.id, data.get("mode", "remoto"))
        session.commit()
        # Read after joining the room: an event committed meanwhile is either in this reply or
        # delivered to the room; the client drops events with seq <= the reply's last_seq.
        return _sync_reply(session, tavolo, data.get("last_seq"))
    except Problem as problem:
        session.rollback()
        return problem.as_ack()
    except Exception:  # noqa: BLE001
        session.rollback()
        log.exception("join failed")
        return _error("internal", _("Errore interno: riprova fra poco."))


@handles("resync")
def _resync(data=None):
    """Same as join without presence: the client saw a gap in sequence numbers."""
    if isinstance(data, dict):
        data = {**data, "presence": False}
    return _join(data)


LEAVE_SCHEMA = Draft202012Validator({"type": "object", "required": ["tavolo_id"], "properties": {"tavolo_id": ID}})


@handles("leave")
def _leave(data=None):
    # Same id rules as join: a bool (True == 1 in Python) or an out-of-range number must not
    # reach the rooms or the leave hooks.
    if not LEAVE_SCHEMA.is_valid(data):
        return _error("invalid", _("Il messaggio non ha la forma prevista."))
    tavolo_id = data["tavolo_id"]
    leave_room(record.room(tavolo_id))
    with _rooms_lock:
        _rooms_by_sid.get(request.sid, set()).discard(tavolo_id)
    _run_leave_hooks(tavolo_id)
    return {"ok": True}


# --- operations ----------------------------------------------------------------------------------


def operation(name: str, properties: dict[str, Any], required: tuple[str, ...] = ()):
    """Register a client write. The handler gets (session, user, data) and returns
    (event, result); this wrapper validates, applies once per op_id, commits and acknowledges."""
    validator = _validator({
        "required": ["op_id", "tavolo_id", *required],
        "properties": {"op_id": OP_ID, "tavolo_id": ID, **properties},
    })

    def decorate(fn: Callable):
        @wraps(fn)
        def handler(data=None):
            if not isinstance(data, dict):
                return _error("invalid", _("Il messaggio non ha la forma prevista."))
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
            if errors:
                return _error("invalid", _schema_message(errors[0]))
            if not current_user.is_authenticated:
                return _error("unauthorized", _("Accesso richiesto."))
            session = db.session
            tavolo_id, op_id = data["tavolo_id"], data["op_id"]
            try:
                # Only members learn whether an operation id was already applied on this tavolo.
                from workspace.tavoli import permissions
                from workspace.tavoli.service import get_tavolo

                get_tavolo(session, tavolo_id)
                permissions.require(session, current_user, "view", tavolo_id)
                done = record.find_operation(session, tavolo_id, op_id)
                if done is not None:
                    return _duplicate_ack(done)
                event, result = fn(session, current_user._get_current_object(), data)
                session.commit()
                return {"ok": True, "seq": event.seq, "result": result}
            except Problem as problem:
                session.rollback()
                return problem.as_ack()
            except IntegrityError:
                session.rollback()
                # Two deliveries of the same operation raced: the other one won.
                done = record.find_operation(session, tavolo_id, op_id)
                if done is not None:
                    return _duplicate_ack(done)
                log.exception("integrity error in %s", name)
                return _error("conflict", _("L'operazione è in conflitto con una modifica concorrente: riprova."))
            except Exception:  # noqa: BLE001 — one bad message never takes the server down
                session.rollback()
                log.exception("operation %s failed", name)
                return _error("internal", _("Errore interno: l'operazione non è stata registrata. Riprova."))

        _handlers.append((name, handler))
        return fn

    return decorate


def _duplicate_ack(event: record.TavoloEvent) -> dict[str, Any]:
    payload = event.payload or {}
    return {"ok": True, "seq": event.seq, "result": {"id": payload.get("id")}, "duplicate": True}

