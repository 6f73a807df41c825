"""The hash chain of the audit trail: append in the transaction of the change, verify.

**What is hashed.** Each entry's SHA-256 covers a canonical serialisation of its content (JSON with
sorted keys, no spaces, UTF-8; time in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``): format version,
id (the position in the chain), time, actor id, action, object type and id, details, and the hash
of the previous entry. Change, remove or add a row and the walk of :func:`verify` breaks at it; the
head row (last id and hash) shows a removed or forged *last* entry too.

**People and pseudonymisation.** The chain hashes the actor's *id*, never their name. The label
shown to administrators ("Nome (Organizzazione)", frozen when the entry is written) sits outside
the hashed content, so deleting an account can replace the name in past entries with the pseudonym
(``workspace/audit/privacy.py``) without breaking the chain. Details never carry names, e-mail
addresses or free text (``workspace/audit/service.py`` filters them), so nothing inside the hash
ever needs rewriting. The price: the label is a convenience copy the chain does not protect; the
id it stands for is protected.

**When entries are written.** Receivers queue entries on the session; they are written just before
the outermost transaction commits (``before_commit``), all at once: one read of the head (locked:
``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every write transaction already holds the lock
from ``BEGIN IMMEDIATE``), one multi-row INSERT, one UPDATE of the head. So the entry commits or
rolls back with the change it records, the head is the last lock a writer takes (no deadlock with
the tavolo counters) and it is held only for the commit itself. Entries queued inside a savepoint
that rolls back are dropped with it. An entry queued as ``durable`` (a failed login, whose request
is rolled back) survives the rollback: it is then written in its own short transaction.

**Time** is when the change happened (the event's ``at``), not when it committed, so it may run
slightly out of order with the ids under concurrency; the id is the order of the chain.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from workspace.audit.models import GENESIS, AuditEntry, AuditHead
from workspace.db import utcnow

log = logging.getLogger(__name__)

#: Version of the canonical serialisation; part of every hash.
FORMAT = 1
HEAD_ID = 1


def utc_text(moment: datetime) -> str:
    """The fixed time format of the hashed content (microseconds, as both databases keep them)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry_id: int, at: datetime, actor_id: int | None, action: str, object_type: str | None,
              object_id: int | None, details: dict[str, Any], prev_hash: str) -> bytes:
    content = {
        "v": FORMAT, "id": entry_id, "at": utc_text(at), "actor_id": actor_id, "action": action,
        "object_type": object_type, "object_id": object_id, "details": details, "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def digest(entry_id: int, at: datetime, actor_id: int | None, action: str, object_type: str | None,
           object_id: int | None, details: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(entry_id, at, actor_id, action, object_type, object_id, details,
                                    prev_hash)).hexdigest()


# --------------------------------------------------------------------------- queueing


@dataclass
class Pending:
    at: datetime
    actor_id: int | None
    action: str
    object_type: str | None
    object_id: int | None
    details: dict[str, Any]
    durable: bool = False
    transaction: SessionTransaction | None = None
    written: bool = False


@dataclass
class _State:
    pending: list[Pending] = field(default_factory=list)
    committed: bool = False


_STATE = "tavoli_audit"


def _state(session: Session) -> _State:
    return session.info.setdefault(_STATE, _State())


def _current_transaction(session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # autobegin has not happened yet
        session.connection()
        transaction = session.get_transaction()
    assert transaction is not None
    return transaction


def record(session: Session, *, action: str, actor_id: int | None = None, object_type: str | None = None,
           object_id: int | None = None, details: dict[str, Any] | None = None, at: datetime | None = None,
           durable: bool = False) -> Pending:
    """Queue an entry in the session's transaction. ``details`` must already be plain JSON (the
    service cleans them). ``durable``: written even if the transaction rolls back."""
    entry = Pending(at=at or utcnow(), actor_id=actor_id, action=action, object_type=object_type,
                    object_id=object_id, details=details or {}, durable=durable,
                    transaction=_current_transaction(session))
    _state(session).pending.append(entry)
    return entry


def pending(session: Session) -> list[Pending]:
    """Entries queued in this session's transaction and not written yet."""
    state = session.info.get(_STATE)
    return [p for p in state.pending if not p.written] if state else []


# --------------------------------------------------------------------------- writing


def labels(session: Session, actor_ids: Iterable[int]) -> dict[int, str]:
    """The label of each person as they are now, «Nome (Organizzazione, ...)». One query."""
    from workspace.accounts.models import Membership, Organisation, User

    ids = sorted(set(actor_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, User.name, Organisation.name)
        .outerjoin(Membership, Membership.user_id == User.id)
        .outerjoin(Organisation, Organisation.id == Membership.organisation_id)
        .where(User.id.in_(ids))
    ).all()
    names: dict[int, str] = {}
    orgs: dict[int, set[str]] = {}
    for user_id, name, org in rows:
        names[user_id] = name
        if org:
            orgs.setdefault(user_id, set()).add(org)
    return {uid: f"{name} ({', '.join(sorted(orgs[uid]))})" if uid in orgs else name
            for uid, name in names.items()}


def _lock_head(session: Session) -> tuple[int, str]:
    query = select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == HEAD_ID).with_for_update()
    row = session.execute(query).first()
    if row is None:
        # The very first entry. A concurrent first writer waits on this row's key, then finds it.
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(AuditHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS)
                        .on_conflict_do_nothing())
        row = session.execute(query).first()
        assert row is not None
    return row[0], row[1]


def write(session: Session, entries: list[Pending]) -> None:
    """Chain and insert ``entries`` in the session's current transaction."""
    session.flush()  # the change's own rows first: the head is the last lock this writer takes
    names = labels(session, (e.actor_id for e in entries if e.actor_id is not None))
    last_id, last_hash = _lock_head(session)
    rows = []
    for e in entries:
        last_id += 1
        entry_hash = digest(last_id, e.at, e.actor_id, e.action, e.object_type, e.object_id, e.details, last_hash)
        rows.append({"id": last_id, "at": e.at, "actor_id": e.actor_id,
                     "actor_label": names.get(e.actor_id) if e.actor_id is not None else None,
                     "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
                     "details": e.details, "prev_hash": last_hash, "hash": entry_hash})
        last_hash = entry_hash
    session.execute(insert(AuditEntry), rows)
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_id=last_id, last_hash=last_hash))


def _write_apart(session: Session, entries: list[Pending]) -> None:
    """Write ``entries`` in a short transaction of their own, after ``session``'s has ended."""
    bind = session.get_bind()
    options: dict[str, Any] = {"join_transaction_mode": "create_savepoint"} if isinstance(bind, Connection) else {}
    try:
        with Session(bind=bind, **options) as apart:
            write(apart, entries)
            apart.commit()
    except Exception:  # noqa: BLE001 — we are in the session's teardown: report, never raise here
        log.exception("voci del registro di audit non scritte: %s", [e.action for e in entries])


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    node = transaction
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    state = session.info.get(_STATE)
    # A savepoint being released: its entries wait for the outermost commit.
    if state is None or session.in_nested_transaction():
        return
    todo = [p for p in state.pending if not p.written]
    if todo:
        write(session, todo)
        for p in todo:
            p.written = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    state = session.info.get(_STATE)
    if state is not None and not session.in_nested_transaction():
        state.committed = True


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint takes its entries with it (durable ones stay). The outermost
    # transaction's end is handled below.
    state = session.info.get(_STATE)
    if state is None or previous_transaction.parent is None:
        return
    state.pending = [p for p in state.pending if p.durable or not _within(p.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    state = session.info.pop(_STATE, None)
    if state is None:
        return
    if state.committed:
        # Committed while a savepoint was still open (before_commit could not tell): write now.
        left = [p for p in state.pending if not p.written]
    else:
        # Rolled back or closed: only durable entries outlive it (written again if a failed
        # commit took them away).
        left = [p for p in state.pending if p.durable]
    if left:
        _write_apart(session, left)


# --------------------------------------------------------------------------- verifying


@dataclass
class Broken:
    entry_id: int
    at: datetime | None
    action: str | None
    reason: str


@dataclass
class Verification:
    checked: int
    last_hash: str
    broken: Broken | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _fault(row: Any, expected: int, previous: str, head: Any) -> str | None:
    """What is wrong with ``row`` coming where entry ``expected`` should be, after ``previous``."""
    if row.id != expected:
        if row.id < expected:
            return "numero fuori sequenza"
        return (f"manca la voce n. {expected}" if row.id == expected + 1
                else f"mancano le voci dalla n. {expected} alla n. {row.id - 1}")
    if head is None:
        return "manca la testa della catena (tabella audit_head)"
    if row.id > head[0]:
        return "voce che non risulta dalla testa della catena (aggiunta fuori dal registro)"
    if row.prev_hash != previous:
        return "non è collegata alla voce precedente (impronta precedente diversa)"
    if digest(row.id, row.at, row.actor_id, row.action, row.object_type, row.object_id, row.details,
              row.prev_hash) != row.hash:
        return "il contenuto non corrisponde alla sua impronta (voce modificata)"
    return None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the whole chain in id order; stop at the first broken entry.

    Run it in one snapshot (``tavoli audit verify`` does) so that appends committed meanwhile are
    not mistaken for rows added outside the trail."""
    head = session.execute(select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)).first()
    c = AuditEntry
    rows = session.execute(
        select(c.id, c.at, c.actor_id, c.action, c.object_type, c.object_id, c.details, c.prev_hash, c.hash)
        .order_by(c.id).execution_options(yield_per=batch))
    expected, previous, checked = 1, GENESIS, 0
    last: Any = None
    for row in rows:
        fault = _fault(row, expected, previous, head)
        if fault is not None:
            return Verification(checked, previous, Broken(row.id, row.at, row.action, fault))
        previous, expected, checked, last = row.hash, expected + 1, checked + 1, row
    if head is None:
        return Verification(checked, previous)  # never written to: nothing to check
    head_id, head_hash = head
    if checked < head_id:
        if last is None:
            return Verification(0, previous, Broken(head_id, None, None, "il registro è vuoto ma la testa della "
                                                                          f"catena indica {head_id} voci"))
        return Verification(checked, previous, Broken(
            last.id, last.at, last.action,
            f"la catena finisce qui, ma la testa indica {head_id} voci: mancano le ultime {head_id - checked}"))
    if previous != head_hash:
        return Verification(checked, previous, Broken(last.id, last.at, last.action,
                                                      "l'ultima voce non corrisponde alla testa della catena"))
    return Verification(checked, previous)
