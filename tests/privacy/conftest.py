"""Fixtures of the privacy tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def notice_on(app):
    """Unit tests run with the notice at login switched off (workspace/config.py); these need it."""
    app.config["PRIVACY_NOTICE_AT_LOGIN"] = True
    return app
