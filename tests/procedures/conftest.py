from __future__ import annotations

import pytest

from tests.procedures.support import build


@pytest.fixture
def setup(session):
    """A draft procedure with two tavoli and its people, in the test's session."""
    return build(session)
