"""Database access: one engine per app, a scoped session per thread, SQLite tuned for concurrent use.

Services receive the session from ``db.session`` and never commit on behalf of someone else's
transaction unless they own it; views commit at the end of a successful request.

SQLite and the event loop. A transaction that writes begins ``BEGIN IMMEDIATE`` (it never fails
half-way upgrading from reading to writing) after taking the engine's *write lock*, a process-wide
lock that gevent's monkey-patching makes cooperative: writers of one process queue on it, so no
greenlet ever sleeps in SQLite's busy handler (which would stall the whole event loop) waiting for
another greenlet of the same process. Reads never take either: code that only reads runs inside
``reading()`` (pages fetched with GET, the live handshake and join, read-only socket actions) and its
transactions begin ``BEGIN`` (deferred): in WAL they see a consistent snapshot and never wait for a
writer. A write inside ``reading()`` still works (it takes the write lock at its first write
statement) but can fail if another writer committed since the transaction's first read, so
reading code should not write.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic batch mode on SQLite and PostgreSQL produce the same schema.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as UTC; SQLite forgets the zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use workspace.db.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


log = logging.getLogger(__name__)

# Seconds a writer waits for the write lock (as SQLite's busy_timeout) before "database is locked".
LOCK_TIMEOUT = 30.0
_HOLDS = "tavoli_write_lock"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
# Greenlet-local once gevent has patched the process (the served process), thread-local otherwise.
_local = threading.local()


def is_reading() -> bool:
    return bool(getattr(_local, "reading", False))


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside only read: on SQLite they begin deferred, without the write lock."""
    previous = is_reading()
    _local.reading = True
    try:
        yield
    finally:
        _local.reading = previous


def set_reading(flag: bool) -> None:
    """For hooks that cannot wrap a block (a request's before/teardown)."""
    _local.reading = flag


def _locked_out() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def _sqlite_write_lock(engine: Engine) -> None:
    """The engine's in-process write lock, taken before ``BEGIN IMMEDIATE`` and released once the
    transaction has committed or rolled back (or its connection went back to the pool)."""
    # One lock per database file and process: the ballots' committer has an engine of its own.
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(str(engine.url), threading.Lock())

    def acquire(info: dict) -> None:
        if info.get(_HOLDS):
            return
        if not lock.acquire(timeout=LOCK_TIMEOUT):
            raise _locked_out()
        info[_HOLDS] = True

    def release(info: dict) -> None:
        if info.pop(_HOLDS, False):
            lock.release()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if is_reading():
            conn.exec_driver_sql("BEGIN")
            return
        acquire(conn.info)
        try:
            # IMMEDIATE takes SQLite's write lock up front: a transaction never fails half-way when
            # it upgrades from reading to writing while another writer holds the lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(conn.info)
            raise

    @event.listens_for(engine, "before_cursor_execute")
    def _first_write(conn, _cursor, statement, _parameters, _context, _executemany):
        if not conn.info.get(_HOLDS) and statement.lstrip()[:7].upper().startswith(_WRITES) \
                and conn.in_transaction():
            log.debug("a read transaction writes: taking the write lock")
            acquire(conn.info)

    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def info_of(dbapi_connection) -> dict:
        try:
            return dbapi_connection.info
        except (AttributeError, NotImplementedError):  # the engine's first connect: a bare connection
            return {}

    def commit(dbapi_connection):
        try:
            do_commit(dbapi_connection)
        finally:
            release(info_of(dbapi_connection))

    def rollback(dbapi_connection):
        try:
            do_rollback(dbapi_connection)
        finally:
            release(info_of(dbapi_connection))

    dialect.do_commit = commit  # type: ignore[method-assign]
    dialect.do_rollback = rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):
        release(record.info)

    @event.listens_for(engine, "invalidate")
    def _invalidate(_dbapi_connection, record, _exc):
        release(record.info)


def make_engine(url: str, *, one_shot: bool = False) -> Engine:
    """Engine for ``url``; ``one_shot`` keeps no pooled connections (migrations, CLI)."""
    extra: dict[str, Any] = {"poolclass": NullPool} if one_shot else {}
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url
        if not one_shot and not in_memory:
            # Writers queue on the write lock, readers never wait: connections are cheap, and a join
            # storm must not queue on the pool (SQLite in WAL has no server-side limit). An in-memory
            # database (a benchmark's, a script's) keeps SQLAlchemy's one-connection pool.
            extra = {"pool_size": 20, "max_overflow": 200, "pool_timeout": LOCK_TIMEOUT}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **extra)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _begin below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows and freed pages are overwritten with zeros, so what a secret round's mixer
            # removes (its pool of ballots) does not linger in the file (docs/secret-ballot.md).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        _sqlite_write_lock(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if not one_shot:
        # psycopg 3 waits cooperatively under gevent: hundreds of greenlets share these connections.
        # Every process may open pool + overflow connections: with N processes keep N x that below
        # PostgreSQL's max_connections (100 by default) minus what else connects (CLI, cron, admin);
        # deploy/scaled.py sizes them so. A request beyond waits up to 30 s for a connection.
        extra = {"pool_size": int(os.environ.get("TAVOLI_DB_POOL_SIZE", "20")),
                 "max_overflow": int(os.environ.get("TAVOLI_DB_MAX_OVERFLOW", "30")), "pool_timeout": 30}
    return create_engine(url, pool_pre_ping=True, **extra)


class Database:
    """Holds the engine and scoped session of the current Flask app."""

    def init_app(self, app) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        app.extensions["tavoli_db"] = {"engine": engine, "session": scoped_session(factory)}

        @app.before_request
        def _reads_do_not_lock():
            # A page fetched with GET reads: on SQLite it never takes the write lock.
            from flask import request

            set_reading(request.method in ("GET", "HEAD", "OPTIONS"))

        @app.teardown_appcontext
        def _remove_session(_exc):
            app.extensions["tavoli_db"]["session"].remove()
            set_reading(False)

    @property
    def session(self) -> Session:
        return current_app.extensions["tavoli_db"]["session"]()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["tavoli_db"]["engine"]


db = Database()
