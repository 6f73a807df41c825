"""Values every template needs: the Ambito of this installation, the language, the source link,
the current endpoint, and ``has_endpoint`` so the layout only links pages that exist."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from sqlalchemy.exc import SQLAlchemyError

_AMBITO_CACHE = "tavoli_ambito_name"


def ambito_name() -> str | None:
    """Name of the configured Ambito (Allegato C), looked up once per app.

    Only a found name is cached: before ``tavoli reference load`` the table is empty, and the
    header must pick the name up as soon as the data is there. A database error must never break
    the rendering of a page (the error page itself uses this layout), so it falls back to None.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's target
    code = app.config.get("AMBITO_CODE")
    if not code:
        return None
    cache: dict[str, str] = app.extensions.setdefault(_AMBITO_CACHE, {})
    if code in cache:
        return cache[code]
    from sqlalchemy import select

    from workspace.db import db
    from workspace.reference.models import Ambito

    try:
        name = db.session.scalar(select(Ambito.name).where(Ambito.code == code))
    except SQLAlchemyError:
        app.logger.warning("Nome dell'Ambito %s non leggibile dal database", code, exc_info=True)
        db.session.rollback()
        return None
    if name:
        cache[code] = name
    return name


def has_endpoint(endpoint: str) -> bool:
    """True when a view with this endpoint name is registered (links to unfinished areas hide)."""
    return endpoint in current_app.view_functions


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "ambito_name": ambito_name(),
            "current_lang": str(get_locale()),
            "current_endpoint": request.endpoint if has_request_context() else None,
            "source_code_url": current_app.config["SOURCE_CODE_URL"],
            "has_endpoint": has_endpoint,
        }
