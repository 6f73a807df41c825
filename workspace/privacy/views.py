"""Privacy pages: the information notice and its acknowledgement, "I miei dati" (download), account
deletion; and /.well-known/security.txt (RFC 9116).

The notice is shown *at login*: every login view calls ``accounts.auth.after_login``, which sends a
person who has not read the current version to the notice (by its endpoint name, ``privacy.notice``)
and then on to where they were going. There is no global gate, so API clients, sockets and tests
that log in without the login page are unaffected.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
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
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from workspace import realtime
from workspace.accounts.auth import notice_pending
from workspace.db import db, utcnow
from workspace.extensions import login_manager
from workspace.i18n import gettext as _
from workspace.privacy import service
from workspace.privacy.forms import AcknowledgeForm, DeleteAccountForm
from workspace.problems import Problem
from workspace.record import on_commit
from workspace.web import safe_next, transaction

bp = Blueprint("privacy", __name__)

SECURITY_TXT_DAYS = 180  # RFC 9116 §2.5.5: Expires less than a year ahead


def _version() -> str:
    return current_app.config["PRIVACY_VERSION"]


def _safe(target: str | None) -> str:
    return safe_next(target, url_for("core.home"))


def _notice_page(form: AcknowledgeForm, status: int = 200) -> Response:
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
        "pending": user is not None and notice_pending(user, _version()),
        "user": user,
    }
    return make_response(render_template("privacy/notice.html", **context), status)


@bp.route("/privacy", methods=["GET", "POST"])
@transaction
def notice() -> ResponseReturnValue:
    form = AcknowledgeForm()
    if request.method == "GET":
        form.next.data = _safe(request.args.get("next")) if request.args.get("next") else ""
        return _notice_page(form)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not form.validate():
        return _notice_page(form, 400)
    service.accept_notice(db.session, current_user._get_current_object(), _version())
    on_commit(db.session, lambda: flash(_("Grazie: abbiamo registrato che hai letto l'informativa sulla privacy."),
                                        "success"))
    return redirect(_safe(form.next.data))


@bp.get("/privacy/dati")
@login_required
def export() -> ResponseReturnValue:
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
@transaction
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm()
    user = current_user._get_current_object()

    def page(status: int = 200, message: str | None = None) -> Response:
        return make_response(render_template("privacy/delete.html", form=form, user=user, message=message), status)

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(422 if form.email.errors else 400)
    try:
        service.delete_account(db.session, user, form.email.data)
    except Problem as problem:
        if problem.field and problem.field in form:
            form[problem.field].errors = [*form[problem.field].errors, problem.message]
            return page(problem.status)
        return page(problem.status, problem.message)
    old_email = form.email.data.strip().lower()
    app, user_id = current_app._get_current_object(), user.id  # type: ignore[attr-defined]
    mail_dir = None if current_app.config.get("MAIL_SERVER") else current_app.config["MAIL_DIR"]

    def deleted() -> None:
        # Only once the pseudonymisation is committed: a failed commit keeps the account, its
        # session and its mails.
        if mail_dir is not None:
            service.forget_mail(mail_dir, old_email)
        realtime.disconnect_logins(app, user_id)  # every open live connection of the person closes
        logout_user()
        session.clear()
        flash(_("Il tuo account è stato eliminato. I contributi che hai dato per la tua organizzazione "
                "restano agli atti del procedimento, senza il tuo nome."), "success")

    on_commit(db.session, deleted)
    return redirect(url_for("core.home"))


# --------------------------------------------------------------------------- security.txt


def security_contacts(config: Mapping[str, Any]) -> list[str]:
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
def security_txt() -> ResponseReturnValue:
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
def legacy_security_txt() -> ResponseReturnValue:
    # RFC 9116 §3: the legacy location may redirect to the one under /.well-known/.
    return redirect(url_for("privacy.security_txt"), 301)
