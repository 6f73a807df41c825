"""Pages of the procedure: the Ufficio di Piano's set-up (start a procedure, see its tavoli), the
RUP's administration (act, avviso, lifecycle, applications, admissions, publication log) and the
public record (procedure page, avviso, application form, open data), plus the delegate's
invitation that lands in the tavolo.

Views are thin: they read the form and call the services. Views that write run in one transaction
(``web.transaction``): committed when they answer 2xx/3xx, rolled back otherwise. A form refused by
a service is shown again with the messages on their fields and the Problem's status; any other
``Problem`` reaches the application's handler (an Italian page with its status).
"""
from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from workspace import markdown
from workspace.accounts.auth import after_login
from workspace.accounts.forms import InvitationForm
from workspace.accounts.labels import KIND_LABELS
from workspace.accounts.models import User
from workspace.accounts.permissions import admin_required
from workspace.accounts.service import open_login
from workspace.db import db, utcnow
from workspace.forms import options, to_utc
from workspace.i18n import gettext as _
from workspace.ids import parse_id
from workspace.problems import Problem, invalid
from workspace.procedures import (
    admissions,
    applications,
    closure,
    files,
    labels,
    lifecycle,
    opendata,
    permissions,
    publication,
    service,
)
from workspace.procedures.forms import (
    ActForm,
    ApplicationForm,
    AvvisoForm,
    DecisionForm,
    ProcedureForm,
    ProtocolForm,
    PublicationWindowForm,
    PublishTavoloForm,
    TransitionForm,
    to_local,
)
from workspace.procedures.models import AVVISO_SECTIONS, PROCEDURE_STATUSES, PublicationItem
from workspace.procedures.texts import LICENSE_URL, RUNTS_SEARCH_URL
from workspace.reference.models import Ambito
from workspace.web import creates, transaction

bp = Blueprint("procedures", __name__)

RECEIPT_KEY = "procedure_receipts"


# --------------------------------------------------------------------------- helpers


def _render(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _attach(form, problem: Problem) -> str | None:
    """Put the Problem's messages on their fields. Returns what belongs to no field."""
    left = []
    for field, message in problem.errors.items():
        if field in form:
            form[field].errors = [*form[field].errors, message]
        else:
            left.append(message)
    if not problem.errors:
        return problem.message
    return " ".join(left) or None


def _common() -> dict:
    return {"labels": labels.page_labels(), "when": labels.when, "day": labels.day, "md": markdown.render,
            "statuses": PROCEDURE_STATUSES}


def managed(view):
    """Login, the procedure (404) and the right to manage it (403): the view gets ``procedure``.
    A concluded procedure refuses every form sent to it (409) before the view runs."""

    @wraps(view)
    @login_required
    def wrapper(procedure_id: int, **kwargs):
        procedure = service.get_procedure(db.session, procedure_id)
        permissions.require_manage(current_user, procedure)
        if request.method == "POST":
            closure.require_open(procedure)
        return view(procedure=procedure, **kwargs)

    return wrapper


def _actor() -> User:
    return current_user._get_current_object()


def _send_stored(relative: str, download_name: str):
    path = files.absolute(relative)
    if not path.is_file():
        abort(404, _("Il documento non è più disponibile."))
    response = send_file(path, mimetype=files.media_type(relative), as_attachment=True,
                         download_name=download_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- set-up (Ufficio di Piano)


def _ambito_choices() -> list:
    rows = db.session.execute(select(Ambito.code, Ambito.name).order_by(Ambito.name)).all()
    return options((code, f"{name} ({code})") for code, name in rows)


@bp.route("/tavoli/amministrazione", methods=["GET", "POST"])
@admin_required
@transaction
@creates
def setup():
    """Every procedure with its tavoli, and the form that starts a new one (its RUP: whoever starts it)."""
    form = ProcedureForm()
    form.ambito_code.choices = _ambito_choices()
    message, status = None, 200
    if not form.is_submitted():
        form.ambito_code.data = current_app.config.get("AMBITO_CODE")
    elif not form.validate():
        status = 422
    else:
        try:
            procedure = lifecycle.create_procedure(
                db.session, _actor(), form.ambito_code.data, form.title.data, rup=_actor(),
                object_=form.object.data or "", triennium=form.triennium.data)
        except Problem as problem:
            message, status = _attach(form, problem), problem.status
        else:
            flash(_("Procedura «%(t)s» creata: ora si possono istituire i suoi tavoli.", t=procedure.title),
                  "success")
            return redirect(url_for("tavoli.new_tavolo", procedure_id=procedure.id))
    return _render("procedures/setup.html", status, form=form, message=message,
                   procedures=service.all_procedures(db.session))


# --------------------------------------------------------------------------- administration


@bp.get("/amministrazione/procedure")
@login_required
def admin_index():
    procedures = service.managed_procedures(db.session, _actor())
    if not procedures and not current_user.is_admin:
        abort(403, _("Non sei responsabile di alcuna procedura."))
    return render_template("procedures/admin_index.html", procedures=procedures, **_common())


@bp.get("/amministrazione/procedure/<int:procedure_id>")
@managed
def admin_procedure(procedure):
    now = utcnow()
    target = lifecycle.next_status(procedure)
    return render_template(
        "procedures/admin_procedure.html", procedure=procedure, target=target,
        missing=lifecycle.missing_for(procedure, target, now) if target else [],
        form=TransitionForm(target=target), now=now, **_common())


@bp.post("/amministrazione/procedure/<int:procedure_id>/stato")
@managed
@transaction
def admin_transition(procedure):
    form = TransitionForm()
    if not form.validate():
        abort(400)
    here = url_for("procedures.admin_procedure", procedure_id=procedure.id)
    try:
        # A refused step writes nothing (it is checked before, and its writes are in a savepoint):
        # the page says why after the redirect.
        lifecycle.transition(db.session, _actor(), procedure, form.target.data or "")
    except Problem as problem:
        flash(problem.message, "error")
        return redirect(here, 303)
    flash(_("La procedura è ora nello stato «%(s)s».", s=labels.STATUS_LABELS[procedure.status]), "success")
    return redirect(here, 303)


def _rup_choices() -> list:
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return options([("", _("— nessuno —")), *((str(u.id), f"{u.name} ({u.email})") for u in users)])


def _chosen_rup() -> User | None:
    raw = request.form.get("rup_id") or ""
    if not raw:
        return None
    rup_id = parse_id(raw)
    rup = db.session.get(User, rup_id) if rup_id else None
    if rup is None:
        raise invalid(_("Scegliere il RUP fra le persone proposte."), field="rup_id")
    return rup


@bp.route("/amministrazione/procedure/<int:procedure_id>/atto", methods=["GET", "POST"])
@managed
@transaction
def admin_act(procedure):
    form = ActForm()
    form.rup_id.choices = _rup_choices()
    message, status = None, 200
    if request.method == "GET":
        form.act_number.data = procedure.act_number
        form.act_date.data = procedure.act_date
        form.rup_id.data = str(procedure.rup_id or "")
    elif not form.validate():
        status = 422
    else:
        stored = None
        try:
            rup = _chosen_rup()
            if procedure.status == "bozza":
                if form.act_file.data:
                    stored = files.save_upload(form.act_file.data, _("l'atto di avvio"), field="act_file")
                lifecycle.update_act(db.session, _actor(), procedure, number=form.act_number.data,
                                     act_date=form.act_date.data, stored=stored)
            if "rup_id" in request.form:  # a form without the select keeps the RUP as it is
                lifecycle.set_rup(db.session, _actor(), procedure, rup)
        except Problem as problem:
            files.discard(stored)
            message, status = _attach(form, problem), problem.status
        else:
            flash(_("Atto di avvio e responsabile salvati."), "success")
            return redirect(url_for("procedures.admin_procedure", procedure_id=procedure.id), 303)
    return _render("procedures/admin_act.html", status, form=form, procedure=procedure, message=message,
                   **_common())


@bp.get("/amministrazione/procedure/<int:procedure_id>/atto/file")
@managed
def admin_act_file(procedure):
    if not procedure.act_file_path:
        abort(404, _("L'atto di avvio non è ancora stato caricato."))
    return _send_stored(procedure.act_file_path, procedure.act_file_name or "atto")


@bp.route("/amministrazione/procedure/<int:procedure_id>/avviso", methods=["GET", "POST"])
@managed
@transaction
def admin_avviso(procedure):
    form = AvvisoForm()
    message, status = None, 200
    if request.method == "GET":
        for key in AVVISO_SECTIONS:
            form[key].data = getattr(procedure, key)
        form.avviso_published_at.data = to_local(procedure.avviso_published_at)
        form.application_deadline.data = to_local(procedure.application_deadline)
        form.allowed_kinds.data = list(procedure.allowed_kinds or ["ets"])
    elif not form.validate():
        status = 422
    else:
        try:
            lifecycle.update_avviso(
                db.session, _actor(), procedure, sections={k: form[k].data for k in AVVISO_SECTIONS},
                published_at=to_utc(form.avviso_published_at.data), deadline=to_utc(form.application_deadline.data),
                allowed_kinds=form.allowed_kinds.data or [])
        except Problem as problem:
            message, status = _attach(form, problem), problem.status
        else:
            flash(_("Avviso salvato."), "success")
            return redirect(url_for("procedures.admin_procedure", procedure_id=procedure.id), 303)
    return _render("procedures/admin_avviso.html", status, form=form, procedure=procedure, message=message,
                   readonly=procedure.status != "bozza", **_common())


@bp.get("/amministrazione/procedure/<int:procedure_id>/candidature")
@managed
def admin_applications(procedure):
    return render_template("procedures/admin_applications.html", procedure=procedure, **_common())


@bp.route("/amministrazione/procedure/<int:procedure_id>/candidature/<int:application_id>",
          methods=["GET", "POST"])
@managed
@transaction
def admin_application(procedure, application_id: int):
    application = service.get_application(db.session, procedure, application_id)
    decision, protocol = DecisionForm(prefix="d"), ProtocolForm(prefix="p")
    message, status = None, 200
    if request.method == "GET":
        protocol.protocol_number.data = application.protocol_number
    elif "p-protocol_number" in request.form:
        if not protocol.validate():
            status = 422
        else:
            try:
                applications.set_protocol(db.session, _actor(), application, protocol.protocol_number.data)
            except Problem as problem:
                message, status = _attach(protocol, problem), problem.status
            else:
                flash(_("Numero di protocollo salvato."), "success")
                return redirect(url_for("procedures.admin_application", procedure_id=procedure.id,
                                        application_id=application.id), 303)
    elif not decision.validate():
        status = 422
    else:
        try:
            admissions.decide(db.session, _actor(), application, decision.decision.data, decision.motivation.data)
        except Problem as problem:
            message, status = _attach(decision, problem), problem.status
        else:
            flash(_("Candidatura di «%(org)s»: %(outcome)s. L'organizzazione è stata avvisata.",
                    org=application.organisation_name,
                    outcome=labels.APPLICATION_STATUS_LABELS[application.status].lower()), "success")
            return redirect(url_for("procedures.admin_applications", procedure_id=procedure.id), 303)
    return _render("procedures/admin_application.html", status, procedure=procedure, application=application,
                   decision=decision, protocol=protocol, message=message,
                   runts_url=RUNTS_SEARCH_URL, **_common())


@bp.get("/amministrazione/procedure/<int:procedure_id>/candidature/<int:application_id>/procura")
@managed
def admin_proxy_file(procedure, application_id: int):
    application = service.get_application(db.session, procedure, application_id)
    if not application.proxy_file_path:
        abort(404, _("Questa candidatura non ha una procura allegata."))
    return _send_stored(application.proxy_file_path, application.proxy_file_name or "procura")


def _publish_tavolo(procedure, form: PublishTavoloForm) -> str:
    if not form.validate():
        abort(400)
    tavolo = next((t for t in procedure.tavoli if str(t.id) == form.tavolo_id.data), None)
    if tavolo is None:
        abort(404, _("Tavolo inesistente."))
    publication.publish_tavolo(db.session, _actor(), procedure, tavolo)
    return _("Tavolo «%(t)s» pubblicato.", t=tavolo.title)


def _change_window(procedure, form: PublicationWindowForm) -> str:
    raw = form.item_id.data or ""
    item_id = parse_id(raw)
    item = db.session.get(PublicationItem, item_id) if item_id else None
    if item is None or item.procedure_id != procedure.id:
        abort(404, _("Elemento della pubblicazione inesistente."))
    if not form.validate():
        raise Problem("invalid", _("Date non valide."), 422)
    publication.set_publication_window(db.session, _actor(), item, to_utc(form.published_from.data),
                                       to_utc(form.published_until.data))
    return _("Periodo di pubblicazione di «%(t)s» aggiornato.", t=item.title)


@bp.route("/amministrazione/procedure/<int:procedure_id>/pubblicazioni", methods=["GET", "POST"])
@managed
@transaction
def admin_publications(procedure):
    window = PublicationWindowForm(prefix="w")
    publish = PublishTavoloForm(prefix="t")
    message, status, failed_item = None, 200, None
    if request.method == "POST":
        try:
            if "t-tavolo_id" in request.form:
                done = _publish_tavolo(procedure, publish)
            else:
                failed_item = parse_id(window.item_id.data)
                done = _change_window(procedure, window)
        except Problem as problem:
            message, status = _attach(window, problem), problem.status
        else:
            flash(done, "success")
            return redirect(url_for("procedures.admin_publications", procedure_id=procedure.id), 303)
    return _render("procedures/admin_publications.html", status, procedure=procedure, window=window,
                   publish=publish, message=message, failed_item=failed_item, now=utcnow(),
                   unpublished=publication.unpublished_tavoli(procedure) if permissions.avviso_out(procedure) else [],
                   to_local=to_local, **_common())


# --------------------------------------------------------------------------- the public record


def _public(procedure_id: int):
    now = utcnow()
    return service.get_public_procedure(db.session, procedure_id, now), now


def _public_context(procedure, now) -> dict:
    items = permissions.visible_items(procedure, now)
    avviso = next((i for i in items if i.kind == "avviso"), None)
    tavoli_ids = {i.ref_id: i for i in items if i.kind == "tavolo"}
    admitted_ids = {i.ref_id: i for i in items if i.kind == "ammissione"}
    return {
        "procedure": procedure,
        "now": now,
        "avviso_item": avviso,
        "tavoli": [(t, tavoli_ids[t.id]) for t in procedure.tavoli if t.id in tavoli_ids],
        "admitted": [(a, admitted_ids[a.id]) for a in procedure.applications if a.id in admitted_ids],
        "open": applications.applications_open(procedure, now),
        "license_url": LICENSE_URL,
        **_common(),
    }


@bp.get("/procedure")
def public_index():
    return render_template("procedures/public_index.html", procedures=service.public_procedures(db.session),
                           **_common())


@bp.get("/procedure/<int:procedure_id>")
def public(procedure_id: int):
    procedure, now = _public(procedure_id)
    return render_template("procedures/public.html", **_public_context(procedure, now))


@bp.get("/procedure/<int:procedure_id>/avviso")
def public_avviso(procedure_id: int):
    procedure, now = _public(procedure_id)
    context = _public_context(procedure, now)
    if context["avviso_item"] is None:
        abort(404, _("L'avviso di questa procedura non è pubblicato."))
    return render_template("procedures/public_avviso.html", **context)


@bp.get("/procedure/<int:procedure_id>/atto")
def public_act_file(procedure_id: int):
    procedure, now = _public(procedure_id)
    if not procedure.act_file_path or not permissions.visible_items(procedure, now, "avviso"):
        abort(404, _("L'atto di avvio non è pubblicato."))
    return _send_stored(procedure.act_file_path, procedure.act_file_name or "atto")


@bp.get("/procedure/<int:procedure_id>/dati.csv")
def public_csv(procedure_id: int):
    procedure, now = _public(procedure_id)
    body = opendata.open_data_csv(db.session, procedure, now)
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="procedura-{procedure.id}-dati.csv"'
    response.headers["Link"] = f'<{LICENSE_URL}>; rel="license"'
    return response


def _application_form_page(procedure, now, form, status=200, message=None):
    return _render("procedures/public_application.html", status, form=form, message=message,
                   **_public_context(procedure, now))


@bp.route("/procedure/<int:procedure_id>/candidatura", methods=["GET", "POST"])
@transaction
@creates
def public_application(procedure_id: int):
    procedure, now = _public(procedure_id)
    form = ApplicationForm()
    form.tavoli.choices = options((str(t.id), t.title) for t in applications.application_tavoli(procedure, now))
    form.organisation_kind.choices = options((k, KIND_LABELS[k]) for k in procedure.allowed_kinds or ["ets"])
    if request.method == "GET":
        if not applications.applications_open(procedure, now):
            try:
                applications.check_window(procedure, now)
            except Problem as problem:
                return _application_form_page(procedure, now, form, 200, problem.message)
        return _application_form_page(procedure, now, form)
    if not form.validate():
        return _application_form_page(procedure, now, form, 422)
    stored = None
    try:
        applications.check_window(procedure, now)
        if form.signed_by_proxy.data and form.proxy_file.data:
            stored = files.save_upload(form.proxy_file.data, _("la procura"), field="proxy_file")
        application, _created = applications.submit_application(db.session, procedure, form.service_data(),
                                                                stored, now=now)
    except Problem as problem:
        files.discard(stored)
        message = _attach(form, problem)
        return _application_form_page(procedure, now, form, problem.status, message)
    receipts = dict(session.get(RECEIPT_KEY) or {})
    receipts[str(procedure.id)] = application.id
    session[RECEIPT_KEY] = receipts
    return redirect(url_for("procedures.public_receipt", procedure_id=procedure.id), 303)


@bp.get("/procedure/<int:procedure_id>/candidatura/ricevuta")
def public_receipt(procedure_id: int):
    procedure, now = _public(procedure_id)
    application_id = (session.get(RECEIPT_KEY) or {}).get(str(procedure.id))
    application = None
    if application_id is not None:
        try:
            application = service.get_application(db.session, procedure, int(application_id))
        except Problem:
            application = None
    if application is None:
        abort(404, _("Nessuna ricevuta da mostrare: la ricevuta è visibile solo subito dopo l'invio, e "
                     "arriva anche all'indirizzo e-mail dell'organizzazione."))
    return render_template("procedures/public_receipt.html", application=application,
                           **_public_context(procedure, now))


# --------------------------------------------------------------------------- delegate's invitation


@bp.route("/procedure/invito/<token>", methods=["GET", "POST"])
@transaction
def invitation(token: str):
    application = admissions.invitation_application(db.session, token)
    form = InvitationForm()
    context = {"application": application, "procedure": application.procedure, **_common()}
    if request.method == "GET":
        form.name.data = application.delegate_name
        return _render("procedures/invitation.html", form=form, **context)
    with_password = bool(form.join_with_password.data)
    if not form.validate():
        return _render("procedures/invitation.html", 422, form=form, **context)
    if with_password and not form.password.data:
        form.password.errors = [*form.password.errors, _("Per aderire con una password occorre sceglierla.")]
        return _render("procedures/invitation.html", 422, form=form, **context)
    try:
        user, application = admissions.accept_invitation(
            db.session, token, name=form.name.data, password=form.password.data if with_password else None)
    except Problem as problem:
        message = _attach(form, problem)
        if message is not None and problem.status in (403, 404, 410):
            raise
        return _render("procedures/invitation.html", problem.status, form=form, message=message, **context)
    open_login(db.session, user)  # the login logging out will end (written with the admission)
    session.clear()
    login_user(user)
    org = application.organisation
    flash(_("Benvenuta o benvenuto! Ora partecipi ai tavoli per «%(org)s».",
            org=org.name if org else application.organisation_name), "success")
    first = application.tavoli[0] if application.tavoli else None
    target = url_for("tavoli.home", tavolo_id=first.id) if first else url_for("accounts.profile")
    return redirect(after_login(user, target))
