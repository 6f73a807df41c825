"""The layout's variable parts: the Ambito's name, the login area, the admin link, the
accessibility statement's contact, the error page."""
from __future__ import annotations

import pytest

from tests.conftest import _make_app
from tests.core.html_check import scan
from workspace.core.context import has_endpoint


def _brand(response) -> str:
    text = response.get_data(as_text=True)
    start = text.index('<div class="it-brand-title">') + len('<div class="it-brand-title">')
    return text[start:text.index("</div>", start)]


def _title(response) -> str:
    text = response.get_data(as_text=True)
    return text[text.index("<title>") + 7:text.index("</title>")]


@pytest.fixture
def make_app(request, tmp_path):
    apps = []

    def factory(**config):
        instance = tmp_path / str(len(apps))
        instance.mkdir()
        app = _make_app(request, "sqlite", instance, **config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["tavoli_db"]["engine"].dispose()


def test_header_shows_the_ambito_name(make_app):
    app = make_app(AMBITO_CODE="50008")
    response = app.test_client().get("/")
    assert _brand(response) == "Ambito di Pavia"
    assert _title(response) == "Home · Ambito di Pavia"


@pytest.mark.parametrize("code", [None, "", "99999"])
def test_header_falls_back_to_tavoli(make_app, code):
    app = make_app(AMBITO_CODE=code)
    response = app.test_client().get("/")
    assert _brand(response) == "Tavoli"
    assert _title(response) == "Home · Tavoli"


def test_ambito_name_on_postgresql_too(app, client):
    app.config["AMBITO_CODE"] = "50008"
    assert _brand(client.get("/")) == "Ambito di Pavia"


def test_has_endpoint(app):
    with app.test_request_context():
        assert has_endpoint("core.home")
        assert has_endpoint("core.accessibility")
        assert not has_endpoint("core.does_not_exist")


def _add_user(app, *, admin: bool) -> str:
    from workspace.accounts.models import User
    from workspace.accounts.service import open_login
    from workspace.db import db

    with app.app_context():
        user = User(name="Giulia Prova", email=f"giulia.{int(admin)}@example.org", is_admin=admin)
        db.session.add(user)
        db.session.flush()
        cookie_id = open_login(db.session, user)
        db.session.commit()
        return cookie_id


def _login(client, login_id: str) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = login_id
        sess["_fresh"] = True


def _ensure_admin_endpoint(app) -> None:
    # The organisations' administration is a real page (accounts.organisations): the menu links to it.
    assert "accounts.organisations" in app.view_functions


def _nav_labels(response) -> list[str]:
    text = response.get_data(as_text=True)
    nav = text[text.index('id="menu-principale"'):text.index("</nav>")]
    return [chunk.split("</span>")[0] for chunk in nav.split('"><span>')[1:]]


def test_anonymous_header_offers_login(client):
    response = client.get("/")
    page = scan(response.data)
    assert "/accedi" in {a.attrs.get("href") for a in page.find_all("a")}
    assert not [f for f in page.find_all("form") if f.attrs.get("action") == "/esci"]
    assert _nav_labels(response) == ["Home", "Procedure", "Macroaree", "LEPS", "Ambiti"]


def test_logged_in_header_shows_name_and_logout(app, client):
    _login(client, _add_user(app, admin=False))
    response = client.get("/")
    text = response.get_data(as_text=True)
    assert "Giulia Prova" in text
    page = scan(response.data)
    forms = [f for f in page.find_all("form") if f.attrs.get("action") == "/esci"]
    assert len(forms) == 1 and forms[0].attrs["method"] == "post"
    tokens = [i for i in page.find_all("input") if i.attrs.get("name") == "csrf_token"]
    assert tokens and tokens[0].attrs.get("value")


def test_admin_link_only_for_admins_and_only_if_the_page_exists(own_app, monkeypatch):
    app, client = own_app, own_app.test_client()  # an app of its own: a route is added to it
    _ensure_admin_endpoint(app)
    _login(client, _add_user(app, admin=True))
    labels = _nav_labels(client.get("/"))
    assert "Organizzazioni" in labels and "Procedure e tavoli" in labels and "I miei tavoli" in labels
    monkeypatch.delitem(app.view_functions, "accounts.organisations")
    assert "Organizzazioni" not in _nav_labels(client.get("/"))


def test_no_admin_link_for_other_people(own_app):
    app, client = own_app, own_app.test_client()  # an app of its own: a route is added to it
    _ensure_admin_endpoint(app)
    assert not {"Organizzazioni", "Procedure e tavoli", "I miei tavoli"} & set(_nav_labels(client.get("/")))
    _login(client, _add_user(app, admin=False))
    labels = _nav_labels(client.get("/"))
    assert "I miei tavoli" in labels
    assert not {"Organizzazioni", "Procedure e tavoli"} & set(labels)


def test_accessibility_statement_structure(client):
    text = client.get("/accessibilita").get_data(as_text=True)
    for heading in ("Dichiarazione di accessibilità", "Stato di conformità", "Contenuti non accessibili",
                    "Redazione della dichiarazione", "Meccanismo di feedback e recapiti",
                    "Procedura di attuazione"):
        assert heading in text
    assert "WCAG" in text and "legge 9 gennaio 2004, n. 4" in text
    assert "parzialmente conforme" in text


def test_accessibility_contact_from_config(make_app):
    app = make_app(ACCESSIBILITY_CONTACT="accessibilita@ambito.example.it")
    text = app.test_client().get("/accessibilita").get_data(as_text=True)
    assert '<a href="mailto:accessibilita@ambito.example.it">accessibilita@ambito.example.it</a>' in text
    assert "non è ancora stato indicato" not in text


def test_accessibility_contact_as_plain_text(make_app):
    app = make_app(ACCESSIBILITY_CONTACT="Ufficio di Piano, telefono 0382 000000")
    text = app.test_client().get("/accessibilita").get_data(as_text=True)
    assert "Ufficio di Piano, telefono 0382 000000" in text
    assert "mailto:" not in text


def test_accessibility_contact_fallback(client):
    text = client.get("/accessibilita").get_data(as_text=True)
    assert "non è ancora stato indicato" in text
    assert "mailto:" not in text


def test_not_found_page(client):
    response = client.get("/non-esiste")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "<h1>Pagina non trovata</h1>" in text
    assert "La pagina richiesta non esiste." in text
    assert 'href="/"' in text


def test_method_not_allowed_page(client):
    response = client.get("/esci")  # logout answers POST only
    assert response.status_code == 405
    text = response.get_data(as_text=True)
    assert "<h1>Operazione non consentita</h1>" in text
    assert "Operazione non consentita su questa pagina." in text


def test_post_without_csrf_token_is_refused_in_italian(client):
    response = client.post("/esci")  # a form endpoint, posted without its token
    assert response.status_code == 400
    assert "controllo CSRF" in response.get_data(as_text=True)


def test_internal_error_page(make_app):
    def broken():
        raise RuntimeError("guasto di prova")

    app = make_app()  # of its own: a route is added to it
    app.add_url_rule("/_guasto", view_func=broken)
    response = app.test_client().get("/_guasto")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "<h1>Errore del servizio</h1>" in text
    assert "guasto di prova" not in text  # no internals shown to the public
