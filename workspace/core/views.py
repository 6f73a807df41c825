"""Home page, accessibility statement, language switch."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from workspace.i18n import LANG_COOKIE
from workspace.web import safe_next

bp = Blueprint("core", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template("core/home.html")


@bp.get("/accessibilita")
def accessibility() -> ResponseReturnValue:
    # The feedback contact of the administration running this installation (legge 4/2004, art. 3-quinquies).
    contact = (current_app.config.get("ACCESSIBILITY_CONTACT") or "").strip() or None
    return render_template("core/accessibility.html", contact=contact)


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
