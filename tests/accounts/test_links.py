"""Invitations, password reset and login links, end to end through the mail written to MAIL_DIR."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import (
    csrf_post,
    last_mail,
    link_in_mail,
    login,
    mail_files,
    mail_text,
    make_org,
    make_user,
)
from workspace.accounts import links, service
from workspace.accounts.models import AccessToken, Membership, User


def users(in_app) -> int:
    with in_app() as s:
        return s.scalar(select(func.count()).select_from(User))


@pytest.fixture
def setup(in_app):
    with in_app() as s:
        org = make_org(s, kind="ets", name="APS La Rete")
        make_user(s, "admin@example.it", admin=True, name="Ada Amministratrice")
        return {"org_id": org.id}


def invite(app, client, org_id, email="nuovo@example.it", name="Nuovo Delegato", admin=False):
    login(client, "admin@example.it")
    data = {"name": name, "email": email}
    if admin:
        data["grants_admin"] = "y"
    response = csrf_post(client, f"/amministrazione/organizzazioni/{org_id}", data)
    return response


# --------------------------------------------------------------------------- invitations


def test_invitation_happy_path(app, client, setup, in_app):
    response = invite(app, client, setup["org_id"])
    assert response.status_code == 302
    assert len(mail_files(app)) == 1
    message = last_mail(app, "nuovo@example.it")
    assert "APS La Rete" in message["Subject"]
    text = mail_text(message)
    assert "Ada Amministratrice" in text and "APS La Rete" in text
    path = link_in_mail(message, app.config["BASE_URL"])
    assert path.startswith("/invito/")

    guest = app.test_client()
    page = guest.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ada Amministratrice" in html and "APS La Rete" in html and "nuovo@example.it" in html
    assert 'value="Nuovo Delegato"' in html

    joined = csrf_post(guest, path, {"name": "Nuovo Delegato", "join": "1"})
    assert joined.status_code == 302 and joined.headers["Location"] == "/profilo"
    profile = guest.get("/profilo").get_data(as_text=True)
    assert "APS La Rete" in profile and "nuovo@example.it" in profile
    with in_app() as s:
        user = s.scalar(select(User).where(User.email == "nuovo@example.it"))
        assert user.password_hash is None and not user.is_admin
        assert [m.organisation_id for m in user.memberships] == [setup["org_id"]]


def test_invitation_with_password_and_admin_role(app, client, setup, in_app):
    invite(app, client, setup["org_id"], email="capo2@example.it", admin=True)
    path = link_in_mail(last_mail(app), app.config["BASE_URL"])
    guest = app.test_client()
    joined = csrf_post(guest, path, {"name": "Capo Due", "password": "una-password-lunga",
                                     "password_confirm": "una-password-lunga", "join_with_password": "1"})
    assert joined.status_code == 302
    guest2 = app.test_client()
    assert login(guest2, "capo2@example.it", "una-password-lunga").status_code == 302
    assert guest2.get("/amministrazione/organizzazioni").status_code == 200


def test_invitation_with_password_button_but_no_password(app, client, setup, in_app):
    invite(app, client, setup["org_id"])
    path = link_in_mail(last_mail(app), app.config["BASE_URL"])
    guest = app.test_client()
    before = users(in_app)
    response = csrf_post(guest, path, {"name": "X", "join_with_password": "1"})
    assert response.status_code == 422
    assert users(in_app) == before
    response = csrf_post(guest, path, {"name": "X", "password": "corta", "password_confirm": "corta",
                                       "join_with_password": "1"})
    assert response.status_code == 422 and "almeno 10" in response.get_data(as_text=True)
    assert users(in_app) == before
    with in_app() as s:
        assert s.scalar(select(AccessToken.used_at)) is None


def test_reused_invitation_is_410(app, client, setup, in_app):
    invite(app, client, setup["org_id"])
    path = link_in_mail(last_mail(app), app.config["BASE_URL"])
    guest = app.test_client()
    assert csrf_post(guest, path, {"name": "Nuovo", "join": "1"}).status_code == 302
    again = app.test_client()
    page = again.get(path)
    assert page.status_code == 410
    assert "già stato usato" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/").get_data(as_text=True))
    assert token  # the admin's page has a csrf token; a stranger posting without one gets 400
    assert again.post(path, data={"name": "Altro", "join": "1"}).status_code == 400
    with in_app() as s:
        assert s.scalar(select(func.count()).select_from(Membership)) == 1


def test_reused_invitation_post_is_410(app, client, setup, in_app):
    """Two browsers loaded the page; the first joins, the second one's POST is refused."""
    invite(app, client, setup["org_id"])
    path = link_in_mail(last_mail(app), app.config["BASE_URL"])
    first, second = app.test_client(), app.test_client()
    tokens = [re.search(r'name="csrf_token"[^>]*value="([^"]+)"', c.get(path).get_data(as_text=True)).group(1)
              for c in (first, second)]
    assert first.post(path, data={"csrf_token": tokens[0], "name": "N", "join": "1"}).status_code == 302
    late = second.post(path, data={"csrf_token": tokens[1], "name": "N", "join": "1"})
    assert late.status_code == 410
    with in_app() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 2  # admin + the first one


def test_expired_invitation_is_410_and_writes_nothing(app, setup, in_app):
    with in_app() as s:
        org = service.get_organisation(s, setup["org_id"])
        raw = links.issue_token(s, "invitation", "tardi@example.it", name="Tardi", organisation=org,
                                  lifetime=timedelta(minutes=-5))
        s.commit()
    before = users(in_app)
    guest = app.test_client()
    page = guest.get(f"/invito/{raw}")
    assert page.status_code == 410
    assert "scaduto" in page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', guest.get("/accedi").get_data(as_text=True)).group(1)
    response = guest.post(f"/invito/{raw}", data={"csrf_token": csrf, "name": "Tardi", "join": "1"})
    assert response.status_code == 410
    assert users(in_app) == before
    with in_app() as s:
        assert s.scalar(select(AccessToken.used_at)) is None
        assert s.scalar(select(func.count()).select_from(Membership)) == 0


def test_unknown_invitation_is_404(client):
    response = client.get("/invito/non-esiste")
    assert response.status_code == 404
    assert "Il link non è valido" in response.get_data(as_text=True)


def test_duplicate_delegate_invitation_is_409(app, client, setup, in_app):
    with in_app() as s:
        org = service.get_organisation(s, setup["org_id"])
        make_user(s, "gia@example.it", org=org)
    before = users(in_app)
    response = invite(app, client, setup["org_id"], email="GIA@example.it")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "è già delegato" in html and 'aria-invalid="true"' in html
    assert users(in_app) == before
    assert mail_files(app) == []


def test_invite_invalid_email_is_422(app, client, setup):
    response = invite(app, client, setup["org_id"], email="non-una-email")
    assert response.status_code == 422
    assert mail_files(app) == []


# --------------------------------------------------------------------------- password reset


def test_password_reset_end_to_end(app, client, in_app):
    with in_app() as s:
        make_user(s, "dimentica@example.it", password="vecchia-password")
    response = csrf_post(client, "/password-dimenticata", {"email": "Dimentica@example.it"})
    assert response.status_code == 200
    assert "riceverai a breve" in response.get_data(as_text=True)
    message = last_mail(app, "dimentica@example.it")
    path = link_in_mail(message, app.config["BASE_URL"])
    assert path.startswith("/password/")

    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'autocomplete="new-password"' in html and "dimentica@example.it" in html

    short = csrf_post(client, path, {"password": "corta", "password_confirm": "corta"})
    assert short.status_code == 422
    done = csrf_post(client, path, {"password": "nuova-password-ok", "password_confirm": "nuova-password-ok"})
    assert done.status_code == 302
    assert client.get("/profilo").status_code == 200  # logged in

    other = app.test_client()
    assert login(other, "dimentica@example.it", "vecchia-password").status_code == 401
    assert login(other, "dimentica@example.it", "nuova-password-ok").status_code == 302
    assert app.test_client().get(path).status_code == 410  # single use


def test_password_reset_unknown_email_same_response_no_mail(app, client, in_app):
    with in_app() as s:
        make_user(s, "esiste@example.it")
    known = csrf_post(client, "/password-dimenticata", {"email": "esiste@example.it"})
    assert len(mail_files(app)) == 1
    unknown = csrf_post(client, "/password-dimenticata", {"email": "nessuno@example.it"})
    assert len(mail_files(app)) == 1  # no mail for an unknown address
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    with in_app() as s:
        assert s.scalar(select(func.count()).select_from(AccessToken)) == 1


def test_password_reset_requests_are_throttled(app, client, in_app):
    with in_app() as s:
        make_user(s, "bersaglio@example.it")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert csrf_post(client, "/password-dimenticata", {"email": "bersaglio@example.it"}).status_code == 200
    blocked = csrf_post(client, "/password-dimenticata", {"email": "bersaglio@example.it"})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert len(mail_files(app)) == app.config["LOGIN_MAX_FAILURES"]


# --------------------------------------------------------------------------- login links


def test_login_link_end_to_end(app, client, in_app):
    with in_app() as s:
        make_user(s, "senza@example.it", password=None)
    response = csrf_post(client, "/accesso-con-link", {"email": "senza@example.it"})
    assert response.status_code == 200
    path = link_in_mail(last_mail(app, "senza@example.it"), app.config["BASE_URL"])
    assert path.startswith("/accesso/")
    page = client.get(path)  # a GET (e.g. a mail scanner) does not use the link up
    assert page.status_code == 200
    assert client.get(path).status_code == 200
    assert client.get("/profilo").status_code == 302
    done = csrf_post(client, path, {})
    assert done.status_code == 302
    assert client.get("/profilo").status_code == 200
    assert app.test_client().get(path).status_code == 410


def test_login_link_unknown_email_same_response(app, client):
    response = csrf_post(client, "/accesso-con-link", {"email": "nessuno@example.it"})
    assert response.status_code == 200 and mail_files(app) == []
