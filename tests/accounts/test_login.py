"""Login, logout, throttling, redirects after login; on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import DEFAULT_PASSWORD, csrf_post, csrf_token_from, login, logout
from workspace.accounts import service
from workspace.accounts.models import User


@pytest.fixture
def maria(person):
    return person("maria@example.it").email


def test_login_page_is_accessible(client):
    response = client.get("/accedi")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'for="email"' in html and 'autocomplete="email"' in html
    assert 'for="password"' in html and 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html


def test_login_success_redirects_and_records_last_login(client, maria, in_app):
    response = login(client, "Maria@Example.it")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/profilo").status_code == 200
    with in_app() as s:
        assert s.scalar(select(User.last_login_at).where(User.email == maria)) is not None


def test_login_wrong_password_is_401_with_italian_message(client, maria):
    response = login(client, maria, "password-sbagliata")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "E-mail o password non corretti." in html
    assert 'role="alert"' in html
    assert client.get("/profilo").status_code == 302  # still anonymous


def test_login_unknown_email_same_answer(client, maria):
    wrong = login(client, maria, "password-sbagliata")
    unknown = login(client, "sconosciuto@example.it", "password-sbagliata")
    assert wrong.status_code == unknown.status_code == 401
    assert "E-mail o password non corretti." in unknown.get_data(as_text=True)


def test_login_empty_fields_is_422_with_field_errors(client):
    response = csrf_post(client, "/accedi", {"email": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and 'href="#email"' in html
    assert 'aria-describedby="email-errore"' in html


def test_login_inactive_user_is_403(client, maria, in_app):
    with in_app() as s:
        s.scalar(select(User).where(User.email == maria)).active = False
        s.commit()
    response = login(client, maria)
    assert response.status_code == 403
    assert "disattivato" in response.get_data(as_text=True)
    assert client.get("/profilo").status_code == 302


def test_remember_me_sets_cookie(client, maria):
    response = login(client, maria, remember="y")
    assert response.status_code == 302
    assert any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_next_is_honoured(client, maria):
    response = login(client, maria, next="/profilo")
    assert response.headers["Location"] == "/profilo"


def test_next_from_login_required_redirect(client, maria):
    redirect = client.get("/profilo")
    assert redirect.status_code == 302 and "/accedi?next=" in redirect.headers["Location"]
    page = client.get(redirect.headers["Location"])
    assert 'name="next" type="hidden" value="/profilo"' in page.get_data(as_text=True)


@pytest.mark.parametrize("target", [
    "https://evil.example/phish", "//evil.example/x", "/\\evil.example", "/\t/evil.example",
    "http:/evil.example", "javascript:alert(1)", "evil.example",
])
def test_open_redirect_refused(client, maria, target):
    response = login(client, maria, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_needs_post_and_csrf(client, maria):
    login(client, maria)
    assert client.get("/esci").status_code == 405
    no_token = client.post("/esci")
    assert no_token.status_code == 400
    assert "CSRF" in no_token.get_data(as_text=True)
    assert client.get("/profilo").status_code == 200  # still logged in
    response = logout(client)
    assert response.status_code == 302
    assert client.get("/profilo").status_code == 302


def test_login_without_csrf_is_400(client, maria):
    response = client.post("/accedi", data={"email": maria, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert client.get("/profilo").status_code == 302


# --------------------------------------------------------------------------- throttling


# Throttling: tests/accounts/test_login_throttle.py


def test_password_change_ends_other_sessions(app, maria):
    first, second = app.test_client(), app.test_client()
    login(first, maria)
    login(second, maria)
    response = csrf_post(first, "/profilo", {
        "current_password": DEFAULT_PASSWORD, "new_password": "una-password-nuova",
        "new_password_confirm": "una-password-nuova",
    })
    assert response.status_code == 302
    assert first.get("/profilo").status_code == 200  # this session continues
    assert second.get("/profilo").status_code == 302  # the other one is over
    assert login(second, maria, "una-password-nuova").status_code == 302


def test_password_change_wrong_current_is_422(client, maria):
    login(client, maria)
    response = csrf_post(client, "/profilo", {
        "current_password": "sbagliata-sbagliata", "new_password": "una-password-nuova",
        "new_password_confirm": "una-password-nuova",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "La password attuale non è corretta." in html and 'href="#current_password"' in html
    logout(client)
    assert login(client, maria).status_code == 302  # unchanged


def test_password_change_mismatch_is_422(client, maria):
    login(client, maria)
    response = csrf_post(client, "/profilo", {
        "current_password": DEFAULT_PASSWORD, "new_password": "una-password-nuova",
        "new_password_confirm": "un'altra-password",
    })
    assert response.status_code == 422
    assert "Le due password non coincidono." in response.get_data(as_text=True)


def test_logout_also_ends_remember_me(client, maria):
    login(client, maria, remember="y")
    response = logout(client)
    assert any(c.startswith("remember_token=;") for c in response.headers.getlist("Set-Cookie"))
    assert client.get("/profilo").status_code == 302


# --------------------------------------------------------------------------- the login's own commit


@pytest.fixture
def failing_commit():
    """``arm()``: the next COMMIT of any session fails as under a lock timeout (then all is normal)."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    armed = []

    def fail(_session):
        if armed:
            armed.clear()
            raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(Session, "before_commit", fail)
    yield lambda: armed.append(True)
    event.remove(Session, "before_commit", fail)


def test_a_login_whose_commit_fails_logs_nobody_in(client, maria, in_app, failing_commit):
    page = client.get("/accedi")
    failing_commit()
    response = client.post("/accedi", data={"csrf_token": csrf_token_from(page.get_data(as_text=True)),
                                            "email": maria, "password": DEFAULT_PASSWORD})
    assert response.status_code == 409
    assert "nulla è stato salvato" in response.get_data(as_text=True)
    # No session cookie for a login that was not saved, and no welcome waiting on the next page.
    home = client.get("/")
    assert "Benvenuta o benvenuto" not in home.get_data(as_text=True)
    assert client.get("/profilo").status_code == 302
    with in_app() as s:
        assert s.scalar(select(User.last_login_at).where(User.email == maria)) is None
    assert login(client, maria).status_code == 302  # and the next attempt works


def test_refusals_carry_stable_codes(client, maria, in_app):
    """Clients of the JSON answers tell refusals apart by code, not by the Italian message."""
    from workspace.problems import Problem

    with in_app() as s:
        for email, password, code, status in (
            (maria, "password-sbagliata", "bad_credentials", 401),
            ("non-un-indirizzo", "x", "bad_credentials", 401),
        ):
            with pytest.raises(Problem) as info:
                service.authenticate(s, email, password)
            assert (info.value.code, info.value.status) == (code, status)
        s.scalar(select(User).where(User.email == maria)).active = False
        with pytest.raises(Problem) as info:
            service.authenticate(s, maria, DEFAULT_PASSWORD)
        assert (info.value.code, info.value.status) == ("account_disabled", 403)
        s.rollback()
