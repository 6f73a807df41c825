"""The test harness itself (tests/conftest.py): each test runs in a transaction rolled back at its end,
with the app's session joined through savepoints. What the code under test relies on must still
hold: ``commit()`` fires ``after_commit`` (live broadcasts), ``rollback()`` undoes only what came
after the last commit, and nothing reaches the database for real."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from tests.world import add_bisogno, bisogno_data
from workspace import record
from workspace.needs import service as needs
from workspace.needs.models import Bisogno


@pytest.fixture
def emitted():
    """Every broadcast workspace.record hands to the emitter (the Socket.IO one is put back after)."""
    seen: list[tuple[int, dict]] = []
    previous = record._emitter, record._many
    record.set_emitter(lambda tavolo_id, message: seen.append((tavolo_id, message)))
    yield seen
    record.set_emitter(*previous)


def test_commit_fires_after_commit_and_broadcasts(session, world, emitted):
    before = record.last_seq(session, world.tavolo.id)
    record.append(session, world.tavolo.id, "test.ping", {"n": 1})
    assert emitted == []  # not before the commit
    session.commit()
    assert [(t, m["seq"], m["kind"]) for t, m in emitted] == [(world.tavolo.id, before + 1, "test.ping")]


def test_rollback_forgets_the_broadcast_and_keeps_what_was_committed(session, world, emitted):
    kept = add_bisogno(session, world, title="Bisogno registrato")
    before = record.last_seq(session, world.tavolo.id)
    assert [m["seq"] for _t, m in emitted] == [before]
    needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data(title="Mai salvato"))
    session.rollback()
    session.commit()  # nothing pending: nothing to broadcast
    assert [m["seq"] for _t, m in emitted] == [before]
    assert record.last_seq(session, world.tavolo.id) == before
    assert session.scalars(select(Bisogno.title).where(Bisogno.tavolo_id == world.tavolo.id)).all() == [kept.title]


def test_a_failed_flush_rolls_back_to_the_last_commit_only(session, world):
    add_bisogno(session, world)
    count = session.scalar(select(func.count()).select_from(Bisogno))
    with pytest.raises(Exception):  # noqa: B017 — any integrity error of the driver
        session.execute(text("INSERT INTO bisogno (id) VALUES (NULL)"))
        session.flush()
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Bisogno)) == count
    add_bisogno(session, world, title="Dopo l'errore")  # the transaction is usable again
    assert session.scalar(select(func.count()).select_from(Bisogno)) == count + 1


def test_nothing_committed_in_a_test_is_visible_outside_it(app, session, world):
    """A commit inside the test is a savepoint: another connection does not see the tavolo."""
    session.commit()
    name = world.tavolo.title
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        # A plain connection reads the last committed state (WAL) without taking the write lock.
        with sqlite3.connect(url.database) as other:
            seen = other.execute("SELECT count(*) FROM tavolo WHERE title = ?", (name,)).fetchone()[0]
    else:
        from sqlalchemy import create_engine

        engine = create_engine(url)
        with engine.connect() as other:
            seen = other.execute(text("SELECT count(*) FROM tavolo WHERE title = :n"), {"n": name}).scalar()
        engine.dispose()
    assert seen == 0
    assert session.scalar(text("SELECT count(*) FROM tavolo WHERE title = :n"), {"n": name}) == 1


def test_config_and_instance_are_the_tests_own(app, tmp_path):
    assert app.config["MAIL_DIR"] == str(tmp_path / "mail")
    assert app.instance_path == str(tmp_path)
    assert "tavoli_ratelimit" not in app.extensions


@pytest.mark.parametrize("shared", ["_sqlite_shared", "_pg_shared"])
def test_each_test_gets_the_config_and_caches_back(request, tmp_path, shared):
    from tests.conftest import _transaction
    from workspace.ratelimit import get_limiter

    app = request.getfixturevalue(shared)
    default = app.config["TEXT_LIMIT"]
    with _transaction(app, tmp_path / "uno"):
        app.config["TEXT_LIMIT"] = 3
        app.config["MAIL_SERVER"] = "smtp.example.it"
        limiter = get_limiter(app)
        limiter.hit(["login:ip:1.2.3.4"])
    assert app.config["TEXT_LIMIT"] == default and app.config["MAIL_SERVER"] is None
    with _transaction(app, tmp_path / "due"):
        assert app.config["MAIL_DIR"] == str(tmp_path / "due" / "mail")
        assert get_limiter(app) is not limiter
        assert get_limiter(app).backend.status("login:ip:1.2.3.4") == (0, 0)


@pytest.mark.parametrize("shared", ["_sqlite_shared", "_pg_shared"])
def test_a_real_commit_in_the_shared_database_fails_the_test_and_is_cleaned(request, tmp_path, shared):
    from tests.conftest import _transaction
    from tests.world import build_world
    from workspace.db import db
    from workspace.tavoli.models import Tavolo

    app = request.getfixturevalue(shared)
    with pytest.raises(pytest.fail.Exception, match="lasciato righe.*tavolo"):
        with _transaction(app, tmp_path / "uno"), app.app_context():
            build_world(db.session)
            db.session.get_bind().commit()  # the outer transaction itself: a real commit
    with _transaction(app, tmp_path / "due"), app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tavolo)) == 0
