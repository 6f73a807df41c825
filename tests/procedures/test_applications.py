"""Applications: codice fiscale vectors, the window at frozen times, one application per
organisation (re-applying updates it), declarations, the RUNTS data and transitional status."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.procedures.support import DEADLINE, T0, advance, application_data, apply, fill
from workspace.problems import Problem
from workspace.procedures import applications, lifecycle, texts
from workspace.procedures.models import Application, ApplicationRevision

# Well-formed 11-digit codes (check digit correct): public bodies and companies, as typed by people.
VALID_CF = [
    ("06363391001", "06363391001"),
    ("80003170661", "80003170661"),
    ("00743110157", "00743110157"),
    (" 0636 3391 001 ", "06363391001"),
]
INVALID_CF = [
    ("06363391002", "la cifra di controllo (l'ultima) non corrisponde"),
    ("0636339100", "ne sono state inserite 10"),
    ("063633910011", "ne sono state inserite 12"),
    ("0636339100A", "11 cifre, senza lettere"),
    ("00000000000", "solo da zeri"),
    ("RSSMRA85T10A562S", "11 cifre, senza lettere"),  # a person's code is not an ETS's
    ("", "Il codice fiscale dell'organizzazione è obbligatorio."),
]


@pytest.fixture
def open_call(session, setup):
    fill(session, setup)
    advance(session, setup, "candidature")
    return setup


@pytest.mark.parametrize(("typed", "stored"), VALID_CF)
def test_valid_codice_fiscale(session, open_call, typed, stored):
    application = apply(session, open_call, codice_fiscale=typed)
    assert application.codice_fiscale == stored


@pytest.mark.parametrize(("typed", "fragment"), INVALID_CF)
def test_invalid_codice_fiscale(session, open_call, typed, fragment):
    with pytest.raises(Problem) as caught:
        apply(session, open_call, codice_fiscale=typed)
    assert fragment in caught.value.errors["codice_fiscale"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Application)) == 0



def test_server_time_and_one_application_per_organisation(session, open_call):
    s = open_call
    first = apply(session, s, now=T0 + timedelta(days=1))
    assert first.submitted_at == first.updated_at == T0 + timedelta(days=1)
    assert first.revision == 1
    again = apply(session, s, now=T0 + timedelta(days=2), codice_fiscale=" " + first.codice_fiscale,
                  delegate_name="Davide Delegato", tavoli=[s.tavolo.id, s.tavolo2.id])
    assert again.id == first.id
    assert session.scalar(select(func.count()).select_from(Application)) == 1
    assert again.submitted_at == T0 + timedelta(days=1)
    assert again.updated_at == T0 + timedelta(days=2)
    assert again.revision == 2 and again.delegate_name == "Davide Delegato"
    assert [t.id for t in again.tavoli] == [s.tavolo.id, s.tavolo2.id]
    revisions = session.scalars(select(ApplicationRevision).order_by(ApplicationRevision.number)).all()
    assert [(r.number, r.data["delegate_name"]) for r in revisions] == [
        (1, "Delia Delegata"), (2, "Davide Delegato")]
    assert revisions[0].received_at == T0 + timedelta(days=1)


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=3)])
def test_late_application_is_refused_with_the_deadline(session, open_call, late):
    with pytest.raises(Problem) as caught:
        apply(session, open_call, now=DEADLINE + late)
    problem = caught.value
    assert (problem.code, problem.status) == ("deadline_passed", 409)
    assert problem.message == ("Il termine per presentare la candidatura è scaduto il 2 aprile 2025, 11:00: "
                               "la candidatura non può più essere accolta.")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Application)) == 0


def test_last_second_application_is_received(session, open_call):
    application = apply(session, open_call, now=DEADLINE - timedelta(seconds=1))
    assert application.submitted_at == DEADLINE - timedelta(seconds=1)


def test_late_once_the_phase_is_over_even_if_the_clock_says_otherwise(session, open_call):
    s = open_call
    advance(session, s, "ammissioni")
    with pytest.raises(Problem) as caught:
        apply(session, s, now=T0 + timedelta(days=1))
    assert caught.value.code == "deadline_passed"


def test_not_open_before_the_candidature_phase(session, setup):
    fill(session, setup)
    advance(session, setup, "avviso_pubblicato")
    with pytest.raises(Problem) as caught:
        apply(session, setup, now=T0 + timedelta(days=1))
    assert (caught.value.code, caught.value.status) == ("not_open", 409)
    assert caught.value.message == "Le candidature per questa procedura non sono ancora aperte."


def test_every_problem_at_once(session, open_call):
    s = open_call
    data = application_data(s, organisation_name="", runts_section="", runts_repertorio="12a",
                            organisation_email="non-una-mail", legal_rep_name="", delegate_email="",
                            declarations={"veridicita": True}, coi="", tavoli=[])
    with pytest.raises(Problem) as caught:
        applications.submit_application(session, s.procedure, data, now=T0 + timedelta(days=1))
    errors = caught.value.errors
    expected = {"organisation_name", "runts_section", "runts_repertorio", "organisation_email", "legal_rep_name",
                "delegate_email", "coi", "tavoli"} | {f"decl_{k}" for k, _t in texts.DECLARATIONS if k != "veridicita"}
    assert set(errors) == expected
    assert errors["coi"].startswith("La dichiarazione sul conflitto di interessi è obbligatoria")
    assert errors["decl_privacy"] == "Per candidarsi occorre rendere questa dichiarazione."
    assert errors["tavoli"] == "Scegliere almeno un tavolo a cui partecipare."


def test_declarations_are_stored_with_their_text(session, open_call):
    application = apply(session, open_call, coi="declared", coi_details="La presidente siede nel CdA dell'ASP.")
    assert [d["key"] for d in application.declarations] == [k for k, _t in texts.DECLARATIONS]
    assert all(d["accepted"] for d in application.declarations)
    assert application.declarations[0]["text"].startswith("Consapevole delle sanzioni penali")
    assert application.coi_none is False
    assert application.coi_statement.endswith("rispetto all'oggetto della procedura: La presidente siede nel "
                                              "CdA dell'ASP.")


def test_conflict_declared_needs_details(session, open_call):
    with pytest.raises(Problem) as caught:
        apply(session, open_call, coi="declared", coi_details=" ")
    assert caught.value.errors == {"coi_details": "Descrivere le situazioni di conflitto di interessi dichiarate."}


def test_proxy_needs_its_document(session, open_call):
    with pytest.raises(Problem) as caught:
        apply(session, open_call, signed_by_proxy=True, proxy_name="Paolo Procuratore")
    assert caught.value.errors == {
        "proxy_file": "Chi firma su procura deve allegare la procura (PDF o PDF firmato .p7m)."}


def test_transitional_status_instead_of_repertorio(session, open_call):
    application = apply(session, open_call, registration="iscrizione_in_corso", runts_section="aps",
                        runts_repertorio="", transitional_details="Domanda presentata il 10/01/2025")
    assert application.transitional_status == "iscrizione_in_corso"
    assert application.runts_repertorio is None and application.runts_section == "aps"
    with pytest.raises(Problem) as caught:
        apply(session, open_call, codice_fiscale="80003170661", registration="onlus", transitional_details="")
    assert set(caught.value.errors) == {"transitional_details"}


def test_only_ets_unless_the_avviso_says_otherwise(session, open_call):
    with pytest.raises(Problem) as caught:
        apply(session, open_call, organisation_kind="comune")
    assert caught.value.errors["organisation_kind"] == "Questo avviso ammette solo gli enti del Terzo settore."


def test_tavoli_must_be_those_of_the_avviso(session, open_call):
    from workspace.tavoli import membership

    other = lifecycle.create_procedure(session, open_call.admin, open_call.procedure.ambito_code, "Altra")
    foreign = membership.create_tavolo(session, open_call.admin, other, "Tavolo altrui", ["E"])
    session.commit()
    with pytest.raises(Problem) as caught:
        apply(session, open_call, tavoli=[open_call.tavolo.id, foreign.id])
    assert caught.value.errors == {"tavoli": "Tavolo non valido: scegliere fra i tavoli indicati nell'avviso."}


def test_personal_code_accepted_for_other_bodies_when_the_avviso_admits_them(session, setup):
    from workspace.procedures.models import AVVISO_SECTIONS

    s = setup
    fill(session, s)
    lifecycle.update_avviso(session, s.admin, s.procedure,
                          sections={k: getattr(s.procedure, k) for k in AVVISO_SECTIONS},
                          published_at=T0, deadline=DEADLINE, allowed_kinds=["ets", "altro"])
    session.commit()
    advance(session, s, "candidature")
    application = apply(session, s, organisation_kind="altro", codice_fiscale="RSSMRA85T10A562S",
                        runts_section="", runts_repertorio="")
    assert application.codice_fiscale == "RSSMRA85T10A562S"
    assert application.runts_section is None
