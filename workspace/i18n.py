"""Language choice: Italian unless the person chose English (a cookie, so it survives logout)."""
from __future__ import annotations

from flask import current_app, request

LANG_COOKIE = "tavoli_lang"


def select_locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE) if request else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]
