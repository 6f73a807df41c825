"""Logging out ends that login on the server (issue #12, fault 1): a copied session or remember-me
cookie replayed after logout is not logged in, the person's other devices stay logged in unless
they choose "esci da tutti i dispositivi", and the login's live connections are closed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import csrf_post, login, logout
from tests.world import login_client
from workspace.accounts.models import LoginSession, User
from workspace.realtime import NAMESPACE


def _cookie(client, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


def _replay(app, **cookies: str):
    """A fresh client (another browser) holding only copies of ``cookies``."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def test_replayed_session_cookie_is_not_logged_in_after_logout(app, client, person):
    maria = person("maria@example.it").email
    assert login(client, maria).status_code == 302
    copied = _cookie(client, "session")
    assert _replay(app, session=copied).get("/profilo").status_code == 200  # the copy works while logged in
    assert logout(client).status_code == 302
    thief = _replay(app, session=copied)
    assert thief.get("/profilo").status_code == 302
    assert thief.get("/privacy/dati").status_code in (302, 401)


def test_replayed_remember_cookie_is_not_logged_in_after_logout(app, client, person):
    maria = person("maria@example.it").email
    response = login(client, maria, remember="y")
    remember = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "SameSite=Lax" in remember  # fault 8: the remember-me cookie has SameSite too
    copied = _cookie(client, "remember_token")
    assert _replay(app, remember_token=copied).get("/profilo").status_code == 200
    logout(client)
    assert _replay(app, remember_token=copied).get("/profilo").status_code == 302


def test_logout_keeps_the_other_devices_logged_in(app, person, in_app):
    maria = person("maria@example.it").email
    phone, laptop = app.test_client(), app.test_client()
    login(phone, maria)
    login(laptop, maria)
    logout(phone)
    assert phone.get("/profilo").status_code == 302
    assert laptop.get("/profilo").status_code == 200
    with in_app() as s:
        user = s.scalar(select(User).where(User.email == maria))
        logins = s.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).all()
        assert sorted(lg.ended_at is None for lg in logins) == [False, True]


def test_logout_from_every_device(app, person):
    maria = person("maria@example.it").email
    phone, laptop = app.test_client(), app.test_client()
    login(phone, maria, remember="y")
    login(laptop, maria)
    copied = {"session": _cookie(phone, "session"), "remember_token": _cookie(phone, "remember_token")}
    page = laptop.get("/profilo").get_data(as_text=True)
    assert "Esci da tutti i dispositivi" in page
    response = csrf_post(laptop, "/esci-da-tutti-i-dispositivi", {}, page="/profilo")
    assert response.status_code == 302
    assert laptop.get("/profilo").status_code == 302
    assert phone.get("/profilo").status_code == 302
    assert _replay(app, **copied).get("/profilo").status_code == 302
    # A new login works as before.
    assert login(laptop, maria).status_code == 302 and laptop.get("/profilo").status_code == 200


def test_logout_everywhere_needs_a_login_and_post(client):
    assert client.get("/esci-da-tutti-i-dispositivi").status_code == 405
    assert client.post("/esci-da-tutti-i-dispositivi").status_code == 400  # no CSRF token


def test_cookie_without_a_login_key_is_refused(app, world):
    """A cookie naming only the person (the format before logins were recorded) is not a login."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = world.delegate.login_id
        sess["_fresh"] = True
    assert client.get("/profilo").status_code == 302


@pytest.mark.real_db  # the disconnect during logout's commit ends presences in a thread of its own
def test_logout_disconnects_that_logins_sockets_and_they_cannot_rejoin(app, world, connect):
    from workspace.extensions import socketio

    http, token = login_client(app, world.delegate)
    old = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http, auth={"csrf_token": token})
    assert old.is_connected(NAMESPACE)
    assert old.emit("join", {"tavolo_id": world.tavolo.id, "presence": False}, namespace=NAMESPACE,
                    callback=True)["ok"] is True
    other_device = connect(world.delegate)  # the same person elsewhere
    copied = _cookie(http, "session")

    assert http.post("/esci", data={"csrf_token": token}).status_code == 302
    assert not old.is_connected(NAMESPACE), "la connessione del login chiuso è ancora aperta"
    assert other_device.is_connected(NAMESPACE), "un altro dispositivo è stato disconnesso"

    replay = _replay(app, session=copied)
    again = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=replay, auth={"csrf_token": token})
    assert not again.is_connected(NAMESPACE), "il cookie copiato apre ancora una connessione"


def test_a_socket_whose_login_ended_elsewhere_is_refused_and_closed(app, world):
    """A connection the logging-out process does not hold (another server process) is refused at
    its next message and closed: simulated by ending the login without the disconnect."""
    from workspace.accounts import service
    from workspace.db import db
    from workspace.extensions import socketio

    http, token = login_client(app, world.delegate)
    sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http, auth={"csrf_token": token})
    assert sio.is_connected(NAMESPACE)
    with app.test_request_context():
        from workspace.accounts.auth import load_user

        user = load_user(_session_user_id(app, http))
        assert user is not None
        service.logged_out(db.session, user)
        db.session.commit()
    ack = sio.emit("join", {"tavolo_id": world.tavolo.id}, namespace=NAMESPACE, callback=True)
    assert ack["error"] == "unauthorized"
    assert not sio.is_connected(NAMESPACE)


def _session_user_id(app, http) -> str:
    with http.session_transaction() as sess:
        return sess["_user_id"]


def test_password_change_closes_the_persons_open_connections(app, world):
    from workspace.extensions import socketio

    http, token = login_client(app, world.delegate)
    elsewhere_http, elsewhere_token = login_client(app, world.delegate)
    elsewhere = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=elsewhere_http,
                                     auth={"csrf_token": elsewhere_token})
    assert elsewhere.is_connected(NAMESPACE)
    from tests.world import PASSWORD

    response = http.post("/profilo", data={"csrf_token": token, "current_password": PASSWORD,
                                           "new_password": "una-password-nuova-1",
                                           "new_password_confirm": "una-password-nuova-1"})
    assert response.status_code == 302
    assert not elsewhere.is_connected(NAMESPACE)
    assert http.get("/profilo").status_code == 200  # this session continues


def test_deleting_the_account_closes_its_open_connections(app, world):
    from workspace.extensions import socketio

    http, token = login_client(app, world.delegate)
    sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http, auth={"csrf_token": token})
    assert sio.is_connected(NAMESPACE)
    response = http.post("/privacy/elimina", data={"csrf_token": token, "email": world.delegate.email})
    assert response.status_code == 302
    assert not sio.is_connected(NAMESPACE)
