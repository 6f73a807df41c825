"""The suite's own helpers catch what they claim to: ``refused`` fails for a refusal that wrote a
row, changed one or moved an event counter before raising, and passes a clean one."""
from __future__ import annotations

import pytest

from tests.helpers import refused
from tests.world import bisogno_data
from workspace import record
from workspace.needs import service as needs
from workspace.problems import Problem


def test_refused_passes_a_clean_refusal(session, world):
    problem = refused(session, lambda: needs.create_bisogno(session, world.outsider, world.tavolo, bisogno_data()),
                      "forbidden", 403, "Solo i facilitatori e i delegati")
    assert problem.status == 403


def test_refused_catches_a_row_written_before_raising(session, world):
    def sloppy():
        needs.create_bisogno(session, world.delegate, world.tavolo, bisogno_data())
        raise Problem("invalid", "Rifiutato dopo aver scritto.", 422)

    with pytest.raises(AssertionError, match=r"bisogno: 0 -> 1 righe"):
        refused(session, sloppy, "invalid", 422)


def test_refused_catches_a_row_changed_before_raising(session, world):
    def sloppy():
        world.tavolo.title = "Titolo cambiato per sbaglio"
        raise Problem("conflict", "Rifiutato dopo aver cambiato.", 409)

    with pytest.raises(AssertionError, match=r"tavolo: righe modificate"):
        refused(session, sloppy, "conflict", 409)


def test_refused_catches_an_event_counter_moved_before_raising(session, world):
    def sloppy():
        record.next_seq(session, world.tavolo.id)
        raise Problem("conflict", "Rifiutato dopo aver contato.", 409)

    with pytest.raises(AssertionError, match=r"\(event counters\)"):
        refused(session, sloppy, "conflict", 409)


def test_refused_checks_code_status_and_message(session, world):
    def refuse():
        raise Problem("conflict", "Seduta già chiusa.", 409)

    with pytest.raises(AssertionError):
        refused(session, refuse, "conflict", 422)
    with pytest.raises(AssertionError):
        refused(session, refuse, "conflict", 409, "aperta")
    with pytest.raises(pytest.fail.Exception):  # nothing raised at all
        refused(session, lambda: None, "conflict", 409)
