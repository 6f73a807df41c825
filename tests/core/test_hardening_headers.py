"""Headers and cookies (issue #12, fault 8): security headers on the Engine.IO endpoint too,
``Allow`` on every 405, ``Cache-Control: no-store`` on what a logged-in person is shown, and a
BASE_URL that follows HOST/PORT unless it is set."""
from __future__ import annotations

import pytest

from tests.conftest import _make_app
from tests.world import login_client
from workspace.config import load_config

POLLING = "/socket.io/?EIO=4&transport=polling"
REQUIRED = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
            "Permissions-Policy")


def test_socketio_polling_answers_carry_the_security_headers(client):
    response = client.get(POLLING)
    assert response.status_code == 200
    for header in REQUIRED:
        assert header in response.headers, f"/socket.io/ senza {header}"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_socketio_405_names_the_allowed_methods(client, method):
    response = client.open(POLLING, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "OPTIONS"}
    assert "Content-Security-Policy" in response.headers


def test_every_405_of_the_url_map_has_allow(app, client):
    """One method each route does not accept, on every route of the URL map."""
    checked = 0
    # A path may be served by several rules (a GET view and a POST view): Allow names them all.
    methods_of: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods_of.setdefault(rule.rule, set()).update(rule.methods or ())
    for rule in app.url_map.iter_rules():
        missing = [m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in methods_of[rule.rule]]
        if not missing:
            continue
        path = rule.rule
        for arg in rule.arguments:
            for conv in ("int:", "path:", ""):
                path = path.replace(f"<{conv}{arg}>", "1")
        response = client.open(path, method=missing[0])
        assert response.status_code == 405, f"{missing[0]} {path} -> {response.status_code}"
        allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert allow and allow <= methods_of[rule.rule] | {"HEAD", "OPTIONS"}, f"{missing[0]} {path}: Allow={allow}"
        checked += 1
    assert checked > 50


def test_logged_in_pages_are_not_stored(app, world):
    http, _token = login_client(app, world.delegate)
    for path in ("/", "/profilo", f"/tavoli/{world.tavolo.id}"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert response.headers.get("Cache-Control") == "no-store", path


def test_anonymous_pages_and_static_files_keep_their_caching(client):
    assert client.get("/").headers.get("Cache-Control") != "no-store"
    assert "no-store" not in (client.get("/static/css/tavoli.css").headers.get("Cache-Control") or "")


@pytest.mark.parametrize(("env", "expected"), [
    ({"PORT": "5101"}, "http://127.0.0.1:5101"),
    ({"HOST": "192.168.1.20", "PORT": "8080"}, "http://192.168.1.20:8080"),
    ({"HOST": "0.0.0.0", "PORT": "5101"}, "http://127.0.0.1:5101"),
    ({}, "http://127.0.0.1:5000"),
    ({"PORT": "5101", "BASE_URL": "https://tavoli.example.it/"}, "https://tavoli.example.it"),
])
def test_base_url_follows_host_and_port_unless_set(monkeypatch, tmp_path, env, expected):
    for name in ("HOST", "PORT", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})
    assert cfg["BASE_URL"] == expected


def test_security_txt_and_mail_links_use_the_port_served(request, monkeypatch, tmp_path):
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "5101")
    app = _make_app(request, "sqlite", tmp_path)
    try:
        text = app.test_client().get("/.well-known/security.txt").get_data(as_text=True)
        assert "Canonical: http://127.0.0.1:5101/.well-known/security.txt" in text
        from workspace.mail import external_url

        with app.app_context():
            assert external_url("accounts.login").startswith("http://127.0.0.1:5101/")
    finally:
        from tests.conftest import _dispose

        _dispose(app)


def test_tavoli_serve_port_option_moves_base_url(monkeypatch, tmp_path):
    """`tavoli serve --port 5101` (what `make run PORT=5101` runs): the app it builds has its links there."""
    from click.testing import CliRunner

    from workspace import cli

    monkeypatch.delenv("BASE_URL", raising=False)
    # Registered so that monkeypatch removes what `serve` writes into the environment afterwards.
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "5000")
    seen = {}

    def fake_app(check_migrations: bool = False):
        seen["base_url"] = load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})["BASE_URL"]
        raise SystemExit(0)

    monkeypatch.setattr(cli, "_app", fake_app)
    CliRunner().invoke(cli.main, ["serve", "--port", "5101"])
    assert seen["base_url"] == "http://127.0.0.1:5101"
