"""Privacy pages: the information notice and its acknowledgement, "I miei dati" (download), account
deletion; and /.well-known/security.txt (RFC 9116).

The notice is shown *at login*: the login views call :func:`after_login`, which sends a person who
has not read the current version to the notice and then on to where they were going. There is no
global gate, so API clients, sockets and tests that log in without the login page are unaffected.
"""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from workspace.db import db, utcnow
from workspace.privacy import service
from workspace.privacy.forms import AcknowledgeForm, DeleteAccountForm
from workspace.web import safe_next

bp = Blueprint("privacy", __name__)

SECURITY_TXT_DAYS = 180  # RFC 9116 §2.5.5: Expires less than a year ahead


def _version() -> str:
    return current_app.config["PRIVACY_VERSION"]


def after_login(user, target: str) -> str:
    """Where to go after a successful login: the notice first when this version is still unread."""
    if current_app.config.get("PRIVACY_NOTICE_AT_LOGIN", True) and service.notice_pending(user, _version()):
        return url_for("privacy.notice", next=target)
    return target


def _safe(target: str | None) -> str:
    return safe_next(target, url_for("core.home"))


def _notice_page(form: AcknowledgeForm, status: int = 200):
    config = current_app.config
    user = current_user if current_user.is_authenticated else None
    context = {
        "form": form,
        "version": _version(),
        "controller": (config.get("PRIVACY_CONTROLLER") or "").strip() or None,
        "controller_contact": (config.get("PRIVACY_CONTACT") or "").strip() or None,
        "dpo_contact": (config.get("PRIVACY_DPO_CONTACT") or "").strip() or None,
        "retention": {
            "mail_days": int(config.get("RETENTION_MAIL_DAYS") or 0),
            "tokens_days": int(config.get("RETENTION_TOKENS_DAYS") or 0),
            "presence_years": int(config.get("RETENTION_PRESENCE_YEARS") or 0),
        },
        "pending": user is not None and service.notice_pending(user, _version()),
        "user": user,
    }
    return make_response(render_template("privacy/notice.html", **context), status)


@bp.route("/privacy", methods=["GET", "POST"])
def notice():
    form = AcknowledgeForm()
    if request.method == "GET":
        form.next.data = _safe(request.args.get("next")) if request.args.get("next") else ""
        return _notice_page(form)
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not form.validate():
        return _notice_page(form, 400)
    service.accept_notice(db.session, current_user._get_current_object(), _version())
    db.session.commit()
    flash(_("Grazie: abbiamo registrato che hai letto l'informativa sulla privacy."), "success")
    return redirect(_safe(form.next.data))


@bp.get("/privacy/dati")
@login_required
def export():
    user = current_user._get_current_object()
    now = utcnow()
    data = service.export_personal_data(db.session, user, notice_version=_version(), now=now)
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
    response = Response(body + "\n", mimetype="application/json")
    filename = f"tavoli-dati-personali-{user.id}-{now:%Y%m%d}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/privacy/elimina", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    user = current_user._get_current_object()

    def page(status: int = 200, message: str | None = None):
        return make_response(render_template("privacy/delete.html", form=form, user=user, message=message), status)

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(422 if form.email.errors else 400)
    try:
        service.delete_account(db.session, user, form.email.data)
    except service.PrivacyError as exc:
        db.session.rollback()
        if exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
            return page(exc.status)
        return page(exc.status, exc.message)
    old_email = form.email.data.strip().lower()
    db.session.commit()
    if not current_app.config.get("MAIL_SERVER"):
        service.forget_mail(current_app.config["MAIL_DIR"], old_email)
    logout_user()
    session.clear()
    flash(_("Il tuo account è stato eliminato. I contributi che hai dato per la tua organizzazione restano "
            "agli atti del procedimento, senza il tuo nome."), "success")
    return redirect(url_for("core.home"))


# --------------------------------------------------------------------------- security.txt


def security_contacts(config) -> list[str]:
    """Contact URIs for security.txt: TAVOLI_SECURITY_CONTACT (comma-separated; a bare address
    becomes mailto:), else the RFC 2142 mailbox ``security@`` at BASE_URL's host."""
    raw = (config.get("SECURITY_CONTACT") or "").strip()
    contacts = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item.startswith(("mailto:", "https://", "tel:")):
            contacts.append(item)
        elif "@" in item and ":" not in item:
            contacts.append("mailto:" + item)
        else:
            contacts.append(item)
    if not contacts:
        host = urlsplit(config["BASE_URL"]).hostname or "localhost"
        contacts.append(f"mailto:security@{host}")
    return contacts


@bp.get("/.well-known/security.txt")
def security_txt():
    config = current_app.config
    expires = (utcnow() + timedelta(days=SECURITY_TXT_DAYS)).replace(microsecond=0)
    lines = [f"Contact: {contact}" for contact in security_contacts(config)]
    lines += [
        f"Expires: {expires:%Y-%m-%dT%H:%M:%SZ}",
        "Preferred-Languages: it, en",
        f"Canonical: {config['BASE_URL']}/.well-known/security.txt",
        f"Policy: {config['SOURCE_CODE_URL'].rstrip('/')}/blob/main/SECURITY.md",
    ]
    response = Response("\n".join(lines) + "\n", mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/security.txt")
def legacy_security_txt():
    # RFC 9116 §3: the legacy location may redirect to the one under /.well-known/.
    return redirect(url_for("privacy.security_txt"), 301)
