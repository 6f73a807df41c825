"""The ballot box of secret rounds: the mixing pool, the mixer, and the seal of the storage.

The secrecy model and what it does not cover: docs/secret-ballot.md. In short:

- While a secret round is open its ballots wait in the *pool* (``vote_pool``), each written in the
  same transaction as its voter's participation (``ballots``). During the round the pool is
  linkable to the participations by whoever reads the database files: that is stated, not hidden.
- The *mixer* (:func:`mix`) runs inside the transaction that closes the round: it moves every pooled
  ballot of the round into the ballot box (``secret_ballot``) in random order with fresh random keys,
  deletes the pool rows, and rewrites the round's participations and operation ids the same way, so
  every row a ballot's casting touched now carries the mixer's transaction, in an order that says
  nothing. Results, recounts, the published ballots and ``tavoli votes tally`` read the box only.
- The *seal* (:func:`seal`) removes the history the database engine still keeps once that commit is
  done: on SQLite every connection runs with ``secure_delete`` (deleted cells and freed pages are
  zeroed, ``workspace.db``) and the seal runs a truncating checkpoint, retried until readers let it
  complete, so neither the database file nor its ``-wal`` holds the pool's past; on PostgreSQL it
  runs ``VACUUM (FULL)`` on the three tables, so no dead row version (with the casting transaction's
  ``xmin``) stays in their files. It runs after every commit that mixed, in the background
  (:func:`seal_after_commit`), once when ``tavoli serve`` starts (a crash between the two leaves
  nothing behind for long), and on demand (``tavoli votes seal``, before a backup).
"""
from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from workspace import record
from workspace.voting.models import (
    Participation,
    PooledBallot,
    SecretBallot,
    VoteOperation,
    VoteRound,
    new_ballot_id,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The tables whose rows a secret ballot's casting writes, in the order the seal treats them.
TABLES = (PooledBallot.__tablename__, Participation.__tablename__, VoteOperation.__tablename__)
#: How long a seal keeps trying before it gives up (and says so in the log: ``tavoli votes seal``).
SEAL_PATIENCE = 600.0

_RANDOM = random.SystemRandom()


def shuffled(rows: list[T]) -> list[T]:
    """``rows`` in a random order (the operating system's randomness)."""
    _RANDOM.shuffle(rows)
    return rows


def pool(session: Session, round_id: int, ballots: list[tuple[str | None, dict[str, Any]]]) -> None:
    """Put (group, content) ballots into the round's pool, in a random order, each with a random key."""
    session.execute(insert(PooledBallot), shuffled(
        [{"id": new_ballot_id(), "round_id": round_id, "org_group": g, "content": c} for g, c in ballots]))


def pooled(session: Session, round_id: int) -> int:
    """How many ballots wait in the round's pool."""
    return session.scalar(select(func.count()).select_from(PooledBallot).where(PooledBallot.round_id == round_id)) or 0


def _rewrite(session: Session, model: type, round_id: int, columns: tuple[str, ...], fresh_key: bool) -> int:
    """Delete the round's rows of ``model`` and insert them again in a random order (with fresh random
    keys when ``fresh_key``), in the caller's transaction. The number of rows."""
    table = model.__table__  # type: ignore[attr-defined]
    rows = [dict(row._mapping) for row in session.execute(
        select(*(table.c[name] for name in columns)).where(table.c.round_id == round_id))]
    if not rows:
        return 0
    session.execute(delete(table).where(table.c.round_id == round_id))
    if fresh_key:
        for row in rows:
            row["id"] = new_ballot_id()
        rows.sort(key=lambda row: row["id"])  # i.i.d. random keys: a uniformly random order
    else:
        shuffled(rows)
    session.execute(insert(table), rows)
    return len(rows)


def mix(session: Session, vote: VoteRound) -> int:
    """Move the round's pooled ballots into the ballot box (random order, fresh random keys), delete
    them from the pool and rewrite the round's participations and operation ids likewise, all in
    the caller's transaction (the one that closes the round). Then, once that transaction commits,
    the storage is sealed. The number of ballots moved."""
    ballots = [(g, c) for g, c in session.execute(
        select(PooledBallot.org_group, PooledBallot.content).where(PooledBallot.round_id == vote.id))]
    session.execute(delete(PooledBallot).where(PooledBallot.round_id == vote.id))
    rows = [{"id": new_ballot_id(), "round_id": vote.id, "org_group": g, "content": c} for g, c in ballots]
    rows.sort(key=lambda row: row["id"])
    if rows:
        session.execute(insert(SecretBallot), rows)
    _rewrite(session, Participation, vote.id, ("round_id", "voter_key", "user_id", "organisation_id", "voted_at"),
             fresh_key=True)
    _rewrite(session, VoteOperation, vote.id, ("round_id", "op_id", "voter_key"), fresh_key=False)
    seal_after_commit(session)
    return len(rows)


# --- the seal -----------------------------------------------------------------------------------------


def _sqlite_checkpoint(engine: Engine) -> bool:
    """One truncating checkpoint; True when it completed (the -wal is empty). Never waits for locks:
    a busy database is tried again later by the caller."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        previous = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
            cursor.close()
        return busy == 0
    finally:
        raw.close()


def _pg_vacuum(engine: Engine) -> bool:
    """``VACUUM (FULL, VERBOSE)`` of the tables a ballot's casting writes; True when it kept no dead
    row version. A lock another transaction holds makes it give up after a second; a dead row
    version that some transaction's snapshot may still see — any transaction on the server, in any
    database, begun before the closing (a ``pg_dump`` running then, say) — is kept by VACUUM, which
    says so: the caller tries again later."""
    notices: list[tuple[str, str]] = []

    def keep(notice: Any) -> None:  # the notice is readable only during the call
        notices.append((notice.message_primary or "", notice.message_detail or ""))

    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = conn.connection.driver_connection
            driver.add_notice_handler(keep)  # type: ignore[union-attr]
            try:
                conn.exec_driver_sql("SET lock_timeout = '1s'")
                conn.exec_driver_sql("VACUUM (FULL, VERBOSE) " + ", ".join(TABLES))
            finally:
                driver.remove_notice_handler(keep)  # type: ignore[union-attr]
                conn.exec_driver_sql("RESET lock_timeout")
    except OperationalError as exc:
        log.info("seal postponed: %s", exc.orig)
        return False
    kept = recently_dead(notices)
    if set(kept) != set(TABLES) or any(kept.values()):
        log.info("seal postponed: dead row versions not removable yet %s", kept)
        return False
    return True


def recently_dead(notices: list[tuple[str, str]]) -> dict[str, int]:
    """Per table, the dead row versions ``VACUUM (FULL, VERBOSE)`` had to keep, from its notices'
    (primary message, detail): ``"public.t": found R removable, N nonremovable row versions in P
    pages`` with the detail ``D dead row versions cannot be removed yet``, in the server's
    language: the first number of the detail's first line."""
    kept: dict[str, int] = {}
    for primary, detail in notices:
        table = next((t for t in TABLES if f'.{t}"' in primary or f'"{t}"' in primary), None)
        number = re.search(r"\d+", detail.splitlines()[0]) if detail else None
        if table is not None and number is not None:
            kept[table] = int(number.group())
    return kept


def seal_once(engine: Engine) -> bool:
    """One attempt to remove the engine's history of pooled ballots; True when it is gone."""
    if engine.dialect.name == "sqlite":
        return _sqlite_checkpoint(engine)
    if engine.dialect.name == "postgresql":
        return _pg_vacuum(engine)
    return True


def seal(engine: Engine, patience: float = SEAL_PATIENCE, sleep: Callable[[float], Any] = time.sleep) -> bool:
    """Seal, retrying with growing pauses (readers may hold the checkpoint back, transactions the
    vacuum's lock) for up to ``patience`` seconds; True when done. ``sleep`` is the server's
    (``socketio.sleep`` under gevent), so waiting never blocks the event loop."""
    deadline = time.monotonic() + patience
    pause = 0.02
    while True:
        if seal_once(engine):
            return True
        if time.monotonic() + pause > deadline:
            log.error("the database could not be sealed in %.0f s: run `tavoli votes seal`", patience)
            return False
        sleep(pause)
        pause = min(pause * 2, 2.0)


class _Sealer:
    """One seal at a time per app; a request during a seal makes it run once more afterwards.
    ``done`` counts the seals completed (tests and the CLI wait on it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.running = False
        self.again = False
        self.requested = 0
        self.done = 0
        self.sealed = False  # the outcome of the latest seal


_EXT = "tavoli_seal"


def _sealer(app: Any) -> _Sealer:
    return app.extensions.setdefault(_EXT, _Sealer())


def _owned_by_caller(session: Session) -> bool:
    """Whether the session was handed a connection by its caller (instead of the engine): the caller
    owns the transaction, so the session's commit is not the one that makes the mix durable, and
    sealing is the caller's business (``seal``, ``tavoli votes seal``)."""
    return isinstance(session.get_bind(), Connection)


def seal_after_commit(session: Session) -> None:
    """Seal in the background once the session's transaction commits (never if it rolls back)."""
    if _owned_by_caller(session):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    record.on_commit(session, lambda: request_seal(app))


def request_seal(app: Any) -> None:
    """Start a background seal for ``app`` (or mark the running one to go again)."""
    from workspace.extensions import socketio

    sealer = _sealer(app)
    with sealer.lock:
        sealer.requested += 1
        if sealer.running:
            sealer.again = True
            return
        sealer.running = True
    socketio.start_background_task(_seal_loop, app, sealer)


def _seal_loop(app: Any, sealer: _Sealer) -> None:
    from workspace.extensions import socketio

    engine = app.extensions["tavoli_db"]["engine"]
    while True:
        with sealer.lock:
            target = sealer.requested
            sealer.again = False
        sealed = False
        try:
            sealed = seal(engine, sleep=socketio.sleep)
        except Exception:  # noqa: BLE001 — logged; the next close, start-up or `tavoli votes seal` tries again
            log.exception("sealing the database failed")
        with sealer.lock:
            sealer.done = max(sealer.done, target)
            sealer.sealed = sealed
            if not sealer.again:
                sealer.running = False
                sealer.changed.notify_all()
                return
            sealer.changed.notify_all()


def wait_sealed(app: Any, timeout: float) -> bool:
    """Wait until every seal requested so far has run; True when the latest one sealed, False when
    it failed or ``timeout`` seconds went by first."""
    sealer = _sealer(app)
    deadline = time.monotonic() + timeout
    with sealer.lock:
        while sealer.done < sealer.requested or sealer.running:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            sealer.changed.wait(left)
        return sealer.sealed or sealer.requested == 0
