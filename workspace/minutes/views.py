"""Pages of the verbali for the tavolo's people: the tavolo's verbali, a verbale (preview of the
document, narrative sections, review, approval, errata, downloads), a section's editor with
optimistic locking, the history of versions with differences, and the procedure's minutes
settings for the Ufficio di Piano. The public pages are in ``workspace.minutes.public``.

Views are thin: they read the form and call the services, under ``@transaction`` when they write.
A form refused by a service is shown again with the Problem's message and status; any other
Problem reaches the application's handler.
"""
from __future__ import annotations

import re
from functools import wraps
from typing import Any

from flask import Blueprint, Response, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from workspace import exports, markdown
from workspace.accounts.models import User
from workspace.db import db
from workspace.forms import options
from workspace.i18n import gettext as _
from workspace.minutes import content as contents
from workspace.minutes import document, history, labels, permissions, review, service
from workspace.minutes.forms import (
    ActionForm,
    DecisionForm,
    ErrataForm,
    RemarkForm,
    ReviewForm,
    SectionForm,
    SettingsForm,
)
from workspace.minutes.generation import section_keys
from workspace.minutes.models import Verbale
from workspace.problems import Problem, not_found
from workspace.procedures import service as procedures
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Tavolo
from workspace.web import creates, transaction

bp = Blueprint("minutes", __name__)


# --------------------------------------------------------------------------- helpers


def _render(template: str, status: int = 200, **context: Any):
    return make_response(render_template(template, **context), status)


def _user() -> User:
    return current_user._get_current_object()


def tavolo_read(view):
    """Login, the tavolo (404) and the right to read its verbali (403): the view gets ``tavolo``."""

    @wraps(view)
    @login_required
    def wrapper(tavolo_id: int, **kwargs: Any):
        tavolo = tavoli_service.get_tavolo(db.session, tavolo_id)
        permissions.require_read(db.session, current_user, tavolo.id)
        return view(tavolo=tavolo, **kwargs)

    return wrapper


def _verbale(tavolo: Tavolo, verbale_id: int) -> Verbale:
    return service.get_verbale(db.session, verbale_id, tavolo.id)


def preview(doc: exports.Document) -> Markup:
    """The document as an article for a page. The renderer's column widths are style attributes,
    which our CSP (style-src 'self') refuses: the page drops them (tables size themselves)."""
    return Markup(re.sub(r"<colgroup>.*?</colgroup>", "", str(exports.fragment(doc)), flags=re.S))


def _common(tavolo: Tavolo) -> dict[str, Any]:
    return {"tavolo": tavolo, "labels": labels.for_pages(), "when": labels.when, "md": markdown.render}


def _to_verbale(tavolo: Tavolo, verbale: Verbale, anchor: str | None = None):
    return redirect(url_for("minutes.verbale", tavolo_id=tavolo.id, verbale_id=verbale.id)
                    + (f"#{anchor}" if anchor else ""))


# --------------------------------------------------------------------------- the tavolo's verbali


@bp.get("/tavoli/<int:tavolo_id>/verbali")
@tavolo_read
def tavolo_verbali(tavolo: Tavolo):
    by_seduta: dict[int, list[Verbale]] = {}
    for v in service.verbali_of_tavolo(db.session, tavolo.id):
        by_seduta.setdefault(v.seduta_id, []).append(v)
    return render_template(
        "minutes/tavolo.html", sedute=tavolo.sedute, by_seduta=by_seduta,
        can_write=permissions.can_write(db.session, current_user, tavolo.id),
        can_configure=permissions.can_configure(current_user, tavolo.procedure), **_common(tavolo))


@bp.get("/tavoli/<int:tavolo_id>/sedute/<int:seduta_id>/verbale")
@tavolo_read
def seduta_verbale(tavolo: Tavolo, seduta_id: int):
    seduta = tavoli_service.get_seduta(db.session, seduta_id, tavolo.id)
    verbale = service.verbale_of(db.session, seduta.id)
    if verbale is not None:
        return _to_verbale(tavolo, verbale)
    return render_template("minutes/missing.html", seduta=seduta, form=ActionForm(),
                           can_write=permissions.can_write(db.session, current_user, tavolo.id), **_common(tavolo))


@bp.post("/tavoli/<int:tavolo_id>/sedute/<int:seduta_id>/verbale/genera")
@tavolo_read
@transaction
def generate(tavolo: Tavolo, seduta_id: int):
    seduta = tavoli_service.get_seduta(db.session, seduta_id, tavolo.id)
    _checked(ActionForm())
    verbale = service.create_draft(db.session, _user(), seduta)
    flash(_("Bozza del verbale generata dal registro della seduta."), "success")
    return _to_verbale(tavolo, verbale)


def _checked(form: ActionForm) -> None:
    """A button's form (its CSRF token is also checked app-wide before the view runs)."""
    if not form.validate_on_submit():
        raise Problem("csrf", _("Il modulo è scaduto: ricarica la pagina e riprova."), 400)


# --------------------------------------------------------------------------- a verbale


def _verbale_page(tavolo: Tavolo, verbale: Verbale, status: int = 200, **forms: Any):
    session = db.session
    user = current_user
    seduta = service.seduta_of(session, verbale)
    body = service.current_content(verbale)
    footer = document.footer_for(verbale.content_sha256 if verbale.approved else None, verbale.version)
    with document.italian():
        doc = document.build(body, footer)
        titles = contents.section_titles(body) if not verbale.is_errata else {}
    writable = not verbale.approved
    can_write = writable and permissions.can_write(session, user, tavolo.id)
    approver = service.approver_of(session, verbale)
    keys = section_keys(verbale.generated or {}) if not verbale.is_errata else []
    sections = [{"key": k, "title": titles.get(k, k), "text": (verbale.narrative or {}).get(k, ""),
                 "version": service.section_version(session, verbale, k)} for k in keys]
    remark_form = forms.get("remark_form") or RemarkForm()
    remark_form.section.choices = options([("", str(labels.WHOLE_VERBALE))] + [(s["key"], s["title"]) for s in sections])
    review_form = forms.get("review_form") or ReviewForm()
    if review_form.days.data is None:
        review_form.days.data = service.settings_for(session, tavolo.procedure_id).review_days
    decision_forms = {r.id: (forms.get("decision_form") if forms.get("decision_remark") == r.id else None)
                      or DecisionForm(prefix=f"esito-{r.id}") for r in verbale.remarks}
    original = service.get_verbale(session, verbale.corrects_id) if verbale.corrects_id else None
    return _render(
        "minutes/verbale.html", status, verbale=verbale, seduta=seduta, preview=preview(doc), sections=sections,
        can_write=can_write, can_regenerate=can_write and verbale.status == "bozza",
        can_send=can_write and verbale.status == "bozza",
        can_decide=can_write and verbale.status == "in_revisione",
        can_approve=(verbale.status == "in_revisione"
                     and permissions.can_approve(session, user, tavolo, approver)),
        can_errata=(verbale.approved and not verbale.is_errata
                    and permissions.can_approve(session, user, tavolo, approver)),
        can_remark=(not verbale.approved and review.review_open(verbale)
                    and permissions.can_remark(session, user, tavolo.id, verbale.seduta_id)),
        approver=approver, open_remarks=sum(r.status == "aperta" for r in verbale.remarks),
        remark_form=remark_form, review_form=review_form, decision_forms=decision_forms,
        errata_form=forms.get("errata_form") or ErrataForm(), action_form=ActionForm(),
        message=forms.get("message"), errata=service.errata_of(session, verbale) if not verbale.is_errata else [],
        original=original, section_titles=titles, document_formats=service.DOCUMENT_FORMATS,
        register_formats=service.REGISTER_FORMATS, format_labels={f: exports.FORMATS[f].label for f in
                                                                  (*service.DOCUMENT_FORMATS,
                                                                   *service.REGISTER_FORMATS)},
        **_common(tavolo))


@bp.get("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>")
@tavolo_read
def verbale(tavolo: Tavolo, verbale_id: int):
    return _verbale_page(tavolo, _verbale(tavolo, verbale_id))


@bp.get("/verbali/documento.css")
def document_css():
    """The official documents' own stylesheet, for the previews (no inline styles under the CSP)."""
    response = Response(exports.stylesheet(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _refusable(tavolo: Tavolo, verbale: Verbale, action, done: str, anchor: str | None = None, **forms: Any):
    """Run a service call for a button or form of the verbale's page: done (flash, back to the page)
    or refused on the page itself with the Problem's message and status."""
    try:
        action()
    except Problem as problem:
        return _verbale_page(tavolo, verbale, problem.status, message=problem.message, **forms)
    flash(done, "success")
    return _to_verbale(tavolo, verbale, anchor)


@bp.post("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/rigenera")
@tavolo_read
@transaction
def regenerate(tavolo: Tavolo, verbale_id: int):
    verbale = _verbale(tavolo, verbale_id)
    _checked(ActionForm())
    return _refusable(tavolo, verbale, lambda: service.regenerate(db.session, _user(), verbale),
                      _("Parti generate ricalcolate dal registro della seduta; il testo scritto è rimasto."))


@bp.post("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/revisione")
@tavolo_read
@transaction
def send_review(tavolo: Tavolo, verbale_id: int):
    verbale = _verbale(tavolo, verbale_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _verbale_page(tavolo, verbale, 422, review_form=form,
                             message=" ".join(e for f in form for e in f.errors) or None)
    return _refusable(tavolo, verbale, lambda: review.send_for_review(db.session, _user(), verbale, form.days.data),
                      _("Bozza inviata ai partecipanti per le osservazioni."), review_form=form)


@bp.post("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/osservazioni")
@tavolo_read
@transaction
@creates
def remark(tavolo: Tavolo, verbale_id: int):
    verbale = _verbale(tavolo, verbale_id)
    # Who may not remark is refused before the form is read (workspace/policy.py: a refused role
    # gets its refusal, never a validation message).
    permissions.require_remark(db.session, _user(), tavolo.id, verbale.seduta_id)
    form = RemarkForm()
    form.section.choices = options([("", "")] + [(k, k) for k in section_keys(verbale.generated or {})])
    if not form.validate_on_submit():
        return _verbale_page(tavolo, verbale, 422, remark_form=form)
    return _refusable(tavolo, verbale,
                      lambda: review.file_remark(db.session, _user(), verbale, form.section.data, form.text.data),
                      _("Osservazione presentata: il facilitatore la esaminerà."), "osservazioni", remark_form=form)


@bp.post("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/osservazioni/<int:remark_id>/esito")
@tavolo_read
@transaction
def decide(tavolo: Tavolo, verbale_id: int, remark_id: int):
    verbale = _verbale(tavolo, verbale_id)
    target = review.get_remark(db.session, remark_id, verbale)
    form = DecisionForm(prefix=f"esito-{target.id}")
    if not form.validate_on_submit():
        return _verbale_page(tavolo, verbale, 422, decision_form=form, decision_remark=target.id)
    accept = form.decision.data == "accolta"
    return _refusable(
        tavolo, verbale,
        lambda: review.decide_remark(db.session, _user(), verbale, target, accept, form.reason.data),
        _("Osservazione accolta.") if accept else _("Osservazione respinta."), "osservazioni",
        decision_form=form, decision_remark=target.id)


@bp.post("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/approva")
@tavolo_read
@transaction
def approve(tavolo: Tavolo, verbale_id: int):
    verbale = _verbale(tavolo, verbale_id)
    _checked(ActionForm())
    return _refusable(tavolo, verbale, lambda: service.approve(db.session, _user(), verbale),
                      _("Verbale approvato: il contenuto è ora immutabile e ne è stata calcolata l'impronta."))


@bp.post("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/errata")
@tavolo_read
@transaction
def errata(tavolo: Tavolo, verbale_id: int):
    verbale = _verbale(tavolo, verbale_id)
    permissions.require_approve(db.session, _user(), tavolo,
                                service.settings_for(db.session, tavolo.procedure_id).approver)
    form = ErrataForm()
    if not form.validate_on_submit():
        return _verbale_page(tavolo, verbale, 422, errata_form=form)
    issued: list[Verbale] = []
    try:
        issued.append(service.issue_errata(db.session, _user(), verbale, form.corrections.data, form.reason.data))
    except Problem as problem:
        for field, message in problem.errors.items():
            if field in form:
                form[field].errors = [*form[field].errors, message]
        return _verbale_page(tavolo, verbale, problem.status, errata_form=form, message=problem.message)
    flash(_("Errata corrige emessa: il verbale originale resta invariato."), "success")
    return _to_verbale(tavolo, issued[0])


# --------------------------------------------------------------------------- a section


def _section_page(tavolo: Tavolo, verbale: Verbale, key: str, form: SectionForm, status: int = 200,
                  message: str | None = None, newer: dict[str, Any] | None = None):
    body = service.current_content(verbale)
    with document.italian():
        title = contents.section_titles(body).get(key, key)
    return _render("minutes/section.html", status, verbale=verbale, key=key, title=title, form=form,
                   message=message, newer=newer, seduta=service.seduta_of(db.session, verbale), **_common(tavolo))


def _section(verbale: Verbale, key: str) -> None:
    if verbale.is_errata or key not in section_keys(verbale.generated or {}):
        raise not_found(_("Sezione del verbale inesistente."))


@bp.route("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/sezioni/<key>", methods=["GET", "POST"])
@tavolo_read
@transaction
def section(tavolo: Tavolo, verbale_id: int, key: str):
    verbale = _verbale(tavolo, verbale_id)
    _section(verbale, key)
    permissions.require_write(db.session, current_user, tavolo.id)
    service.guard_writable(verbale)
    form = SectionForm()
    if request.method == "GET":
        form.text.data = (verbale.narrative or {}).get(key, "")
        form.version.data = str(service.section_version(db.session, verbale, key))
        return _section_page(tavolo, verbale, key, form)
    if not form.validate_on_submit() or form.base_version() is None:
        return _section_page(tavolo, verbale, key, form, 422,
                             _("Versione del testo mancante o non valida: ricarica la pagina."))
    try:
        service.save_section(db.session, _user(), verbale, key, form.text.data, form.base_version())
    except Problem as problem:
        if problem.code != "stale_version":
            return _section_page(tavolo, verbale, key, form, problem.status, problem.message)
        # Nothing lost: the newer text beside the person's own, and the form now based on it.
        # (The refusal wrote nothing; the service re-read the verbale under its lock.)
        fresh = db.session.get_one(Verbale, verbale.id)
        latest = history.latest_of_section(db.session, fresh, key)
        form.version.data = str(latest.number if latest else 0)
        return _section_page(tavolo, fresh, key, form, 409, problem.message,
                             newer={"text": (fresh.narrative or {}).get(key, ""),
                                    "version": latest.number if latest else 0,
                                    "author": latest.author_name if latest else "",
                                    "at": latest.at if latest else None})
    flash(_("Sezione salvata."), "success")
    return _to_verbale(tavolo, verbale, f"sezione-{key}")


# --------------------------------------------------------------------------- history


@bp.get("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/storia")
@tavolo_read
def history_page(tavolo: Tavolo, verbale_id: int):
    verbale = _verbale(tavolo, verbale_id)
    with document.italian():
        titles = contents.section_titles(verbale.generated or {})
    return render_template("minutes/history.html", verbale=verbale, seduta=service.seduta_of(db.session, verbale),
                           entries=history.entries(verbale, titles), **_common(tavolo))


# --------------------------------------------------------------------------- downloads


def _stem(verbale: Verbale, what: str) -> str:
    seduta = service.seduta_of(db.session, verbale)
    suffix = f"-errata-{verbale.edition - 1}" if verbale.is_errata else ""
    status = "" if verbale.approved else "-bozza"
    return f"{what}-seduta-{seduta.number}-tavolo-{verbale.tavolo_id}{suffix}{status}"


@bp.get("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/documento.<fmt>")
@tavolo_read
@transaction  # the export is recorded in the audit trail
def download(tavolo: Tavolo, verbale_id: int, fmt: str):
    verbale = _verbale(tavolo, verbale_id)
    data = service.document_bytes(verbale, fmt)
    service.record_export(db.session, _user(), verbale, "verbale", fmt, "web")
    return exports.download_response(data, _stem(verbale, "verbale"), fmt)


@bp.get("/tavoli/<int:tavolo_id>/verbali/<int:verbale_id>/registro.<fmt>")
@tavolo_read
@transaction
def register(tavolo: Tavolo, verbale_id: int, fmt: str):
    verbale = _verbale(tavolo, verbale_id)
    if verbale.is_errata:
        raise not_found(_("Un'errata corrige non ha un registro delle presenze."))
    data = service.register_bytes(verbale, fmt)
    service.record_export(db.session, _user(), verbale, "registro", fmt, "web")
    return exports.download_response(data, _stem(verbale, "registro-presenze"), fmt)


# --------------------------------------------------------------------------- settings


@bp.route("/amministrazione/procedure/<int:procedure_id>/verbali", methods=["GET", "POST"])
@login_required
@transaction
def settings(procedure_id: int):
    procedure = procedures.get_procedure(db.session, procedure_id)
    permissions.require_configure(current_user, procedure)
    current = service.settings_for(db.session, procedure.id)
    form = SettingsForm()
    status, message = 200, None
    if request.method == "GET":
        form.fill(current)
    elif form.validate_on_submit():
        try:
            service.update_settings(db.session, _user(), procedure, approver=form.approver.data,
                                    review_days=form.review_days.data, naming=form.naming.data,
                                    publication_years=form.publication_years.data)
        except Problem as problem:
            for field, text in problem.errors.items():
                if field in form:
                    form[field].errors = [*form[field].errors, text]
            status, message = problem.status, (None if problem.errors else problem.message)
        else:
            flash(_("Regole dei verbali salvate."), "success")
            return redirect(url_for("minutes.settings", procedure_id=procedure.id))
    else:
        status = 422
    return _render("minutes/settings.html", status, procedure=procedure, form=form, message=message,
                   labels=labels.for_pages())


# --------------------------------------------------------------------------- the tavolo's page


@bp.app_template_global("verbali_notice")
def verbali_notice(tavolo_id: int) -> dict[str, Any]:
    """For the tavolo's home (one include line): the verbali under review, with their deadline and
    whether the person may still file remarks, and how many are drafts or approved."""
    session = db.session
    if not permissions.can_read(session, current_user, tavolo_id):
        return {"in_review": [], "drafts": 0, "approved": 0, "url": None}
    rows = service.verbali_of_tavolo(session, tavolo_id)
    in_review = []
    for v in rows:
        if v.status != "in_revisione":
            continue
        seduta = service.seduta_of(session, v)
        in_review.append({
            "number": seduta.number, "closes_at": v.review_closes_at, "open": review.review_open(v),
            "url": url_for("minutes.verbale", tavolo_id=tavolo_id, verbale_id=v.id),
            "may_remark": permissions.can_remark(session, current_user, tavolo_id, v.seduta_id),
        })
    return {"in_review": in_review, "drafts": sum(v.status == "bozza" for v in rows),
            "approved": sum(v.status == "approvato" and not v.is_errata for v in rows),
            "url": url_for("minutes.tavolo_verbali", tavolo_id=tavolo_id)}
