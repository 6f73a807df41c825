"""Fixtures of the privacy tests: the test world, a client logging in through the real forms."""
from __future__ import annotations

import pytest

from tests.world import build_world


@pytest.fixture
def world(app):
    from workspace.db import db

    with app.app_context():
        return build_world(db.session)


@pytest.fixture
def notice_on(app):
    """Unit tests run with the notice at login switched off (workspace/config.py); these need it."""
    app.config["PRIVACY_NOTICE_AT_LOGIN"] = True
    return app


@pytest.fixture
def in_app(app):
    """``with in_app() as s:`` — a short app context and its session, closed before client requests."""
    from contextlib import contextmanager

    from workspace.db import db

    @contextmanager
    def _ctx():
        with app.app_context():
            yield db.session

    return _ctx
