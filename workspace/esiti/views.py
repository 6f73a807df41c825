"""Pages of the esiti of the previous programming.

- Ufficio di Piano (RUP or administrator, ``permissions.can_edit``), under the procedure's
  administration: the table with its bands, add / edit / delete an objective, import from CSV,
  XLSX or ODS (all or nothing, one message per bad row), the template to fill in, downloads.
- The tavoli's people: the same table read-only, with the downloads.

Views are thin: they read the form and call the services, under ``@transaction`` when they write.
The public page is in ``workspace.esiti.public``.
"""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workspace import exports
from workspace.accounts.models import User
from workspace.db import db
from workspace.esiti import document, importing, labels, permissions, scale, service
from workspace.esiti.forms import ActionForm, ImportForm, ObjectiveForm
from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.procedures import service as procedures
from workspace.procedures.models import Procedure
from workspace.web import transaction

bp = Blueprint("esiti", __name__)


def _user() -> User:
    return current_user._get_current_object()


def editable(view):
    """Login, the procedure (404) and the right to edit its esiti (403, 409 once concluded)."""

    @wraps(view)
    @login_required
    def wrapper(procedure_id: int, **kwargs: Any):
        procedure = procedures.get_procedure(db.session, procedure_id)
        permissions.require_edit(current_user, procedure)
        return view(procedure=procedure, **kwargs)

    return wrapper


def readable(view):
    @wraps(view)
    @login_required
    def wrapper(procedure_id: int, **kwargs: Any):
        procedure = procedures.get_procedure(db.session, procedure_id)
        permissions.require_read(db.session, current_user, procedure)
        return view(procedure=procedure, **kwargs)

    return wrapper


def common(procedure: Procedure) -> dict[str, Any]:
    return {"procedure": procedure, "labels": labels.for_pages(), "fields": scale.fields(),
            "band_class": labels.band_class, "pct": labels.pct, "euro": labels.euro,
            "formats": labels.download_formats(), "template_formats": importing.IMPORT_FORMATS}


# --------------------------------------------------------------------------- reading


@bp.get("/amministrazione/procedure/<int:procedure_id>/esiti")
@login_required
def admin(procedure_id: int):
    procedure = procedures.get_procedure(db.session, procedure_id)
    permissions.require_manage(current_user, procedure)  # a concluded procedure's table stays readable here
    return render_template("esiti/table.html", objectives=service.objectives(db.session, procedure), admin=True,
                           frozen=procedure.status in permissions.FROZEN_STATUSES, delete_form=ActionForm(),
                           **common(procedure))


@bp.get("/procedure/<int:procedure_id>/esiti/tavoli")
@readable
def members(procedure: Procedure):
    return render_template("esiti/table.html", objectives=service.list_for(db.session, _user(), procedure),
                           admin=False, can_edit=permissions.can_edit(current_user, procedure), **common(procedure))


@bp.get("/procedure/<int:procedure_id>/esiti/tavoli/esporta/<fmt>")
@readable
@transaction  # the export is recorded in the audit trail
def download(procedure: Procedure, fmt: str):
    fmt = exports.check_format(fmt, document.FORMATS).name
    data = document.render(procedure, service.list_for(db.session, _user(), procedure), fmt)
    service.announce(db.session, _user(), "exported", procedure, None, format=fmt, channel="web")
    return exports.download_response(data, document.stem(procedure), fmt)


@bp.get("/amministrazione/procedure/<int:procedure_id>/esiti/modello.<fmt>")
@login_required
def template(procedure_id: int, fmt: str):
    procedure = procedures.get_procedure(db.session, procedure_id)
    permissions.require_manage(current_user, procedure)
    return exports.download_response(importing.template_bytes(fmt), "modello-esiti-2021-2023", fmt)


# --------------------------------------------------------------------------- writing


def _form_page(procedure: Procedure, form: ObjectiveForm, objective=None, message: str | None = None,
               status: int = 200):
    return make_response(render_template("esiti/edit.html", form=form, objective=objective, message=message,
                                         **common(procedure)), status)


def _problem_on_form(form: ObjectiveForm, problem: Problem) -> None:
    for key, message in problem.errors.items():
        if hasattr(form, key):
            getattr(form, key).errors = [message]


@bp.route("/amministrazione/procedure/<int:procedure_id>/esiti/nuovo", methods=["GET", "POST"])
@editable
@transaction
def new(procedure: Procedure):
    form = ObjectiveForm()
    if request.method == "POST":
        if not form.validate():
            return _form_page(procedure, form, status=422)
        try:
            objective = service.create(db.session, _user(), procedure, form.raw())
        except Problem as problem:
            if problem.status != 422:
                raise
            _problem_on_form(form, problem)
            return _form_page(procedure, form, message=problem.message if not problem.errors else None, status=422)
        flash(_("Obiettivo n. %(n)d aggiunto.", n=objective.position), "success")
        return redirect(url_for("esiti.admin", procedure_id=procedure.id) + f"#obiettivo-{objective.id}", 303)
    return _form_page(procedure, form)


@bp.route("/amministrazione/procedure/<int:procedure_id>/esiti/<int:objective_id>", methods=["GET", "POST"])
@editable
@transaction
def edit(procedure: Procedure, objective_id: int):
    objective = service.get_objective(db.session, procedure, objective_id)
    form = ObjectiveForm()
    if request.method == "POST":
        if not form.validate():
            return _form_page(procedure, form, objective, status=422)
        try:
            service.update(db.session, _user(), objective, form.raw())
        except Problem as problem:
            if problem.status != 422:
                raise
            _problem_on_form(form, problem)
            return _form_page(procedure, form, objective, status=422)
        flash(_("Obiettivo n. %(n)d salvato.", n=objective.position), "success")
        return redirect(url_for("esiti.admin", procedure_id=procedure.id) + f"#obiettivo-{objective.id}", 303)
    form.fill(objective)
    return _form_page(procedure, form, objective)


@bp.post("/amministrazione/procedure/<int:procedure_id>/esiti/<int:objective_id>/elimina")
@editable
@transaction
def delete(procedure: Procedure, objective_id: int):
    objective = service.get_objective(db.session, procedure, objective_id)
    if not ActionForm().validate():
        raise Problem("csrf", _("Il modulo è scaduto: ricarica la pagina e riprova."), 400)
    title = objective.title
    service.delete(db.session, _user(), objective)
    flash(_("Obiettivo «%(t)s» eliminato.", t=title[:80]), "success")
    return redirect(url_for("esiti.admin", procedure_id=procedure.id), 303)


@bp.route("/amministrazione/procedure/<int:procedure_id>/esiti/importa", methods=["GET", "POST"])
@editable
@transaction
def import_file(procedure: Procedure):
    form = ImportForm()
    if request.method == "POST":
        upload = request.files.get("file")
        if not form.validate():
            return _import_page(procedure, form, status=422)
        if upload is None or not upload.filename:
            form.file.errors = [_("Scegliere il file da importare.")]
            return _import_page(procedure, form, status=422)
        data = upload.read(importing.MAX_BYTES + 1)
        try:
            report = importing.import_file(db.session, _user(), procedure, upload.filename, data)
        except importing.ImportRefused as refused:
            return _import_page(procedure, form, refused=refused, status=422)
        flash(report.summary(), "success")
        return redirect(url_for("esiti.admin", procedure_id=procedure.id), 303)
    return _import_page(procedure, form)


def _import_page(procedure: Procedure, form: ImportForm, refused: importing.ImportRefused | None = None,
                 status: int = 200):
    return make_response(render_template("esiti/import.html", form=form, refused=refused,
                                         max_mb=importing.MAX_BYTES // (1024 * 1024), **common(procedure)), status)
