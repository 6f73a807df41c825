"""Database access: one engine per app, a scoped session per thread, SQLite tuned for concurrent use.

Services receive the session from ``db.session`` and never commit on behalf of someone else's
transaction unless they own it; views commit at the end of a successful request.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
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


def make_engine(url: str, *, one_shot: bool = False) -> Engine:
    """Engine for ``url``; ``one_shot`` keeps no pooled connections (migrations, CLI)."""
    extra: dict[str, Any] = {"poolclass": NullPool} if one_shot else {}
    if url.startswith("sqlite"):
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

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # IMMEDIATE takes the write lock up front: a transaction never fails half-way when it
            # upgrades from reading to writing while another writer holds the lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if not one_shot:
        extra = {"pool_size": 10, "max_overflow": 20}
    return create_engine(url, pool_pre_ping=True, **extra)


class Database:
    """Holds the engine and scoped session of the current Flask app."""

    def init_app(self, app) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        app.extensions["tavoli_db"] = {"engine": engine, "session": scoped_session(factory)}

        @app.teardown_appcontext
        def _remove_session(_exc):
            app.extensions["tavoli_db"]["session"].remove()

    @property
    def session(self) -> Session:
        return current_app.extensions["tavoli_db"]["session"]()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["tavoli_db"]["engine"]


db = Database()
