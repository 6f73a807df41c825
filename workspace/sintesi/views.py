"""Pages of the documento di sintesi: the document (preview with its charts, status, introduction
editor with optimistic locking, versions, downloads) and its actions. Thin: the services decide;
a refusal is shown on the page with the Problem's message and status (and nothing is saved)."""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required

from workspace import exports, markdown
from workspace.accounts.models import User
from workspace.db import db
from workspace.i18n import gettext as _
from workspace.minutes.views import preview
from workspace.problems import Problem, not_found
from workspace.procedures.labels import STATUS_LABELS as PROCEDURE_STATUS_LABELS
from workspace.procedures.models import Procedure
from workspace.sintesi import document, labels, permissions, service
from workspace.sintesi.forms import ActionForm, IntroductionForm
from workspace.sintesi.models import DocumentoSintesi
from workspace.web import transaction

bp = Blueprint("sintesi", __name__)


def _user() -> User:
    return current_user._get_current_object()


def procedure_read(view):
    """Login, the procedure (404) and the right to read its documento di sintesi (403)."""

    @wraps(view)
    @login_required
    def wrapper(procedure_id: int, **kwargs: Any):
        procedure = service.get_procedure(db.session, procedure_id)
        documento = service.documento_of(db.session, procedure)
        permissions.require_read(db.session, current_user, procedure, documento)
        return view(procedure=procedure, documento=documento, **kwargs)

    return wrapper


def _here(procedure: Procedure, anchor: str | None = None):
    return redirect(url_for("sintesi.page", procedure_id=procedure.id) + (f"#{anchor}" if anchor else ""), 303)


def _checked(form: ActionForm) -> None:
    if not form.validate_on_submit():
        raise Problem("csrf", _("Il modulo è scaduto: ricarica la pagina e riprova."), 400)


def _existing(documento: DocumentoSintesi | None) -> DocumentoSintesi:
    if documento is None:
        raise not_found(_("Il documento di sintesi di questa procedura non è ancora stato generato."))
    return documento


def _page(procedure: Procedure, documento: DocumentoSintesi | None, status: int = 200, *,
          message: str | None = None, intro_form: IntroductionForm | None = None, newer: str | None = None):
    session = db.session
    manage = permissions.can_manage(current_user, procedure)
    open_ = procedure.status != "conclusa"
    context: dict[str, Any] = {
        "procedure": procedure, "documento": documento, "labels": labels.for_pages(), "when": labels.when,
        "procedure_status": PROCEDURE_STATUS_LABELS, "message": message, "action_form": ActionForm(),
        "md": markdown.render, "newer": newer, "manage": manage,
        "formats": service.DOCUMENT_FORMATS,
        "format_labels": {f: exports.FORMATS[f].label for f in service.DOCUMENT_FORMATS},
        "can_generate": manage and open_ and documento is None and procedure.status == service.READY_STATUS,
    }
    if documento is not None:
        body = service.current_content(documento)
        with document.italian():
            doc = document.build(body, service.footer(documento))
        writable = manage and open_ and not documento.approved
        form = intro_form or IntroductionForm(text=documento.introduction, version=str(documento.version))
        context.update(
            preview=preview(doc), intro_form=form, can_write=writable,
            can_send=writable and documento.status == "bozza",
            can_approve=writable and documento.status == "in_revisione",
            running=service.open_business(session, procedure) if writable else [],
        )
    return make_response(render_template("sintesi/page.html", **context), status)


@bp.get("/procedure/<int:procedure_id>/documento-di-sintesi")
@procedure_read
def page(procedure: Procedure, documento: DocumentoSintesi | None):
    return _page(procedure, documento)


def _refusable(procedure: Procedure, documento: DocumentoSintesi | None, action, done: str,
               anchor: str | None = None, **page: Any):
    try:
        action()
    except Problem as problem:
        if problem.status in (401, 403, 404):
            raise
        return _page(procedure, documento, problem.status, message=problem.message, **page)
    flash(done, "success")
    return _here(procedure, anchor)


@bp.post("/procedure/<int:procedure_id>/documento-di-sintesi/genera")
@procedure_read
@transaction
def generate(procedure: Procedure, documento: DocumentoSintesi | None):
    _checked(ActionForm())
    return _refusable(procedure, documento, lambda: service.create_draft(db.session, _user(), procedure),
                      _("Bozza del documento di sintesi generata dai dati della procedura."))


@bp.post("/procedure/<int:procedure_id>/documento-di-sintesi/ricalcola")
@procedure_read
@transaction
def regenerate(procedure: Procedure, documento: DocumentoSintesi | None):
    _checked(ActionForm())
    found = _existing(documento)
    return _refusable(procedure, found, lambda: service.regenerate(db.session, _user(), found),
                      _("Dati ricalcolati; l'introduzione è rimasta."))


@bp.post("/procedure/<int:procedure_id>/documento-di-sintesi/introduzione")
@procedure_read
@transaction
def introduction(procedure: Procedure, documento: DocumentoSintesi | None):
    found = _existing(documento)
    form = IntroductionForm()
    if not form.validate_on_submit():
        return _page(procedure, found, 400, message=_("Il modulo è scaduto: ricarica la pagina e riprova."),
                     intro_form=form)
    try:
        service.save_introduction(db.session, _user(), found, form.text.data, form.base_version())
    except Problem as problem:
        if problem.status in (401, 403, 404):
            raise
        newer = found.introduction if problem.code == "stale_version" else None
        return _page(procedure, found, problem.status, message=problem.message, intro_form=form, newer=newer)
    flash(_("Introduzione salvata."), "success")
    return _here(procedure, "introduzione")


@bp.post("/procedure/<int:procedure_id>/documento-di-sintesi/revisione")
@procedure_read
@transaction
def send_review(procedure: Procedure, documento: DocumentoSintesi | None):
    _checked(ActionForm())
    found = _existing(documento)
    return _refusable(procedure, found, lambda: service.send_for_review(db.session, _user(), found),
                      _("Documento di sintesi inviato in revisione: i membri dei tavoli possono leggerlo."))


@bp.post("/procedure/<int:procedure_id>/documento-di-sintesi/approva")
@procedure_read
@transaction
def approve(procedure: Procedure, documento: DocumentoSintesi | None):
    _checked(ActionForm())
    found = _existing(documento)
    return _refusable(procedure, found, lambda: service.approve(db.session, _user(), found),
                      _("Documento di sintesi approvato: la procedura è conclusa."))


@bp.get("/procedure/<int:procedure_id>/documento-di-sintesi.<fmt>")
@procedure_read
@transaction
def download(procedure: Procedure, documento: DocumentoSintesi | None, fmt: str):
    found = _existing(documento)
    fmt = exports.check_format(fmt, service.DOCUMENT_FORMATS).name
    data = service.document_bytes(found, fmt)
    service.record_export(db.session, _user(), found, fmt, "web")
    return exports.download_response(data, f"documento-di-sintesi-{procedure.id}", fmt)


@bp.get("/procedure/<int:procedure_id>/documento-di-sintesi/pubblicato.pdf")
def public_pdf(procedure_id: int):
    """The approved documento di sintesi of a published procedure, for everyone (the stored PDF/A)."""
    from workspace.procedures import service as procedures

    procedure = procedures.get_public_procedure(db.session, procedure_id)
    documento = service.documento_of(db.session, procedure)
    if documento is None or not documento.approved or documento.pdf is None:
        raise not_found(_("Il documento di sintesi di questa procedura non è ancora approvato."))
    return exports.download_response(documento.pdf, f"documento-di-sintesi-{procedure.id}", "pdf")
