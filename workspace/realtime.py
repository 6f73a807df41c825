"""The live channel: Socket.IO namespace ``/live``, one room per tavolo.

Authentication is the login session cookie plus the CSRF token in the handshake ``auth``.
Client writes are *operations*: a named event with a JSON payload carrying an ``op_id``; the
payload is validated against the operation's schema, the service runs in one transaction, and the
acknowledgement is ``{"ok": true, "seq": N, "result": {...}}`` or ``{"error": code, "message": ...}``.
An ``op_id`` already applied is acknowledged again without being applied twice, so a client can
retry from its outbox until it is acknowledged. docs/live-protocol.md describes the protocol.

This module knows no domain area. Areas declare their handlers with ``@operation`` (a write that
appends a numbered event) or ``@action`` (anything else: a read, or a write with no event such as a
ballot), and their ``register(app)`` binds them with ``bind(app, module)``. Which tavolo a person
may see is asked of the ``guard`` given to ``init_app``; snapshot parts and presence come from the
signals ``tavolo_snapshot``, ``tavolo_joined`` and ``tavolo_left`` (``workspace.signals``).
"""
from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import logging
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from types import ModuleType, SimpleNamespace
from typing import Any

from flask import copy_current_request_context, current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, leave_room
from flask_wtf.csrf import ValidationError, validate_csrf
from jsonschema import Draft202012Validator
from sqlalchemy.exc import IntegrityError, OperationalError

from workspace import connections, policy, ratelimit, record, signals
from workspace import text as typed_text
from workspace.db import db, reading
from workspace.extensions import Encoded, socketio
from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.serving import HANDSHAKE_DONE
from workspace.together import Together

NAMESPACE = "/live"
#: How long the Redis registry of a connection's login lives (longer connections: refused at their
#: next message after a logout, as without a registry).
REGISTRY_SECONDS = 2 * 24 * 3600
log = logging.getLogger(__name__)

OP_ID = {"type": "string", "minLength": 8, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
# Bounded to the database's integer columns: a larger number cannot name a row, and unbounded it
# overflows the driver (SQLite) and would come back as an internal error instead of a clear refusal.
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

#: ``guard(session, user, tavolo_id)`` raises a Problem unless the person may see the tavolo.
Guard = Callable[[Any, Any, int], None]
#: ``guard_together(session, [(user, tavolo_id), ...])``: the guard's verdict on many joins at once,
#: None (may enter) or the Problem refusing each.
GuardTogether = Callable[[Any, list[tuple[Any, int]]], list[Problem | None]]
#: ``require(session, user, action, tavolo_id)`` raises a Problem unless the person may do the tavolo
#: ``action`` (view / contribute / facilitate: workspace/policy.py TAVOLO_ROLES).
Require = Callable[[Any, Any, str, int], Any]
_EXT = "tavoli_live"


@dataclass
class _State:
    """Per-app live state: which tavoli each connection joined (to undo presence on disconnect),
    the handlers bound, and the coalesced pushes waiting to go out — with the Socket.IO server they
    go out through: the app's own, not whichever app set up the shared ``socketio`` object last
    (a push still waiting when its app goes away must not reach another app's rooms)."""

    guard: Guard
    guard_together: GuardTogether
    server: Any
    require: Require | None = None
    handlers: dict[str, Callable] = field(default_factory=dict)
    rooms_by_sid: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    sid_user: dict[str, int] = field(default_factory=dict)
    # sid -> (user id, the cookie id of its login): what logging out disconnects.
    sid_login: dict[str, tuple[int, str]] = field(default_factory=dict)
    # With a message queue (several processes): the sids of each login and person, in Redis, so
    # that a logout on one process closes the connections another process holds.
    logins: Any = None
    logins_prefix: str = "tavoli"
    lock: threading.Lock = field(default_factory=threading.Lock)
    latest: dict[Any, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    # key -> the number of the timer that will send its push (a timer outdated by flush_pushes sends nothing).
    scheduled: dict[Any, int] = field(default_factory=dict)
    timers: Iterator[int] = field(default_factory=itertools.count)
    # With several processes (REDIS_URL): every process's connections, for presence (§9).
    registry: connections.Registry | None = None
    heartbeat_started: bool = False


def _state(app=None) -> _State:
    return (app or current_app).extensions[_EXT]


# --- public helpers for handlers ------------------------------------------------------------------


def error(code: str, message: str) -> dict[str, str]:
    """An error acknowledgement."""
    return {"error": code, "message": message}


def validator(properties: dict[str, Any], required: tuple[str, ...] | list[str] = ()) -> Draft202012Validator:
    """A JSON-schema validator for a message object with exactly these properties."""
    return Draft202012Validator({"type": "object", "additionalProperties": False,
                                 "required": list(required), "properties": properties})


def schema_message(err) -> str:
    where = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "required":
        return _("Manca un campo obbligatorio: %(f)s.", f=err.message.split("'")[1])
    if err.validator == "additionalProperties":
        return _("Campo non previsto nel messaggio.")
    if where:
        return _("Valore non valido per il campo «%(f)s».", f=where)
    return _("Il messaggio non ha la forma prevista.")


def check(schema: Draft202012Validator, data: Any) -> dict[str, str] | None:
    """None when ``data`` fits ``schema``, else the error acknowledgement saying what is wrong."""
    if not isinstance(data, dict):
        return error("invalid", _("Il messaggio non ha la forma prevista."))
    # Text no person typed (NUL, control characters, lone surrogates) is refused here, for every
    # handler; accepted text continues in NFC (workspace/text.py, the same rule as HTML forms).
    problem = typed_text.find_problem(data)
    if problem is not None:
        return error("invalid", problem.message)
    errors = sorted(schema.iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if errors:
        return error("invalid", schema_message(errors[0]))
    for key, value in list(data.items()):
        data[key] = typed_text.normalise(value)
    return None


def connections_in(tavolo_id: int, user_id: int) -> int:
    """How many connections a user has open on a tavolo (tabs, devices): in every server process
    when they share Redis, else (or while Redis does not answer) in this process."""
    state = _state()
    if state.registry is not None:
        count = state.registry.count(tavolo_id, user_id)
        if count is not None:
            return count
    with state.lock:
        return sum(1 for sid, rooms in state.rooms_by_sid.items()
                   if tavolo_id in rooms and state.sid_user.get(sid) == user_id)


def evict(app, tavolo_id: int, user_id: int) -> int:
    """Take a person's connections out of a tavolo's room (they lost their role): no more events
    reach them, and their next join, resync or operation is refused by the guard. Only the
    connections of this process are known here; with several processes the others are refused
    at their next request. Call after commit, once the event telling them has been emitted.
    Returns how many connections left the room."""
    state = app.extensions.get(_EXT)
    if state is None:
        return 0
    with state.lock:
        sids = [sid for sid, rooms in state.rooms_by_sid.items()
                if tavolo_id in rooms and state.sid_user.get(sid) == user_id]
        for sid in sids:
            state.rooms_by_sid[sid].discard(tavolo_id)
    for sid in sids:
        state.server.leave_room(sid, record.room(tavolo_id), namespace=NAMESPACE)
        if state.registry is not None:
            state.registry.remove(tavolo_id, user_id, sid)
    return len(sids)


def _login_keys(state: _State, user_id: int, cookie_id: str | None) -> list[str]:
    """The Redis sets naming the sids of one login (``cookie_id``) and of the person."""
    keys = [f"{state.logins_prefix}:live:user:{user_id}"]
    if cookie_id is not None:
        digest = hashlib.sha256(cookie_id.encode()).hexdigest()[:32]
        keys.append(f"{state.logins_prefix}:live:login:{digest}")
    return keys


def _register(state: _State, sid: str, user_id: int, cookie_id: str, add: bool) -> None:
    if state.logins is None:
        return
    try:
        pipe = state.logins.pipeline(transaction=False)
        for key in _login_keys(state, user_id, cookie_id):
            if add:
                pipe.sadd(key, sid).expire(key, REGISTRY_SECONDS)
            else:
                pipe.srem(key, sid)
        pipe.execute()
    except Exception:  # noqa: BLE001 — without the registry, other processes refuse at the next message
        log.warning("live login registry unavailable", exc_info=True)


def disconnect_logins(app, user_id: int, cookie_id: str | None = None) -> int:
    """Disconnect the live connections of one login (``cookie_id``, the id its cookies carry) or,
    with None, of every login of the person: called once a logout is committed. This process's
    connections are closed now; with a message queue, those of the other processes too (their
    sids are in Redis: the disconnect goes through the queue). Any connection left over is refused
    at its next message (its login no longer loads) and closed then. Returns how many sids were
    told to close."""
    state = app.extensions.get(_EXT)
    if state is None:
        return 0
    with state.lock:
        sids = {sid for sid, (uid, cid) in state.sid_login.items()
                if uid == user_id and (cookie_id is None or cid == cookie_id)}
    if state.logins is not None:
        try:
            key = _login_keys(state, user_id, cookie_id)[-1]
            sids |= {m.decode() if isinstance(m, bytes) else m for m in state.logins.smembers(key)}
        except Exception:  # noqa: BLE001
            log.warning("live login registry unavailable", exc_info=True)
    for sid in sids:
        try:
            state.server.disconnect(sid, namespace=NAMESPACE)
        except Exception:  # noqa: BLE001 — already gone
            log.warning("disconnecting %s failed", sid, exc_info=True)
    return len(sids)


def _authenticated() -> bool:
    """Whether this connection's login is still open."""
    return bool(_current_person().is_authenticated)


def _current_person() -> Any:
    """The person of this connection (``current_user``). The user loader keeps live logins between
    messages while no login can have ended (workspace/accounts/epoch.py); when it must read the
    database, it only reads: on SQLite it never takes the write lock (a join storm must not queue
    behind writers)."""
    with reading():
        try:
            return current_user._get_current_object()
        finally:
            db.session.commit()


def _unauthorized() -> dict[str, str]:
    """A message from a connection whose login has ended (logout, password change, account
    switched off): closed, and told why."""
    try:
        disconnect()
    except Exception:  # noqa: BLE001
        log.warning("disconnect after an ended login failed", exc_info=True)
    return error("unauthorized", _("Accesso richiesto."))


def snapshot(session, tavolo_id: int) -> dict[str, Any]:
    """The state of a tavolo a joining client starts from, gathered from every area."""
    return {**content_snapshot(session, tavolo_id), **fresh_snapshot(session, tavolo_id)}


def content_snapshot(session, tavolo_id: int) -> dict[str, Any]:
    """The parts of the snapshot that only numbered events other than presence change."""
    return signals.collect(signals.tavolo_snapshot, session, tavolo_id=tavolo_id)


def fresh_snapshot(session, tavolo_id: int, register: bool = True) -> dict[str, Any]:
    """The parts rebuilt for every join (seduta, quorum and, with ``register``, the presences): cheap,
    and changed by joins."""
    return signals.collect(signals.tavolo_snapshot_fresh, session, tavolo_id=tavolo_id, register=register)


#: A snapshot is shared by every client joining at the same seq for at most this many seconds (parts
#: such as a vote's turnout change without a numbered event: they are pushed, and age out of here).
SNAPSHOT_TTL = 2.0
_SNAPSHOTS_KEPT = 128


@dataclass
class _Built:
    ready: threading.Event = field(default_factory=threading.Event)
    value: dict[str, Any] | None = None
    at: float = 0.0


_snapshots: OrderedDict[tuple[Any, ...], _Built] = OrderedDict()
_snapshots_lock = threading.Lock()


def shared_snapshot(session, tavolo_id: int, seq: int, register: bool = True) -> Encoded:
    """The snapshot at ``seq``, as JSON text (its content parts as built at the latest content event,
    see ``catch_up_snapshot`` for the cheaper form a join gets)."""
    content = record.content_seq(session, tavolo_id, seq)
    return _with_fresh(session, tavolo_id, seq, _content_part(session, tavolo_id, content), register)


#: A join may get the content parts as they were built a little earlier (at most ``SNAPSHOT_TTL``
#: seconds) with the contributions made since then, at most this many: the client applies them as it
#: applies any event. Without it every contribution written during a join storm made the next join
#: rebuild the content (about 30 ms of the server's only CPU on a tavolo with 5,000 annotations).
CATCH_UP_LIMIT = 100
_latest_content: dict[tuple[Any, ...], tuple[int, str | None]] = {}


def catch_up_snapshot(session, tavolo_id: int, seq: int, register: bool = True) -> tuple[Encoded, Encoded]:
    """What a client joining at ``seq`` starts from: a snapshot whose content parts may stand at an
    earlier event, and the contributions (``CONTENT_ONLY_KINDS``) committed since, which applied in
    order give the state at ``seq``. The fresh parts (seduta, presences, quorum) are at ``seq``:
    contributions never change them, and presences are not repeated."""
    key = _tavolo_key(session, tavolo_id)
    built = _latest_content.get(key)
    if built is not None:
        base, base_stamp = built
        # Reusable only if nothing but presences and contributions came after it.
        structural = record.latest_except(session, tavolo_id, seq, record.PRESENCE_KINDS + CONTENT_ONLY_KINDS)
        content = _cached(key, base, base_stamp, ("snapshot",)) if structural <= base <= seq else None
        found = record.catch_up(session, tavolo_id, base, seq, CONTENT_ONLY_KINDS, CATCH_UP_LIMIT) \
            if content is not None else None
        if found is not None and found[0] == base_stamp:
            assert content is not None
            return _with_fresh(session, tavolo_id, seq, content, register), _encoded(found[1])
    return shared_snapshot(session, tavolo_id, seq, register), Encoded("[]")


def _content_part(session, tavolo_id: int, content: int) -> Encoded:
    at = record.stamp(session, tavolo_id, content)
    part = shared(session, tavolo_id, content, ("snapshot",), lambda: _encoded(content_snapshot(session, tavolo_id)),
                  stamp=at)
    if len(_latest_content) > _SNAPSHOTS_KEPT:
        _latest_content.clear()
    _latest_content[_tavolo_key(session, tavolo_id)] = (content, at)
    return part


def _with_fresh(session, tavolo_id: int, seq: int, content: Encoded, register: bool) -> Encoded:
    fresh_at = record.latest_except(session, tavolo_id, seq, CONTENT_ONLY_KINDS)
    fresh = shared(session, tavolo_id, fresh_at, ("fresh", register),
                   lambda: _encoded(fresh_snapshot(session, tavolo_id, register)))
    # Both parts are kept as JSON text, not as dicts: thousands of small objects per cached
    # snapshot kept the garbage collector busy (full passes of ~100 ms in join storms); text is
    # not scanned, and the two JSON objects (no key in common) join into one without decoding.
    return Encoded(_join_objects(content.text, fresh.text))


def _encoded(value: Any) -> Encoded:
    return Encoded(json.dumps(value, separators=(",", ":")))


def _join_objects(a: str, b: str) -> str:
    inner = [text[1:-1] for text in (a, b) if text[1:-1]]
    return "{" + ",".join(inner) + "}"


#: Events that change only what ``content_snapshot`` holds (bisogni, annotations), never the fresh
#: parts (tavolo, seduta, presences, quorum): contributions written during a join storm leave the
#: fresh parts built for the storm's presences in use instead of having them rebuilt at every write.
#: Only kinds whose services touch nothing else belong here (a merge may move the spotlight: not here).
CONTENT_ONLY_KINDS = ("bisogno.created", "bisogno.updated", "bisogno.status", "annotation.created",
                      "annotation.deleted", "annotation.supported")


def shared(session, tavolo_id: int, seq: int, part: tuple[Any, ...], build: Callable[[], Any],
           stamp: str | None = None) -> Any:
    """What ``build`` makes of the tavolo at ``seq`` (a snapshot, a page), built once while it is
    fresh: the clients asking at the same time wait for the one building it. Treat it as read-only.
    ``stamp``: ``record.stamp`` of ``seq`` when the caller has it already."""
    # The time of the event ``seq`` too: a number alone comes back after a rollback (tests do that).
    if stamp is None:
        stamp = record.stamp(session, tavolo_id, seq)
    key = (*_tavolo_key(session, tavolo_id), seq, stamp, *part)
    now = time.monotonic()
    with _snapshots_lock:
        built = _snapshots.get(key)
        builder = built is None or (built.ready.is_set() and (built.value is None or now - built.at > SNAPSHOT_TTL))
        if builder:
            built = _snapshots[key] = _Built()
            while len(_snapshots) > _SNAPSHOTS_KEPT:
                _snapshots.popitem(last=False)
    assert built is not None
    if not builder:
        built.ready.wait(30)
        if built.value is not None:
            return built.value
        return build()
    try:
        built.value = build()
        built.at = time.monotonic()
        return built.value
    finally:
        built.ready.set()


def _tavolo_key(session, tavolo_id: int) -> tuple[Any, ...]:
    return (id(current_app._get_current_object()), str(session.get_bind().engine.url), tavolo_id)  # type: ignore[attr-defined]


def _cached(tavolo_key: tuple[Any, ...], seq: int, stamp: str | None, part: tuple[Any, ...]) -> Any:
    """What ``shared`` holds for the tavolo at ``seq`` while it is fresh, else None (nothing built)."""
    with _snapshots_lock:
        built = _snapshots.get((*tavolo_key, seq, stamp, *part))
    if built is None or not built.ready.is_set() or built.value is None:
        return None
    return built.value if time.monotonic() - built.at <= SNAPSHOT_TTL else None


def emit_event(tavolo_id: int, message: dict[str, Any]) -> None:
    payload = {"tavolo_id": tavolo_id, **message}
    outbox.put(lambda: socketio.emit("event", payload, to=record.room(tavolo_id), namespace=NAMESPACE))


def emit_events(tavolo_id: int, messages: list[dict[str, Any]]) -> None:
    """Consecutive events of one tavolo in one message (``events``, docs/live-protocol.md §4)."""
    payload = {"tavolo_id": tavolo_id, "events": messages}
    outbox.put(lambda: socketio.emit("events", payload, to=record.room(tavolo_id), namespace=NAMESPACE))


class Outbox:
    """The room deliveries of committed events, made in commit order right after the handler that
    committed them has answered its writer.

    Under gevent an emit to a room of n connections wakes n senders, and the writer's own
    acknowledgement, queued after them, waited for all n: ~45 ms with 300 in the room (measured: the
    facilitator's every action, in a plenary). In the served process the deliveries are handed to one
    greenlet instead, which runs once the handler has returned: the acknowledgement goes out first and
    the room gets the event one turn of the loop later, in the same order. In threading mode (tests,
    scripts) a delivery is made at once: there is no queue of senders to overtake. What must follow a
    delivery (taking someone out of a room after the event that says so) goes through ``put`` too."""

    def __init__(self, spawn: Callable[[Callable[[], None]], Any], deferred: Callable[[], bool]) -> None:
        self.spawn, self.deferred = spawn, deferred
        self.items: deque[Callable[[], None]] = deque()
        self.draining = False
        self.lock = threading.Lock()

    def put(self, delivery: Callable[[], None]) -> None:
        if not self.deferred():
            _deliver_safely(delivery)
            return
        with self.lock:
            self.items.append(delivery)
            if self.draining:
                return
            self.draining = True
        self.spawn(self.drain)

    def drain(self) -> None:
        while True:
            with self.lock:
                if not self.items:
                    self.draining = False
                    return
                delivery = self.items.popleft()
            _deliver_safely(delivery)


def _deliver_safely(delivery: Callable[[], None]) -> None:
    try:
        delivery()
    except Exception:  # noqa: BLE001 — the change is committed; clients repair a lost push by resync
        log.exception("delivery failed")


outbox = Outbox(socketio.start_background_task, lambda: socketio.async_mode == "gevent")


def push_latest(app, key: Any, tavolo_id: int, name: str, payload: dict[str, Any], revision: int,
                interval: float) -> None:
    """Push derived state (``name``, ``payload``) to a tavolo's room at most once per ``interval``
    seconds per ``key``, always the newest (highest ``revision``). For state a snapshot gives
    again (turnout, tallies), not for numbered events, which are never coalesced."""
    state = _state(app)
    with state.lock:
        current = state.latest.get(key)
        if current is None or revision >= current[1]:
            state.latest[key] = (name, revision, {**payload, "tavolo_id": tavolo_id})
        if key in state.scheduled:
            return
        timer = state.scheduled[key] = next(state.timers)
    socketio.start_background_task(_push_later, state, key, timer, interval)


def flush_pushes(app) -> int:
    """Send now every push of ``app`` still waiting for its interval (their timers then send
    nothing); the number sent. For a clean cut — e.g. a test that must not leave a push behind for
    the next one, or one that checks what was (not) pushed without waiting."""
    state = _state(app)
    with state.lock:
        pending = list(state.latest.values())
        state.latest.clear()
        state.scheduled.clear()
    for name, _revision, payload in pending:
        _send(state, name, payload)
    return len(pending)


def _push_later(state: _State, key: Any, timer: int, interval: float) -> None:
    socketio.sleep(interval)
    with state.lock:
        if state.scheduled.get(key) != timer:
            return
        del state.scheduled[key]
        latest = state.latest.pop(key, None)
    if latest is not None:
        _send(state, latest[0], latest[2])


def _send(state: _State, name: str, payload: dict[str, Any]) -> None:
    try:
        state.server.emit(name, payload, to=record.room(payload["tavolo_id"]), namespace=NAMESPACE)
    except Exception:  # noqa: BLE001 — a lost push is repaired by the next one or a resync
        log.exception("%s push failed", name)


# --- declaring and binding handlers ---------------------------------------------------------------


def throttled(user) -> dict[str, Any] | None:
    """The refusal for a person who sent too many operations in the window (all processes), or None."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limiter = ratelimit.get_write_limiter(app)
    retry_after = limiter.take(f"live:user:{user.id}")
    if not retry_after:
        return None
    return {**error("too_many", _("Troppe operazioni in poco tempo: riprova fra %(n)d secondi.", n=retry_after)),
            "retry_after": retry_after}


def _mark(fn: Callable, event: str, handler: Callable) -> Callable:
    fn.live_handler = (event, handler)  # type: ignore[attr-defined]
    return fn


def operation(name: str, properties: dict[str, Any], required: tuple[str, ...] = ()):
    """Declare a client write that appends a numbered event. The function gets
    (session, user, data) and returns (event, result); the handler validates, checks the person
    may see the tavolo, applies once per op_id, commits and acknowledges."""
    schema = validator({"op_id": OP_ID, "tavolo_id": ID, **properties}, ["op_id", "tavolo_id", *required])

    def decorate(fn: Callable):
        @wraps(fn)
        def handler(data=None):
            refusal = check(schema, data)
            if refusal is not None:
                return refusal
            user = _current_person()
            if not user.is_authenticated:
                return _unauthorized()
            session = db.session
            tavolo_id, op_id = data["tavolo_id"], data["op_id"]
            refusal = throttled(user)
            if refusal is not None:
                return refusal
            try:
                # Only people who may see the tavolo learn whether an operation id was applied there;
                # and only those the policy lets do this operation are told it was (a duplicate of
                # their own same operation): the permission comes first.
                _state().guard(session, user, tavolo_id)
                _permit(session, user, name, tavolo_id)
                done = record.find_operation(session, tavolo_id, op_id)
                if done is not None:
                    return _duplicate_ack(done, user, name)
                session.info[record.OPERATION_KEY] = name
                try:
                    event, result = fn(session, user, data)
                finally:
                    session.info.pop(record.OPERATION_KEY, None)
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
                    return _duplicate_ack(done, user, name)
                log.exception("integrity error in %s", name)
                return error("conflict", _("L'operazione è in conflitto con una modifica concorrente: riprova."))
            except Exception:  # noqa: BLE001 — one bad message never takes the server down
                session.rollback()
                log.exception("operation %s failed", name)
                return error("internal", _("Errore interno: l'operazione non è stata registrata. Riprova."))

        return _mark(fn, name, handler)

    return decorate


def action(name: str, properties: dict[str, Any], required: tuple[str, ...] = (), *, writes: bool = False,
           attempts: int = 1):
    """Declare a handler that appends no numbered event: a read (``writes=False``: rolled back) or
    a write with no event (``writes=True``: committed), e.g. a ballot. The function gets
    (session, user, data) and returns the ``result`` of the ack (a dict, or a full ack with "ok").
    A write that loses a race (unique constraint, lock timeout) is run again up to ``attempts``
    times: the function must be idempotent (by op_id) so the retry sees the first outcome."""
    schema = validator(properties, required)

    def decorate(fn: Callable):
        @wraps(fn)
        def handler(data=None):
            refusal = check(schema, data)
            if refusal is not None:
                return refusal
            session = db.session
            user = _current_person()
            if not user.is_authenticated:
                return _unauthorized()
            if writes and (refusal := throttled(user)) is not None:
                return refusal
            for attempt in range(attempts):
                try:
                    with reading() if not writes else _nothing():
                        result = fn(session, user, data)
                    session.commit() if writes else session.rollback()
                    return result if isinstance(result, dict) and "ok" in result else {"ok": True, "result": result}
                except Problem as problem:
                    session.rollback()
                    return problem.as_ack()
                except (IntegrityError, OperationalError):
                    session.rollback()
                    if attempt == attempts - 1:
                        log.exception("%s kept conflicting", name)
                except Exception:  # noqa: BLE001 — one bad message never takes the server down
                    session.rollback()
                    log.exception("%s failed", name)
                    return error("internal", _("Errore interno: l'operazione non è stata registrata. Riprova."))
            return error("conflict", _("L'operazione è in conflitto con un invio concorrente: riprova."))

        return _mark(fn, name, handler)

    return decorate


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def bind(app, module: ModuleType) -> list[str]:
    """Bind every handler declared in ``module`` to the app's Socket.IO server; the event names."""
    state = _state(app)
    names = []
    for value in list(vars(module).values()):
        # Only the module's own functions (a proxy such as current_app must not be touched).
        if not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        spec = getattr(value, "live_handler", None)
        if spec is None:
            continue
        event, handler = spec
        socketio.on_event(event, handler, namespace=NAMESPACE)
        state.handlers[event] = handler
        names.append(event)
    return names


def handlers(app) -> dict[str, Callable]:
    """The events bound on ``app`` (for tests and the protocol document)."""
    return dict(_state(app).handlers)


def init_app(app, guard: Guard, guard_together: GuardTogether, require: Require | None = None) -> None:
    """Set up the live channel of ``app``; ``guard`` says who may see a tavolo (an operation asks it),
    ``guard_together`` the same for a batch of joins. Called after
    ``socketio.init_app(app)``: the server that made is the one the app's pushes go out through."""
    url = app.config.get("REDIS_URL")
    app.extensions[_EXT] = _State(guard=guard, guard_together=guard_together, server=socketio.server, require=require,
                                  registry=connections.Registry(url) if url else None)
    if url:
        import redis

        app.extensions[_EXT].logins = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        app.extensions[_EXT].logins_prefix = app.config.get("SOCKETIO_CHANNEL") or "tavoli"
    record.set_emitter(emit_event, emit_events)
    for event, fn in (("connect", _connect), ("disconnect", _disconnect), ("join", _join),
                      ("resync", _resync), ("leave", _leave)):
        socketio.on_event(event, fn, namespace=NAMESPACE)
        app.extensions[_EXT].handlers[event] = fn
    socketio.on_event("*", _unknown_event, namespace=NAMESPACE)
    socketio.on_error(NAMESPACE)(_on_handler_error)
    socketio.on_error_default(_on_handler_error)


def _on_handler_error(exc: Exception) -> dict[str, str]:
    """Whatever escapes a handler (e.g. a call with extra arguments, which never reaches the
    handler's own checks) still gets an error ack: the client is not left waiting for one."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        log.exception("rollback after a handler error failed")
    if isinstance(exc, TypeError):
        log.warning("malformed call on %s: %s", NAMESPACE, exc)
        return error("invalid", _("Il messaggio non ha la forma prevista."))
    log.error("unhandled error on %s", NAMESPACE, exc_info=exc)
    return error("internal", _("Errore interno: riprova fra poco."))


def _permit(session, user, event: str, tavolo_id: int) -> None:
    """The declared policy (workspace/policy.py): the tavolo action the event needs, asked of the
    ``require`` given to ``init_app``. An event with no policy row is refused."""
    action = policy.event_action(event)
    if action is None:
        log.error("event %s has no row in workspace/policy.py EVENTS: refused", event)
        raise Problem("forbidden", _("Operazione non prevista dalle regole di accesso."), 403)
    require = _state().require
    if action and require is not None:
        require(session, user, action, tavolo_id)


def _duplicate_ack(event: record.TavoloEvent, user, name: str) -> dict[str, Any]:
    """A retry of the same person's same operation is acknowledged again; an op_id that someone
    else (or another operation) used is refused, never acknowledged as a success."""
    if event.actor_id != getattr(user, "id", None) or event.operation != name:
        return error("conflict", _("Questo identificativo di operazione è già stato usato per un'altra "
                                   "operazione: ricarica la pagina e riprova."))
    payload = event.payload or {}
    return {"ok": True, "seq": event.seq, "result": {"id": payload.get("id")}, "duplicate": True}


def _unknown_event(event: str, *_args: Any) -> dict[str, str]:
    """An event no handler is bound to: the client gets an answer instead of waiting forever."""
    log.warning("unknown event on %s: %.60r", NAMESPACE, event)
    return error("invalid", _("Evento sconosciuto: il messaggio non è stato registrato."))


# --- connection ----------------------------------------------------------------------------------


def _refuse(code: str, message: str) -> ConnectionRefusedError:
    # python-socketio sends str() of the first argument as the error's message and the second as
    # its data: the client reads err.message (Italian) and err.data.error (the code). A dict as
    # first argument would reach the client as a Python repr.
    return ConnectionRefusedError(message, {"error": code})


def _connect(auth=None):
    try:
        return _connecting(auth)
    finally:
        # Accepted or refused, this connection's handshake is over: the next one may start.
        done = request.environ.get(HANDSHAKE_DONE)
        if done is not None:
            done()


def _connecting(auth):
    # The handshake only reads (the user, from the session cookie): no write lock on SQLite.
    if not _current_person().is_authenticated:
        raise _refuse("unauthorized", _("Accesso richiesto."))
    token = auth.get("csrf_token") if isinstance(auth, dict) else None
    try:
        validate_csrf(token)
    except ValidationError:
        raise _refuse("csrf", _("Token di sicurezza mancante o non valido: ricarica la pagina.")) from None
    state = _state()
    with state.lock:
        state.sid_login[request.sid] = (current_user.id, current_user.get_id())
    _register(state, request.sid, current_user.id, current_user.get_id(), add=True)
    return True


def _disconnect(*_args):
    state = _state()
    with state.lock:
        tavoli = state.rooms_by_sid.pop(request.sid, set())
        user_id = state.sid_user.pop(request.sid, None)
        login = state.sid_login.pop(request.sid, None)
    if login is not None:
        _register(state, request.sid, login[0], login[1], add=False)
        user_id = user_id if user_id is not None else login[0]
    if not tavoli:
        return
    if state.registry is not None and user_id is not None:
        # Out of the shared count before presence asks "was it the last connection?" (§9).
        for tavolo_id in tavoli:
            state.registry.remove(tavolo_id, user_id, request.sid)
    if db.session.info.get(record.BROADCASTING):
        # Disconnected while an event was being sent to it, from inside another handler's commit: the
        # presence is updated in a task of its own (with this connection's request context), not
        # through the session that is still committing.
        socketio.start_background_task(copy_current_request_context(_left_all), tavoli, user_id)
        return
    _left_all(tavoli, user_id)


def _left_all(tavoli: set[int], user_id: int | None) -> None:
    user: Any = _current_person()
    if not getattr(user, "is_authenticated", False) and user_id is not None:
        # The login ended (logout) before the connection closed: the person still left, by id.
        user = SimpleNamespace(id=user_id, is_authenticated=True)
    if not getattr(user, "is_authenticated", False):
        return
    together = departures()
    for tavolo_id in tavoli:
        together.add(_Departure(user, tavolo_id))  # with whoever else is leaving right now


def _left(tavolo_id: int, user: Any) -> None:
    """One departure on its own: its own transaction, and a failure only logged (a presence update
    must never break a disconnect)."""
    session = db.session
    try:
        signals.tavolo_left.send(session, user=user, tavolo_id=tavolo_id)
        session.commit()
    except Exception:  # noqa: BLE001
        session.rollback()
        log.exception("leaving tavolo %s failed", tavolo_id)


# --- departures together ---------------------------------------------------------------------------

#: Departures handled together at most. The end of a seduta, or the hall's network dropping, closes
#: hundreds of connections at once: each ended presence is a write and an event pushed to everyone
#: still in the room (n² pushes one by one). Together they are one transaction and one message per
#: batch.
_DEPARTURES = "tavoli_live_departures"


@dataclass(eq=False)
class _Departure:
    user: Any  # the person, or a stand-in with their id (the login ended before the connection)
    tavolo_id: int


def departures(app=None) -> Together[_Departure]:
    """The app's departures waiting to be handled together."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions.setdefault(_DEPARTURES, Together(_handle_departures, PRESENCE_BATCH,
                                                           lambda: socketio.sleep(0)))


def _handle_departures(batch: list[_Departure]) -> None:
    session = db.session  # the leader's
    try:
        with record.batched(session):
            signals.tavolo_left_together.send(session, departures=batch)
            session.commit()
    except Exception:  # noqa: BLE001 — a lost race, a lock timeout: one by one, each on its own
        session.rollback()
        log.warning("a batch of %d departures failed; recording them one by one", len(batch), exc_info=True)
        for departure in batch:
            _left(departure.tavolo_id, departure.user)


JOIN_SCHEMA = validator({"tavolo_id": ID, "last_seq": {"type": "integer", "minimum": 0},
                         "mode": {"enum": ["presenza", "remoto"]}, "presence": {"type": "boolean"},
                         "register": {"type": "boolean"}},
                        ["tavolo_id"])


def _sync_reply(session, tavolo_id: int, last_seq: int | None, register: bool = False) -> dict[str, Any]:
    if last_seq is not None:
        rep = record.replay(session, tavolo_id, last_seq)
        if not rep.too_far_behind:
            return {"ok": True, "mode": "replay", "events": rep.events, "last_seq": rep.last_seq}
    current, at = record.head(session, tavolo_id)
    # Encoded once per seq for every client joining at that point (LivePacket splices it in).
    encoded, events = shared(session, tavolo_id, current, ("encoded", register),
                             lambda: catch_up_snapshot(session, tavolo_id, current, register), stamp=at)
    return {"ok": True, "mode": "snapshot", "snapshot": encoded, "events": events, "last_seq": current}


def _join(data=None):
    refusal = check(JOIN_SCHEMA, data)
    if refusal is not None:
        return refusal
    if not _authenticated():
        return _unauthorized()
    session = db.session
    me = _Arrival(current_user._get_current_object(), data["tavolo_id"], data.get("mode", "remoto"),
                  sid=request.sid, presence=data.get("presence", True), last_seq=data.get("last_seq"),
                  register=data.get("register", False))
    try:
        arrivals().add(me)  # handled together with whoever else is joining right now (_join_together)
    except Exception:  # noqa: BLE001
        session.rollback()
        log.exception("join failed")
        return error("internal", _("Errore interno: riprova fra poco."))
    if isinstance(me.error, Problem):
        return me.error.as_ack()
    if me.error is not None or me.reply is None:
        return error("internal", _("Errore interno: riprova fra poco."))
    return me.reply


# --- joins together: group commit -----------------------------------------------------------------

#: Joins handled together at most. A join storm (a seduta starts, a server restarts: hundreds of
#: clients at once) is served in a few batches, not join by join: one read transaction says who may
#: enter, one write transaction records the presences, one read builds the replies — instead of three
#: transactions and a dozen queries per join. Between the steps the batch lets other work in (a
#: facilitator writing meanwhile waits for one step, not for the whole storm).
PRESENCE_BATCH = 100
_ARRIVALS = "tavoli_live_arrivals"


@dataclass(eq=False)
class _Arrival:
    """One join waiting for its batch; its outcome is ``error`` or ``reply``. ``sid`` None: a
    presence only (no room, no reply)."""

    user: Any
    tavolo_id: int
    mode: str = "remoto"
    sid: str | None = None
    presence: bool = True
    last_seq: int | None = None
    register: bool = False
    error: BaseException | None = None
    reply: dict[str, Any] | None = None


def arrivals(app=None) -> Together[_Arrival]:
    """The app's joins waiting to be handled together."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions.setdefault(_ARRIVALS, Together(_handle_arrivals, PRESENCE_BATCH, lambda: socketio.sleep(0)))


def _handle_arrivals(batch: list[_Arrival]) -> None:
    session = db.session  # the leader's
    try:
        _join_together(session, batch)
    except Exception as exc:  # noqa: BLE001 — each joiner answers "internal"; logged once here
        session.rollback()
        log.exception("a batch of %d joins failed", len(batch))
        for arrival in batch:
            if arrival.reply is None:
                arrival.error = arrival.error or exc


def _join_together(session, batch: list[_Arrival]) -> None:
    """Who may enter (the guard), the rooms, the presences and the replies of a batch of joins."""
    state = _state()
    with reading():
        _admit(session, state, batch)
        session.commit()
    admitted = [a for a in batch if a.error is None]
    for arrival in admitted:
        if arrival.sid is not None:
            _enter(state, arrival)
    arriving = [a for a in admitted if a.presence]
    if arriving:
        socketio.sleep(0)
        _write_arrivals(session, arriving)
    answering = [a for a in admitted if a.sid is not None and a.error is None]
    if not answering:
        return
    socketio.sleep(0)
    # Read after entering the rooms: an event committed meanwhile is either in this reply or
    # delivered to the room; the client drops events with seq <= the reply's last_seq.
    with reading():
        replies: dict[tuple[int, int | None, bool], dict[str, Any]] = {}
        for arrival in answering:
            key = (arrival.tavolo_id, arrival.last_seq, arrival.register)
            if key not in replies:
                replies[key] = _sync_reply(session, arrival.tavolo_id, arrival.last_seq, arrival.register)
            arrival.reply = replies[key]
        session.commit()


def _admit(session, state: _State, batch: list[_Arrival]) -> None:
    """The guard's verdict on each arrival, asked for the whole batch at once."""
    verdicts = state.guard_together(session, [(a.user, a.tavolo_id) for a in batch])
    for arrival, problem in zip(batch, verdicts, strict=True):
        arrival.error = problem


def _enter(state: _State, arrival: _Arrival) -> None:
    """The connection enters the tavolo's room: from now on it receives its events."""
    assert arrival.sid is not None
    state.server.enter_room(arrival.sid, record.room(arrival.tavolo_id), namespace=NAMESPACE)
    with state.lock:
        state.rooms_by_sid[arrival.sid].add(arrival.tavolo_id)
        state.sid_user[arrival.sid] = arrival.user.id
    if state.registry is not None:
        _start_heartbeat(state)
        state.registry.add(arrival.tavolo_id, arrival.user.id, arrival.sid)


def _write_arrivals(session, batch: list[_Arrival]) -> None:
    """One transaction for the batch's presences (``signals.tavolo_joined_together``: a refusal is
    that arrival's error, the others are recorded); if that transaction fails, each on its own."""
    if len(batch) == 1:
        arrival = batch[0]
        try:
            signals.tavolo_joined.send(session, user=arrival.user, tavolo_id=arrival.tavolo_id, mode=arrival.mode)
            session.commit()
        except Exception as exc:  # noqa: BLE001 — the joiner's own outcome
            session.rollback()
            arrival.error = exc
        return
    try:
        # The receivers write the batch together (a few queries for all, not a dozen each) and set the
        # error of each arrival they refuse; one message per batch reaches each client, not one per
        # presence.
        with record.batched(session):
            signals.tavolo_joined_together.send(session, arrivals=batch)
            session.commit()
    except Exception:  # noqa: BLE001 — a lost race, a lock timeout: one by one shows which
        session.rollback()
        log.warning("a batch of %d presences failed; recording them one by one", len(batch), exc_info=True)
        for arrival in batch:
            arrival.error = None
            _write_arrivals(session, [arrival])


def _start_heartbeat(state: _State) -> None:
    """The process's heartbeat in the registry, started with its first join (not by CLI commands)."""
    if state.heartbeat_started or state.registry is None:
        return
    with state.lock:
        if state.heartbeat_started:
            return
        state.heartbeat_started = True
    state.registry.heartbeat()
    socketio.start_background_task(connections.heartbeat_forever, state.registry, socketio.sleep)


def _resync(data=None):
    """Same as join without presence: the client saw a gap in sequence numbers."""
    if isinstance(data, dict):
        data = {**data, "presence": False}
    return _join(data)


LEAVE_SCHEMA = Draft202012Validator({"type": "object", "required": ["tavolo_id"], "properties": {"tavolo_id": ID}})


def _leave(data=None):
    # Same id rules as join: a bool (True == 1 in Python) or an out-of-range number must not
    # reach the rooms or the presence receivers.
    if not LEAVE_SCHEMA.is_valid(data):
        return error("invalid", _("Il messaggio non ha la forma prevista."))
    tavolo_id = data["tavolo_id"]
    state = _state()
    leave_room(record.room(tavolo_id))
    with state.lock:
        state.rooms_by_sid.get(request.sid, set()).discard(tavolo_id)
        user_id = state.sid_user.get(request.sid)
    if state.registry is not None and user_id is not None:
        state.registry.remove(tavolo_id, user_id, request.sid)
    _left_all({tavolo_id}, user_id)
    return {"ok": True}
