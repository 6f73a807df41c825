"""The Ufficio di Piano's pages for a tavolo's members and roles and for instituting a tavolo,
driven like a browser without JavaScript: CSRF tokens, Italian refusals with the service's status,
nothing written when refused, one event per change (SQLite and PostgreSQL)."""
from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select

from tests.world import build_world, login_client
from workspace import record
from workspace.accounts.models import Organisation
from workspace.db import db
from workspace.tavoli.models import Tavolo, TavoloMember, TavoloRole

MSG_MANAGE = "Solo gli amministratori dell'Ufficio di Piano possono istituire i tavoli e deciderne membri e ruoli."


@pytest.fixture
def world(app):
    # Built in a context that is closed again: an app context left open would share ``g``
    # (logged-in user, CSRF token) between the test's requests.
    with app.app_context():
        return build_world(db.session)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def state(app, tavolo_id: int) -> dict:
    """What these pages can change, counted."""
    with app.app_context():
        s = db.session

        def count(model, *where):
            return s.scalar(select(func.count()).select_from(model).where(*where))

        return {"last_seq": record.last_seq(s, tavolo_id), "tavoli": count(Tavolo),
                "members": count(TavoloMember, TavoloMember.tavolo_id == tavolo_id),
                "roles": count(TavoloRole, TavoloRole.tavolo_id == tavolo_id)}


def kinds_after(app, tavolo_id: int, seq: int) -> list[tuple[str, int]]:
    with app.app_context():
        return [(e.kind, e.actor_id) for e in record.events_between(db.session, tavolo_id) if e.seq > seq]


def new_org(app, name: str = "Fondazione Delta (prova)") -> int:
    with app.app_context():
        org = Organisation(name=name, kind="fondazione", ambito_code="50008")
        db.session.add(org)
        db.session.commit()
        return org.id


# --- who may open them ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["facilitator", "delegate", "observer", "outsider"])
def test_only_administrators_see_the_members_page(app, world, who):
    client, token = login_client(app, getattr(world, who))
    base = f"/tavoli/{world.tavolo.id}"
    before = state(app, world.tavolo.id)
    page = client.get(f"{base}/membri")
    assert page.status_code == 403 and MSG_MANAGE in text(page)
    posted = client.post(f"{base}/membri/ruoli", data={"csrf_token": token, "ruolo-user_id": world.outsider.id,
                                                       "ruolo-role": "facilitator", "ruolo-organisation_id": 0})
    assert posted.status_code == 403 and MSG_MANAGE in text(posted)
    removal = client.post(f"{base}/membri/ruoli/{world.delegate.id}/rimuovi", data={"csrf_token": token})
    assert removal.status_code == 403
    assert state(app, world.tavolo.id) == before
    assert client.get(f"/tavoli/{world.tavolo.id}").status_code == (403 if who == "outsider" else 200)


def test_anonymous_people_are_sent_to_the_login_page(app, world):
    response = app.test_client().get(f"/tavoli/{world.tavolo.id}/membri")
    assert response.status_code == 302 and "/accedi" in response.headers["Location"]


def test_the_home_page_links_the_members_page_for_administrators_only(app, world):
    link = f'href="/tavoli/{world.tavolo.id}/membri"'
    admin, _token = login_client(app, world.admin)
    facilitator, _token = login_client(app, world.facilitator)
    assert link in admin.get(f"/tavoli/{world.tavolo.id}").get_data(as_text=True)
    assert link not in facilitator.get(f"/tavoli/{world.tavolo.id}").get_data(as_text=True)


def test_unknown_tavolo_is_404(app, world):
    client, _token = login_client(app, world.admin)
    response = client.get("/tavoli/987654/membri")
    assert response.status_code == 404 and "Tavolo inesistente." in text(response)


# --- members and roles -----------------------------------------------------------------------------------------


def test_admin_adds_a_member_and_gives_a_role(app, world):
    client, token = login_client(app, world.admin)
    base = f"/tavoli/{world.tavolo.id}/membri"
    org_id = new_org(app)
    before = state(app, world.tavolo.id)
    added = client.post(f"{base}/organizzazioni", data={"csrf_token": token, "membro-organisation_id": org_id})
    assert added.status_code == 302
    given = client.post(f"{base}/ruoli", data={"csrf_token": token, "ruolo-user_id": world.outsider.id,
                                               "ruolo-role": "delegate", "ruolo-organisation_id": org_id},
                        follow_redirects=True)
    assert given.status_code == 200
    assert "Esterno Estranei: ruolo «Delegato» assegnato." in text(given)
    assert kinds_after(app, world.tavolo.id, before["last_seq"]) == [("member.added", world.admin.id),
                                                                       ("role.set", world.admin.id)]
    after = state(app, world.tavolo.id)
    assert (after["members"], after["roles"]) == (before["members"] + 1, before["roles"] + 1)
    assert "Fondazione Delta (prova)" in text(given)


def test_a_delegate_without_organisation_is_refused_and_nothing_written(app, world):
    client, token = login_client(app, world.admin)
    before = state(app, world.tavolo.id)
    refused = client.post(f"/tavoli/{world.tavolo.id}/membri/ruoli",
                          data={"csrf_token": token, "ruolo-user_id": world.outsider.id, "ruolo-role": "delegate",
                                "ruolo-organisation_id": 0})
    assert refused.status_code == 422
    assert "Un delegato rappresenta un'organizzazione: sceglierla." in text(refused)
    assert state(app, world.tavolo.id) == before


def test_forms_without_csrf_token_are_refused(app, world):
    client, _token = login_client(app, world.admin)
    before = state(app, world.tavolo.id)
    response = client.post(f"/tavoli/{world.tavolo.id}/membri/ruoli/{world.delegate.id}/rimuovi")
    assert response.status_code == 400 and "CSRF" in text(response)
    assert state(app, world.tavolo.id) == before


def test_admin_removes_a_role_and_the_person_is_refused(app, world):
    admin, token = login_client(app, world.admin)
    person, _ = login_client(app, world.delegate2)
    assert person.get(f"/tavoli/{world.tavolo.id}/partecipa").status_code == 200
    members_page = text(admin.get(f"/tavoli/{world.tavolo.id}/membri"))
    assert (f'action="/tavoli/{world.tavolo.id}/membri/ruoli/{world.delegate2.id}/rimuovi"' in members_page
            and 'Togli il ruolo<span class="visually-hidden">: Dario Delegato</span>' in members_page)
    before = state(app, world.tavolo.id)
    response = admin.post(f"/tavoli/{world.tavolo.id}/membri/ruoli/{world.delegate2.id}/rimuovi",
                          data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "Dario Delegato non fa più parte del tavolo." in text(response)
    assert kinds_after(app, world.tavolo.id, before["last_seq"]) == [("role.removed", world.admin.id)]
    refused = person.get(f"/tavoli/{world.tavolo.id}/partecipa")
    assert refused.status_code == 403 and "Non fai parte di questo tavolo." in text(refused)
    again = admin.post(f"/tavoli/{world.tavolo.id}/membri/ruoli/{world.delegate2.id}/rimuovi",
                       data={"csrf_token": token})
    assert again.status_code == 404 and "non ha un ruolo a questo tavolo" in text(again)


def test_a_member_with_delegates_stays_with_a_clear_message(app, world):
    client, token = login_client(app, world.admin)
    before = state(app, world.tavolo.id)
    response = client.post(f"/tavoli/{world.tavolo.id}/membri/organizzazioni/{world.ets.id}/rimuovi",
                           data={"csrf_token": token})
    assert response.status_code == 409
    body = text(response)
    assert "Prima di togliere «Associazione Alfa (prova)» dal tavolo, togliere il ruolo ai suoi delegati" in body
    assert "<h1>Membri e ruoli</h1>" in body
    assert state(app, world.tavolo.id) == before


def test_admin_removes_a_member_without_delegates(app, world):
    client, token = login_client(app, world.admin)
    org_id = new_org(app)
    client.post(f"/tavoli/{world.tavolo.id}/membri/organizzazioni",
                data={"csrf_token": token, "membro-organisation_id": org_id})
    before = state(app, world.tavolo.id)
    response = client.post(f"/tavoli/{world.tavolo.id}/membri/organizzazioni/{org_id}/rimuovi",
                           data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "Fondazione Delta (prova) non è più membro del tavolo." in text(response)
    assert kinds_after(app, world.tavolo.id, before["last_seq"]) == [("member.removed", world.admin.id)]
    assert state(app, world.tavolo.id)["members"] == before["members"] - 1


# --- instituting a tavolo -------------------------------------------------------------------------------------


def test_admin_institutes_a_tavolo(app, world):
    client, token = login_client(app, world.admin)
    path = f"/tavoli/amministrazione/procedure/{world.tavolo.procedure_id}/nuovo-tavolo"
    assert client.get(path).status_code == 200
    response = client.post(path, data={"csrf_token": token, "title": "Tavolo disabilità", "macroaree": ["F"],
                                       "quorum_percent": "50"})
    assert response.status_code == 302
    with app.app_context():
        tavolo = db.session.scalar(select(Tavolo).where(Tavolo.title == "Tavolo disabilità"))
        assert response.headers["Location"].endswith(f"/tavoli/{tavolo.id}/membri")
        assert [(e.seq, e.kind, e.actor_id) for e in record.events_between(db.session, tavolo.id)] == [
            (1, "tavolo.created", world.admin.id)]


def test_a_refused_tavolo_is_not_created(app, world):
    client, token = login_client(app, world.admin)
    path = f"/tavoli/amministrazione/procedure/{world.tavolo.procedure_id}/nuovo-tavolo"
    before = state(app, world.tavolo.id)
    response = client.post(path, data={"csrf_token": token, "title": "Tavolo", "macroaree": ["F"],
                                       "quorum_percent": "0"})
    assert response.status_code == 422 and "Il quorum è una percentuale fra 1 e 100." in text(response)
    assert state(app, world.tavolo.id) == before


@pytest.mark.parametrize("who", ["facilitator", "delegate"])
def test_only_administrators_institute_tavoli(app, world, who):
    client, token = login_client(app, getattr(world, who))
    path = f"/tavoli/amministrazione/procedure/{world.tavolo.procedure_id}/nuovo-tavolo"
    before = state(app, world.tavolo.id)
    response = client.post(path, data={"csrf_token": token, "title": "Tavolo", "macroaree": ["F"],
                                       "quorum_percent": "50"})
    assert response.status_code == 403 and MSG_MANAGE in text(response)
    assert state(app, world.tavolo.id) == before


def test_unknown_procedure_is_404(app, world):
    client, _token = login_client(app, world.admin)
    response = client.get("/tavoli/amministrazione/procedure/987654/nuovo-tavolo")
    assert response.status_code == 404 and "Procedura inesistente." in text(response)
