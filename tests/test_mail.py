"""Outgoing mail: files in MAIL_DIR by default, SMTP when MAIL_SERVER is set."""
from __future__ import annotations

import smtplib

import pytest

from tests.helpers import mail_files, mail_text, read_mail
from workspace import mail


def test_mail_written_as_utf8_eml(sqlite_app):
    with sqlite_app.app_context():
        path = mail.send_mail("perché@example.it", "Verbale già approvato — è così",
                              "Città, attività, perché: è tutto qui.\n", html_body="<p>È così</p>")
    assert path is not None and path.parent.as_posix() == sqlite_app.config["MAIL_DIR"]
    assert mail_files(sqlite_app) == [path]
    assert not any(p.name.endswith(".tmp") for p in path.parent.iterdir())
    message = read_mail(path)
    assert message["Subject"] == "Verbale già approvato — è così"
    assert message["To"] == "perché@example.it"
    assert message["From"] == sqlite_app.config["MAIL_DEFAULT_SENDER"]
    assert message["Message-ID"] and message["Date"]
    assert mail_text(message) == "Città, attività, perché: è tutto qui.\n"
    assert message.get_body(preferencelist=("html",)).get_content().strip() == "<p>È così</p>"


def test_header_injection_refused(sqlite_app):
    with sqlite_app.app_context(), pytest.raises(ValueError):
        mail.send_mail("a@example.it", "Oggetto\nBcc: vittima@example.it", "testo")
    assert mail_files(sqlite_app) == []


def test_external_url_uses_base_url(sqlite_app):
    sqlite_app.config["BASE_URL"] = "https://tavoli.comune.example.it"
    with sqlite_app.app_context():
        assert mail.external_url("accounts.invitation", token="abc") == "https://tavoli.comune.example.it/invito/abc"
    with sqlite_app.test_request_context("http://altro-host:8080/"):
        assert mail.external_url("accounts.login") == "https://tavoli.comune.example.it/accedi"


class FakeSMTP:
    sent: list = []
    instances: list = []
    fail = False

    def __init__(self, host, port, timeout=None, context=None):
        self.host, self.port, self.calls = host, port, []
        FakeSMTP.instances.append(self)
        if FakeSMTP.fail:
            raise ConnectionRefusedError("nessun server")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append("quit")

    def starttls(self, context=None):
        self.calls.append("starttls")

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, msg):
        FakeSMTP.sent.append(msg)


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.instances, FakeSMTP.fail = [], [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", FakeSMTP)
    return FakeSMTP


def test_smtp_when_configured(sqlite_app, fake_smtp):
    sqlite_app.config.update(MAIL_SERVER="smtp.example.it", MAIL_PORT=587, MAIL_USE_TLS=True,
                             MAIL_USERNAME="tavoli", MAIL_PASSWORD="segreta")
    with sqlite_app.app_context():
        assert mail.send_mail("x@example.it", "Oggetto", "Testo") is None
    smtp = fake_smtp.instances[0]
    assert (smtp.host, smtp.port) == ("smtp.example.it", 587)
    assert smtp.calls == ["starttls", ("login", "tavoli", "segreta"), "quit"]
    assert fake_smtp.sent[0]["To"] == "x@example.it"
    assert mail_files(sqlite_app) == []


def test_smtp_failure_is_mail_error(sqlite_app, fake_smtp):
    sqlite_app.config.update(MAIL_SERVER="smtp.example.it", MAIL_USE_SSL=True)
    fake_smtp.fail = True
    with sqlite_app.app_context(), pytest.raises(mail.MailError) as info:
        mail.send_mail("x@example.it", "Oggetto", "Testo")
    assert "server di posta" in info.value.message
