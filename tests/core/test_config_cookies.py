"""Cookies are Secure exactly when the site is served over https (BASE_URL), as browsers require."""
from __future__ import annotations

import pytest
from flask import session

from tests.conftest import _make_app
from workspace.config import load_config


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [("https://tavoli.example.it", True), ("https://tavoli.example.it/", True),
     ("http://127.0.0.1:5000", False), (None, False)],
)
def test_load_config_derives_secure_cookies_from_base_url(monkeypatch, tmp_path, base_url, secure):
    if base_url is None:
        monkeypatch.delenv("BASE_URL", raising=False)
    else:
        monkeypatch.setenv("BASE_URL", base_url)
    cfg = load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})
    assert cfg["SESSION_COOKIE_SECURE"] is secure
    assert cfg["REMEMBER_COOKIE_SECURE"] is secure
    assert cfg["PREFERRED_URL_SCHEME"] == ("https" if secure else "http")
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not cfg["BASE_URL"].endswith("/")


@pytest.fixture
def https_app(request, tmp_path, monkeypatch):
    monkeypatch.setenv("BASE_URL", "https://tavoli.example.it")
    app = _make_app(request, "sqlite", tmp_path)

    @app.get("/_prova-sessione")
    def _touch_session():
        session["prova"] = 1
        return "ok"

    yield app
    app.extensions["tavoli_db"]["engine"].dispose()


def _cookie(response, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def test_https_session_cookie_is_secure(https_app):
    client = https_app.test_client()
    response = client.get("/_prova-sessione", base_url="https://tavoli.example.it")
    cookie = _cookie(response, https_app.config.get("SESSION_COOKIE_NAME", "session"))
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_https_language_cookie_is_secure_and_hsts_is_sent(https_app):
    client = https_app.test_client()
    response = client.get("/lingua/en", base_url="https://tavoli.example.it")
    cookie = _cookie(response, "tavoli_lang")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    hsts = response.headers.get("Strict-Transport-Security", "")
    assert "max-age=31536000" in hsts


def test_http_session_cookie_is_not_secure(request, tmp_path, monkeypatch):
    monkeypatch.delenv("BASE_URL", raising=False)
    app = _make_app(request, "sqlite", tmp_path)  # of its own: a route is added to it

    @app.get("/_prova-sessione")
    def _touch_session():
        session["prova"] = 1
        return "ok"

    response = app.test_client().get("/_prova-sessione")
    app.extensions["tavoli_db"]["engine"].dispose()
    cookie = _cookie(response, app.config.get("SESSION_COOKIE_NAME", "session"))
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie
