"""The information notice (art. 13 GDPR): its content, and its reading at first login, recorded with
the version, through each login flow; on SQLite and PostgreSQL."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from tests.helpers import csrf_post, csrf_token_from, last_mail, link_in_mail, login, logout
from tests.world import PASSWORD
from workspace.accounts import links as account_links
from workspace.accounts.models import User


def is_notice(location: str, target: str) -> bool:
    """``location`` is the notice, with ``next`` pointing on to ``target``."""
    parts = urlsplit(location)
    return parts.path == "/privacy" and parse_qs(parts.query).get("next") == [target]


def read_version(in_app, email: str):
    with in_app() as s:
        user = s.scalar(select(User).where(User.email == email))
        return user.privacy_version, user.privacy_accepted_at


def acknowledge(client, location: str):
    page = client.get(location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ho letto l&#39;informativa" in html or "Ho letto l'informativa" in html
    return client.post("/privacy", data={"csrf_token": csrf_token_from(html),
                                         "next": _hidden_next(html)})


def _hidden_next(html: str) -> str:
    import re

    match = re.search(r'<input[^>]*name="next"[^>]*value="([^"]*)"', html) or \
        re.search(r'<input[^>]*value="([^"]*)"[^>]*name="next"', html)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- content


def test_notice_is_public_and_has_the_article_13_structure(client):
    response = client.get("/privacy")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for heading in ("Titolare del trattamento", "Finalità e base giuridica", "Categorie di dati",
                    "Destinatari", "Pubblicazione", "Conservazione", "I tuoi diritti", "Reclamo"):
        assert heading in html, heading
    assert "articolo 6, paragrafo 1, lettera e" in html
    assert "articolo 55 del Codice del Terzo Settore" in html
    assert "articoli da 15 a 22" in html
    assert "Garante per la protezione dei dati personali" in html
    assert "soltanto nel loro ruolo di rappresentanti" in html
    # Not configured yet: the installer is told what to set.
    assert "TAVOLI_PRIVACY_CONTROLLER" in html
    # Anonymous visitors read it; there is nothing to acknowledge.
    assert 'action="/privacy"' not in html


def test_notice_shows_the_configured_controller_and_retention(app, client):
    app.config.update(PRIVACY_CONTROLLER="Comune di Pavia, ente capofila dell'Ambito di Pavia",
                      PRIVACY_CONTACT="protocollo@pec.comune.pavia.example", PRIVACY_DPO_CONTACT="rpd@pavia.example",
                      RETENTION_PRESENCE_YEARS=7, RETENTION_TOKENS_DAYS=45, RETENTION_MAIL_DAYS=12,
                      PRIVACY_VERSION="2025-01")
    html = client.get("/privacy").get_data(as_text=True)
    assert "Comune di Pavia, ente capofila dell&#39;Ambito di Pavia" in html
    assert 'href="mailto:protocollo@pec.comune.pavia.example"' in html
    assert 'href="mailto:rpd@pavia.example"' in html
    assert "TAVOLI_PRIVACY_CONTROLLER" not in html
    assert "per 7 anni" in html and "45 giorni" in html and "dopo 12 giorni" in html
    assert "Versione dell'informativa: 2025-01." in html


def test_english_notice(client):
    client.get("/lingua/en")
    response = client.get("/privacy")
    assert response.status_code == 200
    assert '<html lang="en">' in response.get_data(as_text=True)


# --------------------------------------------------------------------------- at first login


def test_password_login_shows_the_notice_once_then_continues(notice_on, client, world, in_app):
    response = login(client, world.delegate.email, PASSWORD, next="/profilo")
    assert response.status_code == 302
    assert is_notice(response.headers["Location"], "/profilo")
    assert read_version(in_app, world.delegate.email) == (None, None)

    done = acknowledge(client, response.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"] == "/profilo"
    version, at = read_version(in_app, world.delegate.email)
    assert version == "1" and at is not None

    page = client.get("/privacy").get_data(as_text=True)
    assert "Hai preso visione di questa versione" in page

    logout(client)
    again = login(client, world.delegate.email, PASSWORD, next="/profilo")
    assert again.headers["Location"] == "/profilo"  # not shown again
    assert read_version(in_app, world.delegate.email)[1] == at


def test_a_new_version_is_shown_again(notice_on, app, client, world, in_app):
    response = login(client, world.delegate.email, PASSWORD)
    acknowledge(client, response.headers["Location"])
    logout(client)
    app.config["PRIVACY_VERSION"] = "2"
    response = login(client, world.delegate.email, PASSWORD)
    assert is_notice(response.headers["Location"], "/")
    acknowledge(client, response.headers["Location"])
    assert read_version(in_app, world.delegate.email)[0] == "2"


def test_login_link_shows_the_notice(notice_on, app, world, in_app):
    with in_app() as s:
        account_links.request_login_link(s, world.delegate2.email)
        s.commit()
    path = link_in_mail(last_mail(app, world.delegate2.email), app.config["BASE_URL"])
    client = app.test_client()
    response = csrf_post(client, path, {})
    assert response.status_code == 302
    assert is_notice(response.headers["Location"], "/")
    done = acknowledge(client, response.headers["Location"])
    assert done.headers["Location"] == "/"
    assert read_version(in_app, world.delegate2.email)[0] == "1"


def test_invitation_shows_the_notice(notice_on, app, world, in_app):
    with in_app() as s:
        from workspace.accounts.models import Organisation

        org = s.get(Organisation, world.ets.id)
        raw = account_links.invite_delegate(s, org, name="Nina Nuova", email="nina@prova.example.org")
        s.commit()
    client = app.test_client()
    response = csrf_post(client, f"/invito/{raw}", {"name": "Nina Nuova", "join": "1"})
    assert response.status_code == 302
    assert is_notice(response.headers["Location"], "/profilo")
    acknowledge(client, response.headers["Location"])
    assert read_version(in_app, "nina@prova.example.org")[0] == "1"


def test_without_the_setting_login_goes_straight_on(app, client, world):
    app.config["PRIVACY_NOTICE_AT_LOGIN"] = False
    response = login(client, world.delegate.email, PASSWORD, next="/profilo")
    assert response.headers["Location"] == "/profilo"


def test_no_gate_outside_login(notice_on, app, world):
    """Only the login flows lead to the notice: pages stay reachable without reading it."""
    from tests.world import login_client

    client, _token = login_client(app, world.delegate)
    assert client.get("/profilo").status_code == 200


# --------------------------------------------------------------------------- the acknowledgement


def test_acknowledgement_needs_csrf(notice_on, client, world, in_app):
    login(client, world.delegate.email, PASSWORD)
    response = client.post("/privacy", data={"next": "/"})
    assert response.status_code == 400
    assert read_version(in_app, world.delegate.email) == (None, None)


def test_acknowledgement_needs_login(client):
    token = csrf_token_from(client.get("/accedi").get_data(as_text=True))
    response = client.post("/privacy", data={"csrf_token": token, "next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accedi")


def test_acknowledgement_refuses_open_redirects(notice_on, client, world):
    response = login(client, world.delegate.email, PASSWORD)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    done = client.post("/privacy", data={"csrf_token": csrf_token_from(html), "next": "//evil.example/x"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    page = client.get("/privacy?next=https://evil.example/")
    assert _hidden_next(page.get_data(as_text=True)) == ""
