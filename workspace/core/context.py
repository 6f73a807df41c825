"""Values every template needs: the Ambito of this installation, the language, the source link."""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from flask_babel import get_locale


@lru_cache(maxsize=8)
def _ambito_name(code: str | None, _db_url: str) -> str | None:
    if not code:
        return None
    from sqlalchemy import select

    from workspace.db import db
    from workspace.reference.models import Ambito

    return db.session.scalar(select(Ambito.name).where(Ambito.code == code))


def init_app(app) -> None:
    @app.context_processor
    def _globals():
        return {
            "ambito_name": _ambito_name(app.config["AMBITO_CODE"], app.config["DATABASE_URL"]),
            "current_lang": str(get_locale()),
            "source_code_url": current_app.config["SOURCE_CODE_URL"],
        }
