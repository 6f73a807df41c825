"""The numbered event record of a tavolo: append in the writer's transaction, broadcast after
commit, replay to clients that reconnect.

Every change to a tavolo goes through ``append``. The per-tavolo counter is bumped with one
atomic UPDATE ... RETURNING in the same transaction as the change itself, so sequence numbers
have no gaps and no duplicates on SQLite and PostgreSQL alike, and an event exists if and only if
its change was committed. Clients apply events in ``seq`` order; a gap tells them to resync.

This module knows no domain module: payloads are plain JSON built by the services.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, bindparam, event, select, update
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from workspace import signals
from workspace.db import Base, UTCDateTime, utcnow

log = logging.getLogger(__name__)

#: ``session.info`` key under which ``realtime.operation`` names the operation running.
OPERATION_KEY = "tavoli_live_operation"

# Past this many missed events a reconnecting client gets a fresh snapshot instead of a replay.
REPLAY_LIMIT = 500


class RecordStream(Base):
    """The last sequence number used by each tavolo."""

    __tablename__ = "record_stream"

    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class TavoloEvent(Base):
    __tablename__ = "tavolo_event"
    __table_args__ = (
        UniqueConstraint("tavolo_id", "seq"),
        # A client operation id is applied at most once, whatever the retries.
        UniqueConstraint("tavolo_id", "op_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    op_id: Mapped[str | None] = mapped_column(String(64))
    # The live operation (``realtime.operation`` name) that made the event, when one did: a retried
    # op_id is a duplicate only of the same person's same operation.
    operation: Mapped[str | None] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def as_message(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "payload": self.payload,
            "actor_id": self.actor_id,
            "at": self.at.isoformat(),
        }


# --- after commit ---------------------------------------------------------------------------

_AFTER_COMMIT = "tavoli_after_commit"
#: Set in ``session.info`` while its after-commit callbacks run: the session is still committing, and
#: whatever they set off in the same thread or greenlet (a client found gone while an event is being
#: sent to it is disconnected there and then) must not use it.
BROADCASTING = "tavoli_broadcasting"


def _pending(session: Session) -> dict[int, tuple[SessionTransaction, list[Callable[[], None]]]]:
    return session.info.setdefault(_AFTER_COMMIT, {})


def on_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the session's outermost transaction commits; never if the change rolls back.

    Broadcasts and pushes go through here: a change that never happened is never announced.
    SQLAlchemy fires ``after_commit`` also when a savepoint (``begin_nested``) is released, so each
    callback belongs to the transaction it was registered in: a released savepoint hands its
    callbacks to its parent, a rolled-back one drops them, and only the outermost commit runs them."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # autobegin has not happened yet: the next statement starts one
        session.connection()
        transaction = session.get_transaction()
    assert transaction is not None
    _pending(session).setdefault(id(transaction), (transaction, []))[1].append(fn)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    pending = _pending(session)
    if session.in_nested_transaction():
        released = session.get_nested_transaction()
        entry = pending.pop(id(released), None) if released is not None else None
        if entry is not None and released is not None and released.parent is not None:
            parent = released.parent
            pending.setdefault(id(parent), (parent, []))[1].extend(entry[1])
        return
    session.info.pop(_AFTER_COMMIT, None)
    session.info[BROADCASTING] = True
    try:
        for _transaction, callbacks in pending.values():
            for fn in callbacks:
                try:
                    fn()
                except Exception:  # noqa: BLE001 — the change is committed; a failed push is repaired by resync
                    log.exception("after-commit callback failed")
    finally:
        session.info.pop(BROADCASTING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back change never happened: nothing may be announced for it (nor for what was
    # registered in savepoints inside it).
    pending = session.info.get(_AFTER_COMMIT)
    if not pending:
        return
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
        return
    for key, (transaction, _callbacks) in list(pending.items()):
        node: SessionTransaction | None = transaction
        while node is not None and node is not previous_transaction:
            node = node.parent
        if node is previous_transaction:
            pending.pop(key)


# --- broadcasting ---------------------------------------------------------------------------

Emitter = Callable[[int, dict[str, Any]], None]
ManyEmitter = Callable[[int, list[dict[str, Any]]], None]
_emitter: Emitter | None = None
_many: ManyEmitter | None = None
#: Set in ``session.info`` by ``batched``: the events the session commits are collected per tavolo.
_BATCH = "tavoli_batch_broadcast"


def set_emitter(emitter: Emitter | None, many: ManyEmitter | None = None) -> None:
    """Install the functions that deliver an event (``emitter``) and several consecutive events of
    one tavolo in one message (``many``) to a tavolo's room (Socket.IO in the app)."""
    global _emitter, _many
    _emitter, _many = emitter, many


def room(tavolo_id: int) -> str:
    return f"tavolo:{tavolo_id}"


def _broadcast(tavolo_id: int, message: dict[str, Any]) -> None:
    if _emitter is not None:
        _emitter(tavolo_id, message)


def _deliver(session: Session, tavolo_id: int, message: dict[str, Any]) -> None:
    collected = session.info.get(_BATCH)
    if collected is not None:
        collected.setdefault(tavolo_id, []).append(message)
    else:
        _broadcast(tavolo_id, message)


def _delivery(session: Session, tavolo_id: int, message: dict[str, Any]) -> Callable[[], None]:
    return lambda: _deliver(session, tavolo_id, message)


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """The events committed by ``session`` inside reach each tavolo's room as one message when the
    block ends, not one message each. For a transaction that records many events at once (the
    presences of a join storm: one message per batch to each client, not one per person, so the
    fan-out of n joins is O(n) messages instead of O(n²)). Only committed events are collected."""
    collected: dict[int, list[dict[str, Any]]] = {}
    session.info[_BATCH] = collected
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
        for tavolo_id, messages in collected.items():
            messages.sort(key=lambda m: m["seq"])
            try:
                if len(messages) > 1 and _many is not None:
                    _many(tavolo_id, messages)
                else:
                    for message in messages:
                        _broadcast(tavolo_id, message)
            except Exception:  # noqa: BLE001 — committed; clients repair a lost push by resync
                log.exception("batched broadcast failed")


# --- writing --------------------------------------------------------------------------------


# The statements every write and every join batch runs, built once with bound parameters (building a
# statement and its cache key cost about as much as running it).
_TAKE_SEQ = (update(RecordStream).where(RecordStream.tavolo_id == bindparam("stream"))  # not a column's name
             .values(last_seq=RecordStream.last_seq + bindparam("count")).returning(RecordStream.last_seq))
_OPERATION = select(TavoloEvent).where(TavoloEvent.tavolo_id == bindparam("tavolo_id"),
                                       TavoloEvent.op_id == bindparam("op_id"))
_LAST_SEQ = select(RecordStream.last_seq).where(RecordStream.tavolo_id == bindparam("tavolo_id"))
_HEAD = (select(RecordStream.last_seq, TavoloEvent.at)
         .outerjoin(TavoloEvent, (TavoloEvent.tavolo_id == RecordStream.tavolo_id)
                    & (TavoloEvent.seq == RecordStream.last_seq))
         .where(RecordStream.tavolo_id == bindparam("tavolo_id")))
_STAMP = select(TavoloEvent.at).where(TavoloEvent.tavolo_id == bindparam("tavolo_id"),
                                      TavoloEvent.seq == bindparam("seq"))


def next_seq(session: Session, tavolo_id: int, count: int = 1) -> int:
    """Take ``count`` sequence numbers of the tavolo; returns the last (the first is ``last - count + 1``)."""
    seq = session.scalar(_TAKE_SEQ, {"stream": tavolo_id, "count": count})
    if seq is None:
        # First event of this tavolo; a concurrent first writer would hit the primary key, and
        # its transaction is retried by the caller like any conflict.
        session.add(RecordStream(tavolo_id=tavolo_id, last_seq=count))
        session.flush()
        seq = count
    return seq


def append(
    session: Session,
    tavolo_id: int,
    kind: str,
    payload: dict[str, Any],
    actor_id: int | None = None,
    op_id: str | None = None,
) -> TavoloEvent:
    """Record an event in the current transaction; it is broadcast only if the transaction commits."""
    return append_many(session, tavolo_id, [(kind, payload, actor_id)], op_id=op_id)[0]


def append_many(session: Session, tavolo_id: int, items: list[tuple[str, dict[str, Any], int | None]],
                op_id: str | None = None) -> list[TavoloEvent]:
    """Record consecutive events (``kind``, ``payload``, ``actor_id``) of one tavolo in the current
    transaction: one counter update and one flush for all of them (the presences of a join storm).
    ``op_id`` goes with the first event only (an operation produces one event)."""
    if not items:
        return []
    last = next_seq(session, tavolo_id, len(items))
    now = utcnow()
    events = [TavoloEvent(tavolo_id=tavolo_id, seq=last - len(items) + 1 + i, kind=kind, payload=payload,
                          actor_id=actor_id, op_id=op_id if i == 0 else None,
                          operation=session.info.get(OPERATION_KEY) if op_id is not None and i == 0 else None,
                          at=now)
              for i, (kind, payload, actor_id) in enumerate(items)]
    session.add_all(events)
    session.flush()
    for ev in events:
        on_commit(session, _delivery(session, tavolo_id, ev.as_message()))
        # Same transaction: what listens (the audit trail) commits or rolls back with the change.
        signals.event_recorded.send(session, event=ev)
    return events


def find_operation(session: Session, tavolo_id: int, op_id: str) -> TavoloEvent | None:
    """The event an already-applied client operation produced, if any (idempotent retries)."""
    return session.scalar(_OPERATION, {"tavolo_id": tavolo_id, "op_id": op_id})


# --- reading --------------------------------------------------------------------------------


@dataclass
class Replay:
    events: list[dict[str, Any]]
    last_seq: int
    too_far_behind: bool


def last_seq(session: Session, tavolo_id: int) -> int:
    return session.scalar(_LAST_SEQ, {"tavolo_id": tavolo_id}) or 0


def head(session: Session, tavolo_id: int) -> tuple[int, str | None]:
    """``last_seq`` and the ``stamp`` of that event, in one query."""
    row = session.execute(_HEAD, {"tavolo_id": tavolo_id}).first()
    if row is None:
        return 0, None
    return row.last_seq, row.at.isoformat() if row.at is not None else None


def stamp(session: Session, tavolo_id: int, seq: int) -> str | None:
    """When event ``seq`` was recorded (None for 0): with the number, it names one state of the record."""
    at = session.scalar(_STAMP, {"tavolo_id": tavolo_id, "seq": seq})
    return at.isoformat() if at is not None else None


#: Events that change who is in the room, not what the tavolo holds (see ``content_seq``).
PRESENCE_KINDS = ("presence.joined", "presence.left", "presence.marked")


def content_seq(session: Session, tavolo_id: int, seq: int) -> int:
    """The number of the latest event up to ``seq`` that is not a presence event (0 if none)."""
    return latest_except(session, tavolo_id, seq, PRESENCE_KINDS)


def latest_except(session: Session, tavolo_id: int, seq: int, kinds: tuple[str, ...]) -> int:
    """The number of the latest event up to ``seq`` whose kind is not one of ``kinds`` (0 if none):
    what is built from the events of the other kinds is the same at ``seq`` as at that number."""
    return session.scalar(
        select(TavoloEvent.seq)
        .where(TavoloEvent.tavolo_id == tavolo_id, TavoloEvent.seq <= seq, TavoloEvent.kind.not_in(kinds))
        .order_by(TavoloEvent.seq.desc()).limit(1)
    ) or 0


def catch_up(session: Session, tavolo_id: int, after_seq: int, upto: int, kinds: tuple[str, ...],
             limit: int) -> tuple[str | None, list[dict[str, Any]]] | None:
    """The events of ``kinds`` with ``after_seq < seq <= upto``, in order, and the ``stamp`` of
    ``after_seq`` (to tell that it still names the same event); None if there are more than ``limit``."""
    rows = session.execute(
        select(TavoloEvent.seq, TavoloEvent.kind, TavoloEvent.payload, TavoloEvent.actor_id, TavoloEvent.at)
        .where(TavoloEvent.tavolo_id == tavolo_id, TavoloEvent.seq >= after_seq, TavoloEvent.seq <= upto,
               TavoloEvent.kind.in_(kinds) | (TavoloEvent.seq == after_seq))
        .order_by(TavoloEvent.seq).limit(limit + 2)
    ).all()
    stamp = rows[0].at.isoformat() if rows and rows[0].seq == after_seq else None
    events = [{"seq": r.seq, "kind": r.kind, "payload": r.payload, "actor_id": r.actor_id, "at": r.at.isoformat()}
              for r in rows if r.seq > after_seq]
    if len(events) > limit:
        return None
    return stamp, events


def replay(session: Session, tavolo_id: int, after_seq: int, limit: int | None = None) -> Replay:
    """Events with seq > after_seq, or ``too_far_behind`` when a snapshot is cheaper.

    ``limit`` defaults to REPLAY_LIMIT read at call time (a default bound at import would ignore
    any later change of the module setting)."""
    if limit is None:
        limit = REPLAY_LIMIT
    current = last_seq(session, tavolo_id)
    if after_seq > current:
        # The client knows of events we never wrote (e.g. a restored database): start over.
        return Replay([], current, True)
    if current - after_seq > limit:
        return Replay([], current, True)
    rows = session.scalars(
        select(TavoloEvent)
        .where(TavoloEvent.tavolo_id == tavolo_id, TavoloEvent.seq > after_seq)
        .order_by(TavoloEvent.seq)
    ).all()
    return Replay([r.as_message() for r in rows], current, False)


def events_between(session: Session, tavolo_id: int, since: datetime | None = None) -> list[TavoloEvent]:
    query = select(TavoloEvent).where(TavoloEvent.tavolo_id == tavolo_id)
    if since is not None:
        query = query.where(TavoloEvent.at > since)
    return list(session.scalars(query.order_by(TavoloEvent.seq)))
