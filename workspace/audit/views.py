"""The audit trail's page and CSV export, for administrators of the Ufficio di Piano.

Thin: the filters come from the query string (a GET form), the service checks the permission and
reads; the export is written inside ``@transaction`` because it records itself in the trail.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_login import current_user, login_required

from workspace import exports
from workspace.audit import chain, service
from workspace.audit.forms import FilterForm
from workspace.audit.labels import action_label, object_label
from workspace.db import db
from workspace.problems import Problem
from workspace.web import transaction

bp = Blueprint("audit", __name__)


def _form(actor: Any) -> FilterForm:
    actions, types = service.choices(db.session, actor)
    form = FilterForm(request.args)
    form.set_choices([(a, f"{action_label(a)} ({a})" if action_label(a) != a else a) for a in actions],
                     [(t, object_label(t)) for t in types])
    return form


def _filters(form: FilterForm) -> service.Filters:
    return service.Filters(
        date_from=form.dal.data, date_to=form.al.data, actor=(form.chi.data or "").strip() or None,
        action=form.azione.data or None, object_type=form.oggetto.data or None, object_id=form.numero.data,
    )


def _row(entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "utc": chain.utc_text(entry.at),
        "when": format_datetime(entry.at, "dd/MM/yyyy HH:mm:ss"),
        "actor": entry.actor_label or (f"#{entry.actor_id}" if entry.actor_id is not None else None),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "action_label": action_label(entry.action),
        "object": service.object_text(entry),
        "details": service.details_text(entry.details) if entry.details else "",
        "hash": entry.hash,
    }


def _page_number() -> int:
    raw = request.args.get("pagina", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


@bp.get("/amministrazione/audit")
@login_required
def trail() -> ResponseReturnValue:
    actor = current_user._get_current_object()
    form = _form(actor)
    if not form.validate():
        return make_response(render_template("audit/trail.html", form=form, page=None, rows=[], args={}), 422)
    filters = _filters(form)
    try:
        page = service.search(db.session, actor, filters, _page_number())
    except Problem as problem:
        if problem.field == "date_to":  # the dates' order: shown on the form, like the other checks
            form.al.errors = [*form.al.errors, problem.message]
            return make_response(render_template("audit/trail.html", form=form, page=None, rows=[], args={}),
                                 problem.status)
        raise
    args: dict[str, Any] = filters.query_args()
    return render_template("audit/trail.html", form=form, page=page, rows=[_row(e) for e in page.entries],
                           args=args, csv_url=url_for("audit.export", **args))


@bp.get("/amministrazione/audit.csv")
@login_required
@transaction
def export() -> ResponseReturnValue:
    actor = current_user._get_current_object()
    form = _form(actor)
    if not form.validate():
        errors = "; ".join(f"{f.label.text}: {' '.join(f.errors)}" for f in form if f.errors)
        raise Problem("invalid", errors, 422)
    data = service.export_csv(db.session, actor, _filters(form))
    return exports.download_response(data, "registro-audit", "csv")
