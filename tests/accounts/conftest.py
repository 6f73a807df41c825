"""Accounts tests hash many passwords: use cheap argon2 parameters unless a test asks for the real ones."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from workspace.accounts import service

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(request, monkeypatch):
    if "real_argon2" not in request.keywords:
        monkeypatch.setattr(service, "_hasher", CHEAP)
        monkeypatch.setattr(service, "_dummy_hash", None)
    yield


def pytest_configure(config):
    config.addinivalue_line("markers", "real_argon2: use the production argon2 parameters")


@pytest.fixture
def in_app(app):
    """``with in_app() as s:`` — a short app context and its database session, closed before the
    test client makes requests (so requests get their own context, as in production)."""
    from contextlib import contextmanager

    from workspace.db import db

    @contextmanager
    def _ctx():
        with app.app_context():
            yield db.session

    return _ctx
