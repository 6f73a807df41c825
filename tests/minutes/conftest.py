from __future__ import annotations

import pytest


@pytest.fixture
def scripted(make):
    """The scripted seduta of tests/minutes/support.py, closed, with its draft verbale (committed).
    With the ``session`` fixture the objects stay attached to it; otherwise use ``in_app`` to read."""
    from tests.minutes.support import scripted_seduta

    with make() as s:
        return scripted_seduta(s)
