"""Small helpers shared by the views of every area.

``transaction`` is the HTTP twin of ``realtime.operation``: a view that writes runs inside one
transaction that is committed when the view answers with a success (2xx/3xx) and rolled back when
it raises (a ``Problem`` then reaches the application's handler in ``workspace.errors``) or
answers with an error status (a form re-rendered with its message). Views never call
``commit()`` or ``rollback()`` themselves.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError

from workspace.db import db
from workspace.problems import Problem

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def transaction(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        session = db.session
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            session.rollback()
            raise
        if response.status_code >= 400:
            session.rollback()
            return response
        try:
            session.commit()
        except (IntegrityError, OperationalError) as exc:
            # A concurrent change won the race (unique constraint, lock timeout): nothing was saved.
            session.rollback()
            log.warning("commit refused in %s: %s", view.__name__, exc)
            raise Problem("conflict", _("L'operazione è in conflitto con una modifica concorrente: "
                                        "nulla è stato salvato, riprova."), 409) from None
        return response

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
