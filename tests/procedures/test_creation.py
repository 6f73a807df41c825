"""Starting a procedure: only an administrator of the Ufficio di Piano, every field checked before
anything is written, announced to the audit trail; the set-up page over HTTP (the old address),
and the tavoli instituted from it."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.helpers import csrf_token_from
from tests.procedures.support import build
from tests.world import AMBITO, login_client, make_person
from workspace import signals
from workspace.db import db
from workspace.problems import Problem
from workspace.procedures import lifecycle
from workspace.procedures.models import Procedure
from workspace.tavoli.models import Tavolo


def _procedures(session) -> int:
    return session.scalar(select(func.count()).select_from(Procedure))


def _refused(session, actor, *args, **kwargs) -> Problem:
    before = _procedures(session)
    try:
        lifecycle.create_procedure(session, actor, *args, **kwargs)
    except Problem as problem:
        session.rollback()
        assert _procedures(session) == before
        return problem
    raise AssertionError("la procedura doveva essere rifiutata")


def test_an_administrator_starts_a_procedure_in_draft(session):
    admin = make_person(session, "Anna Amministratrice", "adm@prova.example.org", admin=True)
    rup = make_person(session, "Rita Responsabile", "rup@prova.example.org")
    procedure = lifecycle.create_procedure(session, admin, AMBITO, "  Co-programmazione area anziani  ",
                                           rup=rup, object_=" Bisogni degli anziani. ", triennium="2028-2030")
    session.commit()
    assert (procedure.title, procedure.object, procedure.triennium, procedure.ambito_code) == (
        "Co-programmazione area anziani", "Bisogni degli anziani.", "2028-2030", AMBITO)
    assert (procedure.status, procedure.rup_id, procedure.published) == ("bozza", rup.id, False)


def test_only_an_administrator_starts_a_procedure(session):
    someone = make_person(session, "Rita Responsabile", "rup@prova.example.org")
    problem = _refused(session, someone, AMBITO, "Co-programmazione")
    assert problem.status == 403
    assert problem.message == "Solo un amministratore dell'Ufficio di Piano può avviare una procedura."


def test_every_field_is_checked_before_writing(session):
    admin = make_person(session, "Anna Amministratrice", "adm@prova.example.org", admin=True)
    gone = make_person(session, "Ex Dipendente", "ex@prova.example.org")
    gone.active = False
    session.commit()
    problem = _refused(session, admin, "99999", "   ", object_="x" * 5001, triennium="2019-2021", rup=gone)
    assert (problem.status, problem.code) == (422, "invalid")
    assert problem.errors == {
        "title": "Il titolo della procedura è obbligatorio.",
        "object": "L'oggetto è troppo lungo (al massimo 5000 caratteri).",
        "ambito_code": "Ambito territoriale inesistente: scegliere fra gli Ambiti della Lombardia.",
        "triennium": "Triennio di programmazione non valido.",
        "rup_id": "L'account scelto come RUP è disattivato.",
    }
    assert problem.message == "Il titolo della procedura è obbligatorio."
    assert _refused(session, admin, AMBITO, "T" * 301).errors == {
        "title": "Il titolo è troppo lungo (al massimo 300 caratteri)."}


def test_creation_is_announced_in_its_transaction(session):
    admin = make_person(session, "Anna Amministratrice", "adm@prova.example.org", admin=True)
    session.commit()
    heard = []

    def receiver(sender, **kwargs):
        # In the same transaction: the row is already there for the listener to read.
        assert sender is session
        assert sender.scalar(select(Procedure.id).where(Procedure.id == kwargs["object_id"])) is not None
        heard.append(kwargs)

    with signals.action_recorded.connected_to(receiver):
        procedure = lifecycle.create_procedure(session, admin, AMBITO, "Co-programmazione", rup=admin)
        session.commit()
        _refused(session, admin, AMBITO, "")
    assert heard == [{"actor": admin, "action": "procedure.created", "object_type": "procedure",
                      "object_id": procedure.id, "details": {"title": "Co-programmazione", "ambito_code": AMBITO,
                                                            "triennium": "2025-2027", "rup_id": admin.id}}]


def test_a_listener_can_refuse_the_creation(session):
    admin = make_person(session, "Anna Amministratrice", "adm@prova.example.org", admin=True)
    session.commit()

    def veto(_sender, **_kwargs):
        raise Problem("conflict", "Registro non disponibile.", 409)

    with signals.action_recorded.connected_to(veto):
        problem = _refused(session, admin, AMBITO, "Co-programmazione")
    assert (problem.status, problem.message) == (409, "Registro non disponibile.")


# --------------------------------------------------------------------------- the set-up page


def _setup_client(app):
    with app.app_context():
        s = build(db.session)
        admin, outsider = s.admin, s.outsider
    # Outside the app context: each client's requests get their own (and their own CSRF token).
    return admin.id, login_client(app, admin)[0], login_client(app, outsider)


def test_the_setup_page_keeps_its_address_and_is_for_administrators(app):
    _admin_id, admin, (outsider, token) = _setup_client(app)
    page = admin.get("/tavoli/amministrazione")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Avvia una procedura" in html and "Co-programmazione PdZ" in html
    assert outsider.get("/tavoli/amministrazione").status_code == 403
    with app.app_context():
        before = _procedures(db.session)
    refused = outsider.post("/tavoli/amministrazione", data={"csrf_token": token, "title": "Abusiva",
                                                             "ambito_code": AMBITO, "triennium": "2025-2027"})
    assert refused.status_code == 403
    with app.app_context():
        assert _procedures(db.session) == before
    anonymous = app.test_client().get("/tavoli/amministrazione")
    assert anonymous.status_code == 302 and "/accedi" in anonymous.headers["Location"]


def test_a_procedure_is_started_from_the_setup_page_and_gets_its_tavoli(app):
    admin_id, admin, _outsider = _setup_client(app)
    token = csrf_token_from(admin.get("/tavoli/amministrazione").get_data(as_text=True))
    with app.app_context():
        before = _procedures(db.session)
    empty = admin.post("/tavoli/amministrazione", data={"csrf_token": token, "title": "  ", "ambito_code": AMBITO,
                                                       "triennium": "2025-2027"})
    assert empty.status_code == 422 and "Il titolo della procedura è obbligatorio." in empty.get_data(as_text=True)
    unknown = admin.post("/tavoli/amministrazione", data={"csrf_token": token, "title": "Altra",
                                                         "ambito_code": "99999", "triennium": "2025-2027"})
    assert unknown.status_code == 422
    with app.app_context():
        assert _procedures(db.session) == before
    done = admin.post("/tavoli/amministrazione", data={
        "csrf_token": token, "title": "Co-programmazione area minori", "object": "Minori e famiglie.",
        "ambito_code": AMBITO, "triennium": "2025-2027"})
    assert done.status_code == 302
    with app.app_context():
        procedure = db.session.scalar(select(Procedure).where(Procedure.title == "Co-programmazione area minori"))
        assert (procedure.rup_id, procedure.object, procedure.status) == (admin_id, "Minori e famiglie.", "bozza")
        pid = procedure.id
    path = f"/tavoli/amministrazione/procedure/{pid}/nuovo-tavolo"
    assert done.headers["Location"].endswith(path)
    form = admin.get(path)
    assert form.status_code == 200 and "Co-programmazione area minori" in form.get_data(as_text=True)
    made = admin.post(path, data={"csrf_token": token, "title": "Tavolo minori", "macroaree": ["D"],
                                  "quorum_percent": "50"})
    assert made.status_code == 302 and "/membri" in made.headers["Location"]
    with app.app_context():
        assert [t.title for t in db.session.scalars(select(Tavolo).where(Tavolo.procedure_id == pid))] == [
            "Tavolo minori"]
    assert admin.get("/tavoli/amministrazione/procedure/999999/nuovo-tavolo").status_code == 404
