"""Once the documento di sintesi is approved the procedure is "conclusa" and nothing in it changes:
every area's write services are refused with the same 409 and Italian message, by the one guard
every flush passes (``workspace.procedures.closure``), and nothing is half-written. Reading keeps
working (the bookkeeping of visits is allowed) and so do the legal duties (pseudonymisation)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import database_footprint, footprint_changes
from tests.sintesi.support import concluded, procedure_of, running_procedure
from workspace.db import utcnow
from workspace.minutes import service as minutes
from workspace.needs import service as needs
from workspace.needs.models import Bisogno
from workspace.planning import service as planning
from workspace.problems import Problem
from workspace.procedures import lifecycle
from workspace.sintesi import service as sintesi
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli
from workspace.voting import rounds

CONCLUDED = ("procedure_concluded", 409, "La procedura è conclusa")


def refused(session, fn, code: str, status: int, *fragments: str) -> Problem:
    """Like tests.helpers.refused, for a refusal that may come at flush, after the service added
    rows to the session: a careless caller that commits anyway is refused again (nothing is
    written); after the rollback every view does (``web.transaction``) the database is unchanged."""
    before = database_footprint(session)
    with pytest.raises(Problem) as caught:
        fn()
    problem = caught.value
    assert (problem.code, problem.status) == (code, status), (problem.code, problem.status, problem.message)
    for fragment in fragments:
        assert fragment in problem.message, problem.message
    if session.new or session.dirty or session.deleted:
        with pytest.raises(Problem):
            session.commit()
    session.rollback()
    changes = footprint_changes(before, database_footprint(session))
    assert not changes, "il rifiuto ha lasciato tracce nel database: " + "; ".join(changes)
    return problem


@pytest.fixture
def closed(session):
    c = running_procedure(session)
    concluded(session, c)
    return c


def test_every_area_refuses_to_write_in_a_concluded_procedure(session, closed):
    c = closed
    procedure = procedure_of(session, c)
    first, before = session.get_one(Bisogno, c.first), session.get_one(Bisogno, c.before)
    verbale = minutes.verbale_of(session, c.seduta.id)
    assert verbale is not None and verbale.status == "bozza"
    calls = {
        "needs.create_bisogno": lambda: needs.create_bisogno(session, c.delegate, c.tavolo,
                                                             {"title": "Tardivo", "macroarea": "E"}),
        "needs.update_bisogno": lambda: needs.update_bisogno(session, c.delegate, first, {"title": "Cambiato"},
                                                             first.version),
        "needs.add_annotation": lambda: needs.add_annotation(session, c.delegate, first, "dato", "Un dato tardivo."),
        "needs.set_status": lambda: needs.set_status(session, c.facilitator, before, "ritirato"),
        "tavoli.create_seduta": lambda: tavoli.create_seduta(session, c.facilitator, c.tavolo,
                                                             utcnow() + timedelta(days=1), "Sala", "presenza",
                                                             ["Punto"]),
        "membership.set_role": lambda: membership.set_role(session, c.admin, c.tavolo, c.outsider, "observer"),
        "membership.create_tavolo": lambda: membership.create_tavolo(session, c.admin, procedure, "Nuovo", ["E"]),
        "voting.create_round": lambda: rounds.create_round(session, c.facilitator, c.tavolo, "Di nuovo", "dot",
                                                           [c.first, c.before],
                                                           closes_at=utcnow() + timedelta(days=2)),
        "minutes.save_section": lambda: minutes.save_section(
            session, c.facilitator, verbale, "apertura", "Testo tardivo.",
            minutes.section_version(session, verbale, "apertura")),
        "planning.record_disposition": lambda: planning.record_disposition(session, c.admin, c.first, "accolto",
                                                                           "Motivazione tardiva."),
        "planning.create_scheda": lambda: planning.create_scheda(session, c.admin, procedure, [c.first]),
        "procedures.set_rup": lambda: lifecycle.set_rup(session, c.admin, procedure, c.facilitator),
        "sintesi.regenerate": lambda: sintesi.regenerate(session, c.admin, sintesi.documento_of(session, procedure)),
    }
    for name, call in calls.items():
        problem = refused(session, call, *CONCLUDED)
        assert "documento di sintesi" in problem.message, name
    assert procedure_of(session, c).status == "conclusa"


def test_a_write_that_slipped_past_every_service_is_refused_at_flush(session, closed):
    first = session.get_one(Bisogno, closed.first)
    first.title = "Scritto di nascosto"
    with pytest.raises(Problem) as caught:
        session.flush()
    assert caught.value.code == "procedure_concluded" and caught.value.status == 409
    session.rollback()
    assert session.get_one(Bisogno, closed.first).title != "Scritto di nascosto"


def test_deleting_is_refused_too(session, closed):
    session.delete(session.get_one(Bisogno, closed.before))
    with pytest.raises(Problem):
        session.flush()
    session.rollback()


def test_a_procedure_not_concluded_is_untouched_by_the_guard(session):
    c = running_procedure(session)
    bisogno, _ev = needs.create_bisogno(session, c.delegate, c.tavolo, {"title": "Si può", "macroarea": "E"})
    session.commit()
    assert bisogno.id


def test_pseudonymising_a_participant_still_works(session, closed):
    from workspace.privacy import service as privacy

    report = privacy.pseudonymise_user(session, closed.delegate2)
    session.commit()
    assert report.user_id == closed.delegate2.id


def test_the_guard_reads_the_status_again_after_a_rollback(session, closed):
    # After a rollback every loaded object is expired: the guard must not take "unknown" for "open".
    session.rollback()
    first = session.get_one(Bisogno, closed.first)
    with pytest.raises(Problem) as caught:
        needs.add_annotation(session, closed.delegate, first, "dato", "Dopo un rollback.")
    assert caught.value.code == "procedure_concluded"
    session.rollback()
