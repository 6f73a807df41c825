"""Home page, accessibility statement, language switch."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from workspace.i18n import LANG_COOKIE
from workspace.i18n import gettext as _
from workspace.web import safe_next

bp = Blueprint("core", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("core/home.html")


@bp.get("/accessibilita")
def accessibility() -> ResponseReturnValue:
    # The feedback contact of the administration running this installation (legge 4/2004, art. 3-quinquies).
    contact = (current_app.config.get("ACCESSIBILITY_CONTACT") or "").strip() or None
    return render_template("core/accessibility.html", contact=contact, check=accessibility_check())


#: The result of the last automatic check (tests/e2e/test_accessibility_pages.py, summarised by
#: scripts/accessibility_summary.py): the statement says what was checked, when, and the outcome.
ACCESSIBILITY_CHECK = Path(__file__).with_name("accessibility_check.json")


def accessibility_check() -> dict | None:
    try:
        data = json.loads(ACCESSIBILITY_CHECK.read_text(encoding="utf-8"))
        data["date"] = date.fromisoformat(data["date"])
    except (OSError, ValueError, KeyError):
        return None
    return data


@bp.get("/lingua/<code>")
def set_language(code: str) -> ResponseReturnValue:
    if code not in current_app.config["LANGUAGES"]:
        abort(404, _("Lingua non disponibile: scegliere italiano (it) o inglese (en)."))
    response = redirect(safe_next(request.args.get("next"), url_for("core.home")))
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
    )
    return response
