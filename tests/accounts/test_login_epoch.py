"""The user loader keeps live logins and reads them again only once a login may have ended
(workspace/accounts/epoch.py names the threat): fewer queries, and still refused at the next
request or message after a logout, a password change, an account switched off or deleted — also when
another process made the change (the epoch in Redis) and when Redis cannot be read (read again)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, event, update

from tests.realtime.support import call, join
from workspace import realtime
from workspace.accounts import epoch
from workspace.accounts.models import LoginSession, User
from workspace.db import db, utcnow


@pytest.fixture
def person_loads(app):
    """How many statements read the person's row (the user loader's query) from now on."""
    engine = app.extensions["tavoli_db"]["engine"]
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM user_account JOIN login_session" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    yield seen
    event.remove(engine, "before_cursor_execute", before)


def _still_in(client, world) -> dict:
    return call(client, "page", {"tavolo_id": world.tavolo.id, "of": "bisogni"})


def test_the_person_is_loaded_at_the_handshake_and_kept_for_the_next_messages(app, world, connect, person_loads):
    client = connect(world.delegate)  # a login, a page, the handshake: loaded
    loads = len(person_loads)
    assert loads >= 1
    join(client, world.tavolo.id, presence=False)
    for _ in range(3):
        assert _still_in(client, world).get("ok")
    assert len(person_loads) == loads


def test_a_login_ended_without_disconnecting_is_refused_at_the_next_message(app, world, connect):
    """As if another process had ended it: no disconnect reaches this connection, the epoch moves."""
    client = connect(world.delegate)
    join(client, world.tavolo.id, presence=False)
    with app.app_context():
        db.session.execute(update(LoginSession).where(LoginSession.user_id == world.delegate.id)
                           .values(ended_at=utcnow()))
        db.session.commit()
    ack = _still_in(client, world)
    assert ack["error"] == "unauthorized"
    assert not client.is_connected(realtime.NAMESPACE)


@pytest.mark.parametrize("change", ["switched_off", "logins_deleted"])
def test_an_account_switched_off_or_its_logins_deleted_is_refused(app, world, connect, change):
    client = connect(world.delegate)
    join(client, world.tavolo.id, presence=False)
    with app.app_context():
        if change == "switched_off":
            db.session.get(User, world.delegate.id).active = False
        else:
            db.session.execute(delete(LoginSession).where(LoginSession.user_id == world.delegate.id))
        db.session.commit()
    assert _still_in(client, world)["error"] == "unauthorized"


def test_a_new_login_elsewhere_does_not_move_the_epoch(app, world, connect):
    client = connect(world.delegate)
    before = epoch.current(app)
    connect(world.delegate2)  # a login: a new row, nothing ended
    assert epoch.current(app) == before
    assert _still_in(client, world).get("ok")


def test_a_rolled_back_change_still_moves_the_epoch_when_flushed_before_a_savepoint(app, world):
    """Over-counting is harmless, missing a change is not: a change flushed before a savepoint that
    is rolled back is committed, and moves the epoch."""
    with app.app_context():
        before = epoch.current(app)
        db.session.get(User, world.delegate.id).name = "Nome cambiato"
        db.session.flush()
        with db.session.begin_nested() as nested:
            db.session.get(User, world.delegate2.id).name = "Annullato"
            db.session.flush()
            nested.rollback()
        db.session.commit()
        assert epoch.current(app) != before


def test_an_old_copy_is_loaded_again(app, world, connect, person_loads, monkeypatch):
    client = connect(world.delegate)
    loads = len(person_loads)
    monkeypatch.setattr(epoch, "MAX_AGE", 0.0)
    assert _still_in(client, world).get("ok")
    assert _still_in(client, world).get("ok")
    assert len(person_loads) == loads + 2


def test_the_epoch_of_other_processes_comes_through_redis(app, redis_url, world, connect, person_loads,
                                                         monkeypatch):
    """With REDIS_URL: another process's change (an INCR of the shared key) is seen at the next
    message; Redis unreachable means "unknown": the person is loaded from the database."""
    import redis

    shared = redis.Redis.from_url(redis_url)
    key = f"tavoli-test-{id(app)}:logins:epoch"
    monkeypatch.setitem(app.extensions, epoch._EXT, (shared, key))
    client = connect(world.delegate)
    loads = len(person_loads)
    assert _still_in(client, world).get("ok")
    assert len(person_loads) == loads
    shared.incr(key)  # another process ended a login
    assert _still_in(client, world).get("ok")
    assert len(person_loads) == loads + 1
    assert _still_in(client, world).get("ok")
    assert len(person_loads) == loads + 1  # kept again

    # Another process really ends this login (the database) and moves the shared epoch.
    with app.app_context():
        db.session.execute(update(LoginSession).where(LoginSession.user_id == world.delegate.id)
                           .values(ended_at=utcnow()))
        db.session.commit()  # moves the shared epoch, and this process's count: undo that part
    monkeypatch.setattr(epoch, "_local", epoch._local - 1)
    assert _still_in(client, world)["error"] == "unauthorized"
    shared.delete(key)

    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setitem(app.extensions, epoch._EXT, (unreachable, key))
    assert epoch.current(app) is None
    other = connect(world.delegate2)
    loads = len(person_loads)
    assert _still_in(other, world).get("ok")
    assert len(person_loads) == loads + 1  # nothing kept is trusted


def test_pages_reuse_the_kept_login_until_it_ends(app, world, person_loads):
    from tests.world import login_client

    http, token = login_client(app, world.delegate)
    assert http.get("/profilo").status_code == 200
    loads = len(person_loads)
    for _ in range(3):
        assert http.get("/profilo").status_code == 200
    assert len(person_loads) == loads
    assert http.post("/esci", data={"csrf_token": token}).status_code == 302
    assert http.get("/profilo").status_code == 302  # to the login page: the kept copy is not trusted


def test_a_person_already_in_the_session_is_not_overwritten_by_the_kept_copy(app, world):
    """Within a transaction that changed the person (not committed yet), the loader gives that same
    object, not the kept copy merged over it."""
    from tests.world import login_client
    from workspace.accounts.auth import load_user

    http, _token = login_client(app, world.delegate)
    with http.session_transaction() as sess:
        cookie_id = sess["_user_id"]
    with app.test_request_context():
        assert load_user(cookie_id) is not None  # kept now
        db.session.expunge_all()
        person = db.session.get(User, world.delegate.id)
        person.name = "Nome non ancora salvato"
        again = load_user(cookie_id)
        assert again is person and again.name == "Nome non ancora salvato"
        db.session.rollback()


def test_logins_wanted_together_are_read_in_one_query_each_with_its_own_outcome(app, world, person_loads):
    """A join storm's handshakes: the logins not kept yet are read by one of them in one query; each
    gets its own person, and an ended login, a wrong key or a switched-off account gets nobody."""
    import secrets

    from workspace.accounts import auth

    keys = {}
    with app.app_context():
        for name in ("delegate", "colleague", "observer", "outsider"):
            user = db.session.get(User, getattr(world, name).id)
            keys[name] = (user.login_id, secrets.token_urlsafe(24))
            db.session.add(LoginSession(user_id=user.id, key_hash=auth.key_hash(keys[name][1]),
                                        ended_at=utcnow() if name == "observer" else None))
        db.session.execute(update(User).where(User.id == world.outsider.id).values(active=False))
        db.session.commit()
    wanted = [auth._Wanted(login_id, auth.key_hash(key)) for login_id, key in keys.values()]
    wanted.append(auth._Wanted(keys["delegate"][0], auth.key_hash("not-the-key")))
    wanted.append(auth._Wanted(keys["colleague"][0], auth.key_hash(keys["delegate"][1])))  # someone else's key
    with app.app_context():
        readers = auth.readers(app)
        waiting = readers.waiting(*wanted)
        readers.lead()
    assert len(person_loads) == 1
    assert all(w.done and w.ready.is_set() for w in waiting) and all(w.error is None for w in wanted)
    assert not readers.queue and not readers.leading
    got = [w.template.id if w.template is not None else None for w in wanted]
    assert got == [world.delegate.id, world.colleague.id, None, None, None, None]


def test_a_failed_read_reaches_every_login_waiting_for_it(app, world, monkeypatch):
    """The database could not be read: each waiting handshake gets the failure (an error, retried by
    the client), not "logged out"."""
    from sqlalchemy.exc import OperationalError

    from workspace.accounts import auth

    wanted = [auth._Wanted("x", auth.key_hash("a")), auth._Wanted("y", auth.key_hash("b"))]

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    with app.app_context():
        readers = auth.readers(app)
        waiting = readers.waiting(*wanted)
        monkeypatch.setattr(db.session, "execute", broken)
        readers.lead()
        assert all(w.done for w in waiting)
        assert all(isinstance(w.error, OperationalError) and w.template is None for w in wanted)
        assert not readers.leading
        with pytest.raises(OperationalError):  # what a handshake waiting for that read sees
            auth._read_together("z", auth.key_hash("c"))
