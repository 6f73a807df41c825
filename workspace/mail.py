"""Outgoing e-mail: through SMTP when ``MAIL_SERVER`` is set, otherwise written as ``.eml`` files
into ``MAIL_DIR`` (``instance/mail/``), where a developer or a test can read them.

Bodies come from ``templates/mail/*.txt``; links in them are absolute, built from ``BASE_URL`` so
they work whatever host the request that triggered the mail came through.
"""
from __future__ import annotations

import os
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from workspace.db import utcnow
from workspace.i18n import gettext as _

SMTP_TIMEOUT_SECONDS = 30


class MailError(RuntimeError):
    """The message could not be handed to the mail server; ``message`` is Italian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def external_url(endpoint: str, **values) -> str:
    """Absolute URL of ``endpoint`` under ``BASE_URL``; works with or without a request."""
    base = current_app.config["BASE_URL"].rstrip("/")
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc or "localhost", url_scheme=parts.scheme or "http")
    return base + adapter.build(endpoint, values)


def render_mail(template: str, **context) -> str:
    """Render ``templates/mail/<template>`` in Italian (the recipient has not chosen a language)."""
    with force_locale("it"):
        return render_template(f"mail/{template}", base_url=current_app.config["BASE_URL"], **context)


def build_message(to: str, subject: str, text_body: str, html_body: str | None = None) -> EmailMessage:
    cfg = current_app.config
    sender = cfg["MAIL_DEFAULT_SENDER"]
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject  # a newline here raises ValueError: no header injection
    msg["Date"] = formatdate(localtime=False)
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text_body, charset="utf-8")
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html", charset="utf-8")
    return msg


def _send_smtp(msg: EmailMessage) -> None:
    cfg = current_app.config
    host, port = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"])
    context = ssl.create_default_context()
    try:
        if cfg.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
                smtp.starttls(context=context)
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.error("Invio e-mail a %s non riuscito: %s", msg["To"], exc)
        raise MailError(
            _("Non è stato possibile inviare l'e-mail: il server di posta non risponde. Riprovare più tardi.")
        ) from exc


def _write_file(msg: EmailMessage) -> Path:
    directory = Path(current_app.config["MAIL_DIR"])
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
    final = directory / name
    partial = directory / f".{name}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(msg.as_bytes())
        os.replace(partial, final)  # readers never see half a message
    except OSError as exc:
        current_app.logger.error("Scrittura dell'e-mail in %s non riuscita: %s", directory, exc)
        raise MailError(_("Non è stato possibile salvare l'e-mail da inviare.")) from exc
    return final


def send_mail(to: str, subject: str, text_body: str, html_body: str | None = None) -> Path | None:
    """Send one message; returns the ``.eml`` path when written to ``MAIL_DIR``. Raises MailError."""
    msg = build_message(to, subject, text_body, html_body)
    if current_app.config.get("MAIL_SERVER"):
        _send_smtp(msg)
        return None
    return _write_file(msg)
