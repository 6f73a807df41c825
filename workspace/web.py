"""Small helpers shared by the views of every area.

``transaction`` is the HTTP twin of ``realtime.operation``: a view that writes runs inside one
transaction that is committed when the view answers with a success (2xx/3xx) and rolled back when
it raises (a ``Problem`` then reaches the application's handler in ``workspace.errors``) or
answers with an error status (a form re-rendered with its message). Views never call
``commit()`` or ``rollback()`` themselves.

One-time submission keys: every form that creates something carries a hidden ``submission_key``
(``{{ submission_key() }}`` in the template; views that create are marked ``@creates``). The
first POST with a key is recorded, in the same transaction, with the address it redirected to; a
repeat of the key (a double click, a reload, a resend after a lost answer) creates nothing and
redirects to that first result. Two copies racing: the second waits on the key's primary key and
then finds the first's result.
"""
from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ForeignKey, String, delete
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from workspace.db import Base, UTCDateTime, db, utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


KEY_FIELD = "submission_key"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Keys older than this are forgotten (a repeat after two days is a new submission).
KEY_LIFETIME = timedelta(days=2)


class SubmissionKey(Base):
    """A creating form's one-time key, once used: who used it and where the first answer led."""

    __tablename__ = "submission_key"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    location: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


def submission_key_field() -> Markup:
    """The hidden input of a creating form (a Jinja global: ``{{ submission_key() }}``)."""
    return Markup('<input type="hidden" name="%s" value="%s">') % (KEY_FIELD, secrets.token_urlsafe(24))


def creates(view: F) -> F:
    """Mark a view that creates something: its form must carry a submission key (a test checks
    every marked view's page) and a repeated key returns the first result."""
    view.creates = True  # type: ignore[attr-defined]
    return view


def _submitted_key() -> str | None:
    if request.method != "POST":
        return None
    raw = request.form.get(KEY_FIELD)
    return raw if raw and _KEY.fullmatch(raw) else None


def _user_id() -> int | None:
    return current_user.id if current_user and current_user.is_authenticated else None


def _repeat(session, key: str):
    """The answer to a key already used: the first result, or a refusal if it was someone else's."""
    done = session.get(SubmissionKey, key)
    if done is None:
        return None
    if done.user_id != _user_id():
        raise Problem("conflict", _("Il modulo è già stato inviato da un'altra sessione: ricarica la pagina."), 409)
    flash(_("Il modulo era già stato inviato: non è stato creato nulla di nuovo."), "info")
    return redirect(done.location, 303)


def transaction(view: F) -> F:
    creating = getattr(view, "creates", False)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        session = db.session
        key = _submitted_key()
        if key is not None:
            repeat = _repeat(session, key)
            if repeat is not None:
                session.rollback()
                return repeat
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            session.rollback()
            raise
        if response.status_code >= 400:
            session.rollback()
            return response
        if key is not None and 300 <= response.status_code < 400 and response.location:
            session.execute(delete(SubmissionKey).where(SubmissionKey.created_at < utcnow() - KEY_LIFETIME))
            session.add(SubmissionKey(key=key, user_id=_user_id(), location=response.location[:2000]))
        try:
            session.commit()
        except (IntegrityError, OperationalError) as exc:
            # A concurrent change won the race (unique constraint, lock timeout): nothing was saved.
            session.rollback()
            if key is not None:
                repeat = _repeat(session, key)
                if repeat is not None:
                    session.rollback()
                    return repeat
            log.warning("commit refused in %s: %s", view.__name__, exc)
            raise Problem("conflict", _("L'operazione è in conflitto con una modifica concorrente: "
                                        "nulla è stato salvato, riprova."), 409) from None
        return response

    wrapper.creates = creating  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths: an open redirect would turn our links into phishing links.

    Browsers read a backslash as a slash and drop tabs and newlines inside URLs, so ``/\\evil.example``
    or ``/<tab>/evil.example`` would leave the site just like ``//evil.example``: all refused.
    """
    if not target:
        return fallback
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target

