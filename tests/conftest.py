"""Shared fixtures.

``app`` is parametrised over SQLite and PostgreSQL: every integration test runs on both. Both
databases are built by the real Alembic migrations and hold the real reference data. When a
service is missing the test is skipped — unless TAVOLI_REQUIRE_SERVICES=1 (as in CI), which turns
the skip into a failure.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workspace import create_app
from workspace.db import Base
from workspace.migrate import upgrade

REQUIRE_SERVICES = os.environ.get("TAVOLI_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get("TAVOLI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One database per test run, so parallel runs (developers, CI) never drop each other's.
PG_TEST_DB = os.environ.get("TAVOLI_TEST_PG_DB", f"tavoli_test_{os.getpid()}")
REDIS_TEST_URL = os.environ.get("TAVOLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def service_missing(what: str, why: object) -> None:
    """Skip for a missing service, or fail when services are required (CI)."""
    message = f"{what} non disponibile: {why}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (TAVOLI_REQUIRE_SERVICES=1: in CI nessun test può essere saltato)")
    pytest.skip(message)


def _load_reference(url: str, instance: Path) -> None:
    from workspace.db import db
    from workspace.reference.loader import load_reference

    app = create_app(_config(url, instance))
    with app.app_context():
        load_reference(db.session)
        db.session.commit()
        db.engine.dispose()


def _config(url: str, instance: Path, **extra) -> dict:
    return {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key",
        "MAIL_DIR": str(instance / "mail"),
        "TESTING": True,
        "SERVER_NAME": None,
        **extra,
    }


def reference_tables() -> set[str]:
    """Tables of the reference module (mapped classes and plain association tables)."""
    from sqlalchemy import Table

    from workspace.reference import models as reference_models

    mapped = {m.local_table.name for m in Base.registry.mappers
              if m.class_.__module__.startswith("workspace.reference")}
    plain = {t.name for t in vars(reference_models).values() if isinstance(t, Table)}
    return mapped | plain


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database with reference data, copied for each test."""
    instance = tmp_path_factory.mktemp("sqlite-template")
    path = instance / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    _load_reference(url, instance)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    return path


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory):
    """A fresh PostgreSQL database for this test session, migrated and with reference data."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_TEST_DB}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 — any failure here means "no PostgreSQL"
        service_missing("PostgreSQL", exc)
    url = make_url(PG_ADMIN_URL).set(database=PG_TEST_DB).render_as_string(hide_password=False)
    upgrade(url)
    _load_reference(url, tmp_path_factory.mktemp("pg-template"))
    yield url
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    keep = reference_tables() | {"alembic_version"}
    names = [t.name for t in Base.metadata.sorted_tables if t.name not in keep]
    if not names:
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


def _make_app(request, backend: str, tmp_path: Path, **extra):
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        db_path = tmp_path / "tavoli.db"
        shutil.copyfile(template, db_path)
        url = f"sqlite:///{db_path}"
    else:
        url = request.getfixturevalue("pg_url")
        _truncate_pg(url)
    return create_app(_config(url, tmp_path, **extra))


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    """The application on a migrated database (SQLite, then PostgreSQL)."""
    application = _make_app(request, request.param, tmp_path)
    application.config["DB_BACKEND"] = request.param
    yield application
    with application.app_context():
        application.extensions["tavoli_db"]["session"].remove()
    application.extensions["tavoli_db"]["engine"].dispose()


@pytest.fixture
def sqlite_app(request, tmp_path):
    """SQLite only: for tests of behaviour that does not depend on the database engine."""
    application = _make_app(request, "sqlite", tmp_path)
    yield application
    application.extensions["tavoli_db"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A database session inside an app context (services take it as their first argument)."""
    from workspace.db import db

    with app.app_context():
        yield db.session


@pytest.fixture
def redis_url():
    import redis

    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=2)
        client.ping()
        client.flushdb()
    except Exception as exc:  # noqa: BLE001
        service_missing("Redis", exc)
    yield REDIS_TEST_URL
    client.flushdb()
