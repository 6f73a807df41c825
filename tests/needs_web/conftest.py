from __future__ import annotations

import pytest

from tests.world import build_world


@pytest.fixture
def world(app):
    from workspace.db import db

    # Built in a context that is closed again: an app context left open would share ``g``
    # (logged-in user, CSRF token) between the test's requests.
    with app.app_context():
        return build_world(db.session)
