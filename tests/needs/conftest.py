from __future__ import annotations

import pytest

from tests.world import build_world


@pytest.fixture
def world(session):
    """The standard tavolo (window open, seduta convened), built in the test's session."""
    return build_world(session)
