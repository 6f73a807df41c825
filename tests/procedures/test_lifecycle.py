"""The lifecycle: forward only, one step at a time, each step logged with who and when, each refused
with an Italian message naming the data that is missing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.procedures.support import DEADLINE, SECTIONS, T0, advance, apply, fill
from workspace.problems import Problem
from workspace.procedures import admissions, lifecycle
from workspace.procedures.models import ProcedureTransition, PublicationItem


def _refused(session, s, target, now, status, *fragments):
    before = s.procedure.status
    with pytest.raises(Problem) as caught:
        lifecycle.transition(session, s.rup if s.procedure.rup_id else s.admin, s.procedure, target, now=now)
    problem = caught.value
    assert problem.status == status, problem.message
    for fragment in fragments:
        assert fragment in problem.message, problem.message
    session.rollback()
    assert s.procedure.status == before
    return problem.message


def test_happy_path_logs_who_and_when(session, setup):
    s = setup
    fill(session, s)
    advance(session, s, "tavoli_in_corso")
    assert s.procedure.status == "tavoli_in_corso"
    steps = [(t.from_status, t.to_status, t.actor_id, t.actor_name) for t in s.procedure.transitions]
    assert steps == [
        ("bozza", "avviso_pubblicato", s.rup.id, "Rita Responsabile"),
        ("avviso_pubblicato", "candidature", s.rup.id, "Rita Responsabile"),
        ("candidature", "ammissioni", s.rup.id, "Rita Responsabile"),
        ("ammissioni", "tavoli_in_corso", s.rup.id, "Rita Responsabile"),
    ]
    assert [t.at for t in s.procedure.transitions] == [
        T0, T0 + timedelta(hours=1), DEADLINE + timedelta(minutes=1), DEADLINE + timedelta(days=5)]


def test_publication_needs_every_piece_and_says_which(session, setup):
    s = setup
    message = _refused(session, s, "avviso_pubblicato", T0, 422, "Non si può passare a «Avviso pubblicato»")
    for fragment in ("il numero dell'atto di avvio", "la data dell'atto di avvio",
                     "il file dell'atto di avvio (con la sua impronta SHA-256)",
                     "il responsabile del procedimento (RUP)", "la sezione «Oggetto» dell'avviso",
                     "la sezione «Chi può partecipare» dell'avviso",
                     "la sezione «Come candidarsi e quali dichiarazioni» dell'avviso",
                     "la sezione «Tempi e modalità di svolgimento» dell'avviso",
                     "la sezione «Come si conclude il procedimento» dell'avviso",
                     "la sezione «Trasparenza» dell'avviso", "la data di pubblicazione dell'avviso",
                     "la scadenza delle candidature"):
        assert fragment in message, fragment
    assert session.scalar(select(func.count()).select_from(ProcedureTransition)) == 0


def test_publication_refuses_each_single_missing_piece(session, setup):
    s = setup
    fill(session, s)
    s.procedure.act_file_sha256 = None
    assert "il file dell'atto di avvio" in _refused(session, s, "avviso_pubblicato", T0, 422)
    fill(session, s)
    s.procedure.rup = None
    session.flush()
    message = _refused(session, s, "avviso_pubblicato", T0, 422)
    assert message == "Non si può passare a «Avviso pubblicato»: manca il responsabile del procedimento (RUP)."
    fill(session, s)
    lifecycle.update_avviso(session, s.admin, s.procedure, sections={**SECTIONS, "avviso_closure": "  "},
                          published_at=T0, deadline=None)
    message = _refused(session, s, "avviso_pubblicato", T0, 422)
    assert "la sezione «Come si conclude il procedimento» dell'avviso" in message
    assert "la scadenza delle candidature" in message
    assert "Oggetto" not in message


def test_publication_needs_a_tavolo(session, setup):
    s = setup
    empty = lifecycle.create_procedure(session, s.admin, s.procedure.ambito_code, "Senza tavoli", rup=s.rup)
    s.procedure = empty
    fill(session, s)
    assert "almeno un tavolo tematico" in _refused(session, s, "avviso_pubblicato", T0, 422)


def test_forward_only_and_no_skipping(session, setup):
    s = setup
    fill(session, s)
    _refused(session, s, "candidature", T0, 409, "non si possono saltare fasi", "«Avviso pubblicato»")
    advance(session, s, "candidature")
    _refused(session, s, "avviso_pubblicato", T0 + timedelta(days=2), 409, "si può solo andare avanti")
    _refused(session, s, "candidature", T0 + timedelta(days=2), 409, "si può solo andare avanti")
    _refused(session, s, "bozza", T0 + timedelta(days=2), 409)
    _refused(session, s, "chiusa", T0 + timedelta(days=2), 422, "Stato della procedura non valido")


def test_applications_open_only_once_the_avviso_is_out(session, setup):
    s = setup
    fill(session, s, published_at=T0 + timedelta(days=2), deadline=DEADLINE)
    advance(session, s, "avviso_pubblicato", now=T0)
    _refused(session, s, "candidature", T0 + timedelta(days=1), 422, "non è ancora arrivata")
    lifecycle.transition(session, s.rup, s.procedure, "candidature", now=T0 + timedelta(days=2))
    assert s.procedure.status == "candidature"


def test_examination_starts_only_after_the_deadline(session, setup):
    s = setup
    fill(session, s)
    advance(session, s, "candidature")
    message = _refused(session, s, "ammissioni", DEADLINE - timedelta(seconds=1), 422)
    assert "la scadenza delle candidature" in message and "non è ancora passata" in message
    lifecycle.transition(session, s.rup, s.procedure, "ammissioni", now=DEADLINE)
    assert s.procedure.status == "ammissioni"


def test_tavoli_start_only_when_every_application_is_decided(session, setup):
    s = setup
    fill(session, s)
    advance(session, s, "candidature")
    application = apply(session, s)
    advance(session, s, "ammissioni")
    message = _refused(session, s, "tavoli_in_corso", DEADLINE + timedelta(days=1), 422)
    assert "1 candidature ancora da esaminare (Associazione Alfa ODV)" in message
    admissions.decide(session, s.rup, application, "excluded", "Non opera nell'Ambito.", now=DEADLINE)
    session.commit()
    lifecycle.transition(session, s.rup, s.procedure, "tavoli_in_corso", now=DEADLINE + timedelta(days=1))
    assert s.procedure.status == "tavoli_in_corso"


def test_only_the_rup_or_an_admin_moves_the_procedure(session, setup):
    s = setup
    fill(session, s)
    with pytest.raises(Problem) as caught:
        lifecycle.transition(session, s.outsider, s.procedure, "avviso_pubblicato", now=T0)
    assert caught.value.status == 403
    assert "responsabile del procedimento (RUP)" in caught.value.message
    lifecycle.transition(session, s.admin, s.procedure, "avviso_pubblicato", now=T0)
    assert s.procedure.transitions[-1].actor_id == s.admin.id


def test_publishing_puts_avviso_and_tavoli_on_the_record_for_five_years(session, setup):
    s = setup
    fill(session, s)
    advance(session, s, "avviso_pubblicato")
    items = {(i.kind, i.ref_id): i for i in session.scalars(select(PublicationItem))}
    assert set(items) == {("avviso", 0), ("tavolo", s.tavolo.id), ("tavolo", s.tavolo2.id)}
    for item in items.values():
        assert item.published_from == T0
        assert item.published_until == T0.replace(year=T0.year + 5)


def test_avviso_and_act_are_frozen_after_publication(session, setup):
    s = setup
    fill(session, s)
    advance(session, s, "avviso_pubblicato")
    with pytest.raises(Problem) as caught:
        lifecycle.update_avviso(session, s.rup, s.procedure, sections=SECTIONS, published_at=T0, deadline=DEADLINE)
    assert caught.value.status == 409 and "L'avviso non si può più modificare" in caught.value.message
    with pytest.raises(Problem) as caught:
        lifecycle.update_act(session, s.rup, s.procedure, number="1", act_date=T0.date(), now=T0)
    assert caught.value.status == 409 and "L'atto di avvio non si può più modificare" in caught.value.message


def test_draft_validation(session, setup):
    s = setup
    with pytest.raises(Problem) as caught:
        lifecycle.update_act(session, s.admin, s.procedure, number=" ", act_date=T0.date() + timedelta(days=10), now=T0)
    assert caught.value.errors == {
        "act_number": "Il numero dell'atto di avvio è obbligatorio.",
        "act_date": "La data dell'atto di avvio non può essere nel futuro.",
    }
    with pytest.raises(Problem) as caught:
        lifecycle.update_avviso(session, s.admin, s.procedure, sections=SECTIONS, published_at=T0, deadline=T0,
                              allowed_kinds=[])
    assert set(caught.value.errors) == {"application_deadline", "allowed_kinds"}
