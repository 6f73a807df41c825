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
