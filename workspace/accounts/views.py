"""Login, logout, invitations, links by e-mail, profile, and the administration of organisations.

Views stay thin: they read the form and call ``service`` inside ``@transaction`` (commit on
success, roll back on a refusal). A ``Problem`` that belongs to the form re-renders it with the
message where it belongs and the Problem's status; any other refusal (an unknown, used or expired
link, a disabled account) reaches the application's error page. The login itself (the session
cookie) is written only once the change is committed. Pages reached from an e-mail (invitation,
reset, login link) only *show* on GET; the POST does the work, so mail scanners that open links
cannot use single-use tokens up.
"""
from __future__ import annotations

from typing import Any

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
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from workspace import realtime
from workspace.accounts import links, service
from workspace.accounts.auth import after_login, forget_cached_user
from workspace.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EmailRequestForm,
    InvitationForm,
    InviteForm,
    LoginForm,
    OrganisationForm,
    ResetPasswordForm,
    choices,
)
from workspace.accounts.labels import KIND_LABELS, RUNTS_LABELS
from workspace.accounts.models import User
from workspace.accounts.permissions import admin_required
from workspace.db import db
from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.ratelimit import get_limiter
from workspace.record import on_commit
from workspace.web import creates, safe_next, transaction

bp = Blueprint("accounts", __name__)
bp.before_app_request(forget_cached_user)


# --------------------------------------------------------------------------- helpers


def _next_url(target: str | None) -> str:
    return safe_next(target, url_for("core.home"))


def _render(template: str, status: int = 200, *, retry_after: int | None = None, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _add_errors(form: FlaskForm, errors: dict[str, str]) -> dict[str, str]:
    """Attach messages to the form's fields; returns those that belong to no field."""
    left: dict[str, str] = {}
    for field, message in errors.items():
        if field in form:
            if message not in form[field].errors:
                form[field].errors = [*form[field].errors, message]
        else:
            left[field] = message
    return left


def _refuse(problem: Problem, form: FlaskForm) -> str | None:
    """Attach the message(s) to their fields; returns the message when it belongs to no field of
    ``form`` (the page shows it on top). ``@transaction`` rolls back: the page answers an error."""
    if problem.errors and not _add_errors(form, problem.errors):
        return None
    return problem.message


def _page_refusing(problem: Problem, form: FlaskForm, template: str, **context: Any) -> Response:
    """The form again, with the refusal's message(s) and status (and Retry-After when throttled)."""
    message = _refuse(problem, form)
    return _render(template, problem.status, retry_after=problem.retry_after, form=form, message=message,
                   **context)


def _log_in(user: User, remember: bool = False, welcome: str | None = None) -> None:
    """Log ``user`` in once the transaction commits: a login whose change failed to save leaves no
    session cookie behind (nor a welcome message). The login itself (what logging out ends on the
    server) is written in the transaction."""
    service.open_login(db.session, user, remember=remember)

    def done() -> None:
        session.clear()  # nothing from before the login survives into the authenticated session
        login_user(user, remember=remember)
        if welcome:
            flash(welcome, "success")

    on_commit(db.session, done)


def _announce(message: str) -> None:
    """Flash ``message`` once the change is committed (a failed commit shows only its refusal)."""
    on_commit(db.session, lambda: flash(message, "success"))


# --------------------------------------------------------------------------- login / logout


@bp.route("/accedi", methods=["GET", "POST"])
@transaction
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(_next_url(form.next.data))
        return _render("accounts/login.html", form=form)
    if not form.validate():
        return _render("accounts/login.html", 422, form=form)
    try:
        # A wrong password is counted by the limiter (memory or Redis), not in the database: the
        # rollback of this refused request leaves the count in place.
        user = service.login_with_password(
            db.session, get_limiter(), form.email.data, form.password.data, request.remote_addr
        )
    except Problem as problem:
        return _page_refusing(problem, form, "accounts/login.html")
    _log_in(user, remember=bool(form.remember.data),
            welcome=_("Benvenuta o benvenuto, %(name)s.", name=user.name))
    return redirect(after_login(user, _next_url(form.next.data)))


def _disconnect_after_commit(user_id: int, cookie_id: str | None) -> None:
    """Close the live connections of the login that ended (all the person's when ``cookie_id`` is
    None) once the change is committed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def close() -> None:
        realtime.disconnect_logins(app, user_id, cookie_id)

    on_commit(db.session, close)


def _forget_login() -> None:
    logout_user()  # also tells Flask-Login to delete the remember-me cookie: keep that flag
    for key in [k for k in session if not k.startswith("_")]:
        session.pop(key)


@bp.post("/esci")
@transaction
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        cookie_id = user.get_id()
        service.logged_out(db.session, user)
        _disconnect_after_commit(user.id, cookie_id)
    _forget_login()
    flash(_("Sei uscita o uscito da Tavoli."), "info")
    return redirect(url_for("core.home"))


@bp.post("/esci-da-tutti-i-dispositivi")
@login_required
@transaction
def logout_everywhere() -> ResponseReturnValue:
    user = current_user._get_current_object()
    ended = service.logged_out_everywhere(db.session, user)
    _disconnect_after_commit(user.id, None)
    _forget_login()
    flash(_("Sei uscita o uscito da Tavoli su tutti i dispositivi (%(num)d accessi chiusi).", num=ended), "info")
    return redirect(url_for("core.home"))


# --------------------------------------------------------------------------- links by e-mail


def _email_request(kind: str) -> ResponseReturnValue:
    form = EmailRequestForm()
    texts: dict[str, Any] = {
        "reset": {
            "title": _("Password dimenticata"),
            "intro": _("Indica l'indirizzo e-mail del tuo account: ti invieremo un link per scegliere "
                       "una nuova password."),
        },
        "link": {
            "title": _("Accesso con link via e-mail"),
            "intro": _("Indica l'indirizzo e-mail del tuo account: ti invieremo un link per entrare "
                       "senza password."),
        },
    }[kind]
    if request.method == "GET":
        return _render("accounts/email_request.html", form=form, **texts)
    if not form.validate():
        return _render("accounts/email_request.html", 422, form=form, **texts)
    request_fn = links.request_password_reset if kind == "reset" else links.request_login_link
    try:
        request_fn(db.session, form.email.data, limiter=get_limiter(), ip=request.remote_addr)
    except Problem as problem:
        return _page_refusing(problem, form, "accounts/email_request.html", **texts)
    return _render("accounts/email_sent.html", title=texts["title"])


@bp.route("/password-dimenticata", methods=["GET", "POST"])
@transaction
def forgot_password() -> ResponseReturnValue:
    return _email_request("reset")


@bp.route("/accesso-con-link", methods=["GET", "POST"])
@transaction
def request_login_link() -> ResponseReturnValue:
    return _email_request("link")


def _form_refusal(problem: Problem, form: FlaskForm) -> str | None:
    """On the pages of a link: a refusal about the link or the account (gone, used, disabled) is
    the error page; one about the form's fields re-renders the form."""
    message = _refuse(problem, form)
    if message is not None and problem.status in (403, 404, 410):
        raise problem
    return message


@bp.route("/password/<token>", methods=["GET", "POST"])
@transaction
def reset_password(token: str) -> ResponseReturnValue:
    access = links.peek_token(db.session, token, "password_reset")
    form = ResetPasswordForm()
    if request.method == "GET":
        return _render("accounts/reset_password.html", form=form, email=access.email)
    if not form.validate():
        return _render("accounts/reset_password.html", 422, form=form, email=access.email)
    try:
        user = links.reset_password(db.session, token, form.password.data)
    except Problem as problem:
        message = _form_refusal(problem, form)
        return _render("accounts/reset_password.html", problem.status, form=form, email=access.email,
                       message=message)
    _disconnect_after_commit(user.id, None)  # the password changed: every other login ends
    _log_in(user, welcome=_("La password è stata cambiata. Hai già effettuato l'accesso."))
    return redirect(after_login(user, url_for("accounts.profile")))


@bp.route("/accesso/<token>", methods=["GET", "POST"])
@transaction
def login_link(token: str) -> ResponseReturnValue:
    access = links.peek_token(db.session, token, "login_link")
    form = ConfirmForm()
    if request.method == "GET":
        return _render("accounts/login_link.html", form=form, email=access.email)
    if not form.validate():
        return _render("accounts/login_link.html", 400, form=form, email=access.email)
    user = links.login_with_link(db.session, token)
    _log_in(user, welcome=_("Benvenuta o benvenuto, %(name)s.", name=user.name))
    return redirect(after_login(user, url_for("core.home")))


# --------------------------------------------------------------------------- invitations


@bp.route("/invito/<token>", methods=["GET", "POST"])
@transaction
def invitation(token: str) -> ResponseReturnValue:
    access = links.peek_token(db.session, token, "invitation")
    inviter = links.token_inviter(db.session, access)
    existing = service.find_user(db.session, access.email)
    form = InvitationForm()
    context: dict[str, Any] = {"invitation": access, "inviter": inviter, "existing": existing,
                               "organisation": access.organisation}
    if request.method == "GET":
        form.name.data = existing.name if existing else (access.name or "")
        return _render("accounts/invitation.html", form=form, **context)
    with_password = bool(form.join_with_password.data)
    if not form.validate():
        return _render("accounts/invitation.html", 422, form=form, **context)
    if with_password and not form.password.data:
        form.password.errors = [*form.password.errors, _("Per aderire con una password occorre sceglierla.")]
        return _render("accounts/invitation.html", 422, form=form, **context)
    try:
        user = links.accept_invitation(
            db.session, token, password=form.password.data if with_password else None, name=form.name.data
        )
    except Problem as problem:
        message = _form_refusal(problem, form)
        return _render("accounts/invitation.html", problem.status, form=form, message=message, **context)
    if access.organisation is not None:
        welcome = _("Benvenuta o benvenuto! Ora partecipi per «%(org)s».", org=access.organisation.name)
    else:
        welcome = _("Benvenuta o benvenuto in Tavoli!")
    _log_in(user, welcome=welcome)
    return redirect(after_login(user, url_for("accounts.profile")))


# --------------------------------------------------------------------------- profile


@bp.route("/profilo", methods=["GET", "POST"])
@login_required
@transaction
def profile() -> ResponseReturnValue:
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if request.method == "GET":
        return _render("accounts/profile.html", form=form, user=user)
    if not form.validate():
        return _render("accounts/profile.html", 422, form=form, user=user)
    try:
        service.change_password(db.session, get_limiter(), user, form.current_password.data,
                                form.new_password.data, ip=request.remote_addr)
    except Problem as problem:
        return _page_refusing(problem, form, "accounts/profile.html", user=user)

    # The login_id rotated: every open connection's cookie is now dead; close them (this page's
    # own reconnects at once with its new cookie).
    _disconnect_after_commit(user.id, None)

    def keep_this_session() -> None:
        login_user(user)  # the login_id rotated: keep this session, end the others
        flash(_("La password è stata cambiata. Le altre sessioni aperte sono state chiuse."), "success")

    on_commit(db.session, keep_this_session)
    return redirect(url_for("accounts.profile"))


# --------------------------------------------------------------------------- administration


def _ambito_choices() -> list[tuple[str, str]]:
    from workspace.reference.models import Ambito

    rows = db.session.execute(select(Ambito.code, Ambito.name).order_by(Ambito.name)).all()
    return choices([("", _("— nessuno —")), *((code, f"{name} ({code})") for code, name in rows)])


def _organisations_page(form: OrganisationForm, status: int = 200, message: str | None = None) -> Response:
    return _render(
        "accounts/admin_organisations.html", status,
        form=form, message=message, organisations=service.list_organisations(db.session),
        kind_labels=KIND_LABELS, runts_labels=RUNTS_LABELS,
    )


@bp.route("/amministrazione/organizzazioni", methods=["GET", "POST"])
@admin_required
@transaction
@creates
def organisations() -> ResponseReturnValue:
    form = OrganisationForm()
    form.ambito_code.choices = _ambito_choices()
    if request.method == "GET":
        form.ambito_code.data = current_app.config.get("AMBITO_CODE") or ""
        return _organisations_page(form)
    if not form.validate():
        # Show the rules' complaints too, so every problem appears at once.
        _fields, errors = service.check_organisation(
            db.session, name=form.name.data, kind=form.kind.data, ambito_code=form.ambito_code.data,
            codice_fiscale=form.codice_fiscale.data, runts_section=form.runts_section.data,
            runts_repertorio=form.runts_repertorio.data, email=form.email.data,
        )
        _add_errors(form, errors)
        return _organisations_page(form, 422)
    try:
        org = service.create_organisation(
            db.session,
            name=form.name.data,
            kind=form.kind.data,
            ambito_code=form.ambito_code.data,
            codice_fiscale=form.codice_fiscale.data,
            runts_section=form.runts_section.data,
            runts_repertorio=form.runts_repertorio.data,
            email=form.email.data,
            actor=current_user._get_current_object(),
        )
    except Problem as problem:
        return _organisations_page(form, problem.status, _refuse(problem, form))
    _announce(_("Organizzazione «%(name)s» creata.", name=org.name))
    return redirect(url_for("accounts.organisation", organisation_id=org.id))


@bp.route("/amministrazione/organizzazioni/<int:organisation_id>", methods=["GET", "POST"])
@admin_required
@transaction
def organisation(organisation_id: int) -> ResponseReturnValue:
    org = service.get_organisation(db.session, organisation_id)
    form = InviteForm()

    def page(status: int = 200, message: str | None = None) -> Response:
        return _render(
            "accounts/admin_organisation.html", status, organisation=org, form=form, message=message,
            members=service.members_of(db.session, org), kind_labels=KIND_LABELS, runts_labels=RUNTS_LABELS,
        )

    if request.method == "GET":
        return page()
    if not form.validate():
        return page(422)
    try:
        links.invite_delegate(
            db.session, org, name=form.name.data, email=form.email.data,
            grants_admin=bool(form.grants_admin.data), invited_by=current_user._get_current_object(),
        )
    except Problem as problem:
        return page(problem.status, _refuse(problem, form))
    _announce(_("Invito inviato a %(email)s.", email=form.email.data.strip()))
    return redirect(url_for("accounts.organisation", organisation_id=org.id))
