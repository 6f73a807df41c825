from __future__ import annotations

import pytest

from tests.world import build_world, login_client
from workspace.extensions import socketio
from workspace.realtime import NAMESPACE


@pytest.fixture
def world(app):
    from workspace.db import db

    # Built in a context that is closed again: an app context left open would share ``g``
    # (logged-in user, CSRF token) between the test's requests.
    with app.app_context():
        return build_world(db.session)


@pytest.fixture
def connect(app):
    """connect(user) -> a Socket.IO test client on /live, logged in with a valid CSRF token."""
    clients = []

    def _connect(user, csrf: str | None = "valid"):
        http, token = login_client(app, user)
        auth = {"csrf_token": token if csrf == "valid" else csrf} if csrf is not None else None
        sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http, auth=auth)
        clients.append(sio)
        return sio

    yield _connect
    for sio in clients:
        if sio.is_connected(NAMESPACE):
            sio.disconnect(namespace=NAMESPACE)
