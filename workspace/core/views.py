"""Home page, accessibility statement, language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workspace.i18n import LANG_COOKIE

bp = Blueprint("core", __name__)


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


@bp.get("/")
def home():
    return render_template("core/home.html")


@bp.get("/accessibilita")
def accessibility():
    # The feedback contact of the administration running this installation (legge 4/2004, art. 3-quinquies).
    contact = (current_app.config.get("ACCESSIBILITY_CONTACT") or "").strip() or None
    return render_template("core/accessibility.html", contact=contact)


@bp.get("/lingua/<code>")
def set_language(code: str):
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
