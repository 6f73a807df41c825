"""Shared fixtures.

``app`` is parametrised over SQLite and PostgreSQL: every integration test runs on both. Both
databases are built by the real Alembic migrations and hold the real reference data. When a
service is missing the test is skipped — unless TAVOLI_REQUIRE_SERVICES=1 (as in CI), which turns
the skip into a failure.

How a test gets its database
  By default a test runs inside a transaction that is rolled back at its end. There is one app per
  database for the whole session; each test takes one connection, begins the outer transaction and
  binds the app's scoped session to it with ``join_transaction_mode="create_savepoint"``: a
  ``commit()`` in the code under test releases a savepoint (``after_commit`` still fires, so live
  broadcasts happen), a ``rollback()`` returns to it. After the test a check makes sure nothing
  was left behind (a real commit on another connection would be).
  Per test the shared app gets back its config, a fresh instance folder (``tmp_path``: mail,
  uploads), no rate-limiter counters, no cached Ambito name, and its own Socket.IO server bound.

  ``@pytest.mark.real_db``: the test gets an app of its own on a database with real commits (a copy
  of the SQLite template; on PostgreSQL a separate database truncated before the test). Only for
  tests that need real commits: threads, other processes, servers. (A test that adds a route to
  the app uses ``own_app``: an app that has served requests refuses new routes.)

Factories (committed; tavoli, roles, sedute, bisogni, people and organisations through the real
services): ``world`` and ``vw`` (a tavolo with its people; with four bisogni for votes), ``person``
and ``organisation``; ``connect`` (a logged-in Socket.IO client).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import working_tables
from workspace import create_app
from workspace.migrate import upgrade

REQUIRE_SERVICES = os.environ.get("TAVOLI_REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get("TAVOLI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One database per test run, so parallel runs (developers, CI) never drop each other's.
PG_TEST_DB = os.environ.get("TAVOLI_TEST_PG_DB", f"tavoli_test_{os.getpid()}")
REDIS_TEST_URL = os.environ.get("TAVOLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET_KEY = "test-secret-key"


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
        "SECRET_KEY": SECRET_KEY,
        "MAIL_DIR": str(instance / "mail"),
        "TESTING": True,
        "SERVER_NAME": None,
        **extra,
    }


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database with reference data, copied for each app."""
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


def _pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_databases(tmp_path_factory) -> dict[str, str]:
    """PostgreSQL databases of this session, migrated and with reference data: ``template`` (read
    only: compared with the models), ``shared`` (the transactional tests, never committed to) and
    ``real`` (the real_db tests, truncated before each). The two copies come from the template."""
    names = {"template": PG_TEST_DB, "shared": f"{PG_TEST_DB}_shared", "real": f"{PG_TEST_DB}_real"}
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_TEST_DB}"'))
    except Exception as exc:  # noqa: BLE001 — any failure here means "no PostgreSQL"
        service_missing("PostgreSQL", exc)
    url = _pg_url(PG_TEST_DB)
    upgrade(url)
    _load_reference(url, tmp_path_factory.mktemp("pg-template"))
    with admin.connect() as conn:
        for copy in ("shared", "real"):
            conn.execute(text(f'CREATE DATABASE "{names[copy]}" TEMPLATE "{PG_TEST_DB}"'))
    yield {role: _pg_url(name) for role, name in names.items()}
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url(pg_databases) -> str:
    """The migrated PostgreSQL database with reference data that nothing writes to."""
    return pg_databases["template"]


def _truncate_pg(url: str) -> None:
    """Empty the working tables. Identities go on (as in production and in the shared database): ids
    of one test are never reused by the next, so process-wide state keyed by an id (a pending live
    push of round 1, say) cannot reach another test's objects."""
    names = [t.name for t in working_tables()]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    engine.dispose()


# --------------------------------------------------------------------------- apps with real commits


def _make_app(request, backend: str, tmp_path: Path, **extra):
    """An app of its own on a database with real commits: a copy of the SQLite template, or the
    PostgreSQL ``real`` database emptied. Used by real_db tests and by tests of app creation."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        db_path = tmp_path / "tavoli.db"
        shutil.copyfile(template, db_path)
        url = f"sqlite:///{db_path}"
    else:
        url = request.getfixturevalue("pg_databases")["real"]
        _truncate_pg(url)
    return create_app(_config(url, tmp_path, **extra))


def _real_app(request, backend: str, tmp_path: Path):
    application = _make_app(request, backend, tmp_path)
    application.config["DB_BACKEND"] = backend
    yield application
    with application.app_context():
        application.extensions["tavoli_db"]["session"].remove()
    application.extensions["tavoli_db"]["engine"].dispose()


# --------------------------------------------------------------------------- shared apps, one transaction per test

SOCKETIO_SERVER = "tavoli_test_socketio_server"


def _shared_app(url: str, instance: Path, backend: str):
    from workspace.extensions import socketio

    application = create_app(_config(url, instance))
    application.config["DB_BACKEND"] = backend
    # ``socketio`` is one object for the process and ``init_app`` gives it a new server for each app
    # created; remember this app's, to bind it again before each of its tests.
    application.extensions[SOCKETIO_SERVER] = socketio.server
    return application


def _dispose(application) -> None:
    application.extensions["tavoli_db"]["session"].remove()
    application.extensions["tavoli_db"]["engine"].dispose()


@pytest.fixture(scope="session")
def _sqlite_shared(sqlite_template, tmp_path_factory):
    instance = tmp_path_factory.mktemp("sqlite-shared")
    db_path = instance / "tavoli.db"
    shutil.copyfile(sqlite_template, db_path)
    application = _shared_app(f"sqlite:///{db_path}", instance, "sqlite")
    yield application
    _dispose(application)


@pytest.fixture(scope="session")
def _pg_shared(pg_databases, tmp_path_factory):
    application = _shared_app(pg_databases["shared"], tmp_path_factory.mktemp("pg-shared"), "postgresql")
    yield application
    _dispose(application)


_leftover_sql: dict[str, str] = {}


def _assert_nothing_left(engine) -> None:
    """No test may leave rows in the shared database: the next test would see them. One query."""
    sql = _leftover_sql.get(engine.dialect.name)
    if sql is None:
        sql = _leftover_sql[engine.dialect.name] = "SELECT " + " + ".join(
            f'(SELECT count(*) FROM "{t.name}")' for t in working_tables())
    with engine.connect() as conn:
        if not conn.execute(text(sql)).scalar():
            return
        left = {t.name: n for t in working_tables()
                if (n := conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar())}
        for table in reversed(working_tables()):  # clean up, so only this test fails
            conn.execute(table.delete())
        conn.commit()
    pytest.fail(f"il test ha lasciato righe nel database condiviso (un commit reale?): {left}")


def _disconnect_socket_clients(application) -> None:
    """Socket.IO test clients a test left connected would stay in the rooms (and in the presence
    counters of workspace.realtime) for the next test."""
    from flask_socketio.test_client import SocketIOTestClient

    for client in list(SocketIOTestClient.clients.values()):
        if client.app is not application:
            continue
        for namespace, connected in list(client.connected.items()):
            if connected:
                client.disconnect(namespace=namespace)
        SocketIOTestClient.clients.pop(client.eio_sid, None)


def _this_thread_only(create):
    """Sessions of a transactional test share its one connection: another thread using it would
    interleave savepoints at random. Say so plainly instead."""
    owner = threading.current_thread()

    def _create():
        if threading.current_thread() is not owner:
            raise RuntimeError("un altro thread usa il database di un test transazionale: "
                               "il test va marcato @pytest.mark.real_db")
        return create()

    return _create


@contextmanager
def _transaction(application, tmp_path: Path):
    """Run one test on the shared ``application`` inside a transaction rolled back at the end."""
    from workspace.core.context import _AMBITO_CACHE
    from workspace.extensions import socketio

    store = application.extensions["tavoli_db"]
    engine, scoped = store["engine"], store["session"]
    config, instance_path = dict(application.config), application.instance_path
    scoped.remove()
    connection = engine.connect()
    outer = connection.begin()
    scoped.configure(bind=connection, join_transaction_mode="create_savepoint")
    create = scoped.registry.createfunc
    scoped.registry.createfunc = _this_thread_only(create)
    # Nothing cached by the app survives from one test to the next.
    application.config.update(INSTANCE_PATH=str(tmp_path), MAIL_DIR=str(tmp_path / "mail"))
    application.instance_path = str(tmp_path)  # uploads go to <instance>/uploads
    application.extensions.pop("tavoli_ratelimit", None)  # built again, from the config, on first use
    application.extensions.pop(_AMBITO_CACHE, None)
    socketio.server = application.extensions[SOCKETIO_SERVER]
    from workspace import realtime

    realtime.flush_pushes(application)  # a push left pending by the previous test goes out now
    try:
        yield application
    finally:
        try:
            realtime.flush_pushes(application)
            _disconnect_socket_clients(application)
        finally:
            scoped.remove()
            if outer.is_active:
                outer.rollback()
            connection.close()
            scoped.registry.createfunc = create
            scoped.configure(bind=engine, join_transaction_mode="conservative_savepoint")
            application.config.clear()
            application.config.update(config)
            application.instance_path = instance_path
    _assert_nothing_left(engine)


def _shared_fixture(backend: str) -> str:
    return "_sqlite_shared" if backend == "sqlite" else "_pg_shared"


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    """The application on a migrated database (SQLite, then PostgreSQL); see the module docstring
    for transactions and ``real_db``."""
    if request.node.get_closest_marker("real_db"):
        yield from _real_app(request, request.param, tmp_path)
        return
    with _transaction(request.getfixturevalue(_shared_fixture(request.param)), tmp_path) as application:
        yield application


@pytest.fixture(params=["sqlite", "postgresql"])
def own_app(request, tmp_path):
    """An app built for this test alone, on a database with real commits: for the few tests that
    change the app's setup (add a route), which an app that has already served refuses."""
    yield from _real_app(request, request.param, tmp_path)


@pytest.fixture
def sqlite_app(request, tmp_path):
    """SQLite only: for tests of behaviour that does not depend on the database engine."""
    if request.node.get_closest_marker("real_db"):
        yield from _real_app(request, "sqlite", tmp_path)
        return
    with _transaction(request.getfixturevalue("_sqlite_shared"), tmp_path) as application:
        yield application


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
def in_app(app):
    """``with in_app() as s:`` — a short app context and its database session, closed before the
    test client makes requests (so requests get their own context, as in production)."""
    from workspace.db import db

    @contextmanager
    def _ctx():
        with app.app_context():
            yield db.session

    return _ctx


@pytest.fixture
def connect(app):
    """connect(user, csrf="valid") -> a Socket.IO test client on /live, logged in, sending the CSRF
    token of its session (or ``csrf`` itself: None sends no auth). With the valid token it must be
    connected. Clients are disconnected after the test."""
    from tests.world import login_client
    from workspace.extensions import socketio
    from workspace.realtime import NAMESPACE

    clients = []

    def _connect(user, csrf: object = "valid"):
        http, token = login_client(app, user)
        auth = {"csrf_token": token if csrf == "valid" else csrf} if csrf is not None else None
        sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http, auth=auth)
        clients.append(sio)
        if csrf == "valid":
            assert sio.is_connected(NAMESPACE), f"{user.email} non si connette a {NAMESPACE}"
        return sio

    yield _connect
    for sio in clients:
        if sio.is_connected(NAMESPACE):
            sio.disconnect(namespace=NAMESPACE)


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


# --------------------------------------------------------------------------- factories


@pytest.fixture
def make(request, app):
    """``with make() as s:`` — where factories write: the test's own session when it uses the
    ``session`` fixture (the objects stay attached to it), otherwise a short app context closed
    again, since an app context left open would share ``g`` (logged-in user, CSRF token) with the
    test's requests."""
    from workspace.db import db

    @contextmanager
    def _where():
        if "session" in request.fixturenames:
            yield request.getfixturevalue("session")
            return
        with app.app_context():
            yield db.session

    return _where


@pytest.fixture
def world(make):
    """The standard tavolo of tests/world.py: window open, a convened seduta, one person per role."""
    from tests.world import build_world

    with make() as s:
        return build_world(s)


@pytest.fixture
def vw(make):
    """The standard tavolo with four bisogni, ready for votes (tests/voting/support.py)."""
    from tests.voting.support import voting_world

    with make() as s:
        return voting_world(s)


@pytest.fixture
def person(make):
    """person(email, password=..., admin=False, org=None, name=None) -> a User made through the
    accounts service (tests.helpers.make_user), committed."""
    from tests.helpers import make_user

    def _person(email: str, **kw):
        with make() as s:
            return make_user(s, email, **kw)

    return _person


@pytest.fixture
def organisation(make):
    """organisation(**fields) -> an Organisation made through the accounts service
    (tests.helpers.make_org: a Comune with a unique name unless told), committed."""
    from tests.helpers import make_org

    def _organisation(**kw):
        with make() as s:
            return make_org(s, **kw)

    return _organisation
