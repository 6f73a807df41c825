from __future__ import annotations

import pytest


@pytest.fixture
def closing(make):
    """A procedure in "tavoli in corso" whose tavolo held the scripted seduta (committed)."""
    from tests.sintesi.support import running_procedure

    with make() as s:
        return running_procedure(s)
