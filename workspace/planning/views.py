"""Pages of the Ufficio di Piano's output: a procedure's planning overview (tavoli, cards, exports,
publication), a tavolo's agreed priorities with dispositions, the cards (view with completeness
meter, traceability and versions; the 26-field editor), a bisogno's cards, the downloads, and the
public page of published priorities, dispositions and cards.

Views are thin: they read the form and call the services, under ``@transaction`` when they write.
A form refused by a service is shown again with the Problem's messages (422).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from workspace import exports, signals
from workspace.db import db, utcnow
from workspace.i18n import gettext as _
from workspace.ids import parse_id
from workspace.minutes import labels as minutes_labels
from workspace.minutes import publication as minutes_publication
from workspace.needs import service as needs_service
from workspace.planning import documents, labels, schema, service
from workspace.planning.documents import Scope
from workspace.problems import Problem
from workspace.procedures.models import Procedure
from workspace.reference import service as reference
from workspace.voting.labels import METHOD_SHORT
from workspace.web import transaction

bp = Blueprint("planning", __name__)
MAX_INDICATORS = 60  # rows of one indicator table the editor reads


class ActionForm(FlaskForm):
    """A button or a hand-read form: only the CSRF token is checked here."""


def _user():
    return current_user._get_current_object()


def _common(**extra: Any) -> dict[str, Any]:
    return {"outcomes": labels.OUTCOME_LABELS, "badges": labels.OUTCOME_BADGES, "statuses": labels.STATUS_LABELS,
            "groups": labels.GROUP_LABELS, "changes": labels.CHANGE_LABELS, "methods": METHOD_SHORT,
            "when": minutes_labels.when, "form": ActionForm(), **extra}


def _csrf() -> None:
    if not ActionForm().validate_on_submit():
        raise Problem("csrf", _("La sessione del modulo è scaduta: ricarica la pagina e riprova."), 400)


def _procedure_for_reader(procedure_id: int) -> Procedure:
    procedure = service.get_procedure(db.session, procedure_id)
    service.require_read_procedure(db.session, _user(), procedure)
    return procedure


def _scope() -> Scope:
    tavolo = request.args.get("tavolo", "")
    macroarea = request.args.get("macroarea", "").strip().upper()[:1] or None
    if tavolo and parse_id(tavolo) is None:
        abort(404)
    return Scope(tavolo_id=parse_id(tavolo), macroarea=macroarea)


# --------------------------------------------------------------------------- overview


@bp.get("/procedure/<int:procedure_id>/piano")
@login_required
def procedure_page(procedure_id: int):
    procedure = _procedure_for_reader(procedure_id)
    session = db.session
    readable = service.readable_tavoli(session, _user(), procedure)
    schede = [s for s in service.schede_of(session, procedure.id)
              if readable & ({b.tavolo_id for b in s.bisogni} | {s.tavolo_id})]
    candidates = []
    for tavolo in [t for t in procedure.tavoli if t.id in readable]:
        for bisogno_id, (vote, place) in service.prioritised(session, tavolo.id).items():
            candidates.append((tavolo, needs_service.get_bisogno(session, bisogno_id), vote, place))
    candidates.sort(key=lambda c: (c[0].id, c[3], c[1].id))
    return render_template(
        "planning/procedure.html", procedure=procedure, schede=schede, candidates=candidates,
        tavoli=[t for t in procedure.tavoli if t.id in readable],
        meters={s.id: service.completeness(s) for s in schede}, published=service.publication(session, procedure.id),
        can_manage=service.can_manage(_user(), procedure), macroaree=[m for m in reference.list_macroaree(session)
                                                                       if m.status == "active"],
        priority_formats=documents.PRIORITY_FORMATS, schede_formats=documents.SCHEDE_FORMATS,
        obiettivi_formats=documents.OBIETTIVI_FORMATS, format_labels={k: v.label for k, v in exports.FORMATS.items()},
        **_common())


@bp.post("/procedure/<int:procedure_id>/piano/pubblica")
@login_required
@transaction
def publish(procedure_id: int):
    _csrf()
    procedure = service.get_procedure(db.session, procedure_id)
    service.publish(db.session, _user(), procedure)
    return redirect(url_for("planning.procedure_page", procedure_id=procedure.id), 303)


# --------------------------------------------------------------------------- priorities of a tavolo


@bp.get("/tavoli/<int:tavolo_id>/priorita")
@login_required
def priorities(tavolo_id: int):
    tavolo = service.get_tavolo(db.session, tavolo_id)
    service.require_read_tavolo(db.session, _user(), tavolo)
    return _priorities_page(tavolo)


def _priorities_page(tavolo, status: int = 200, errors: dict | None = None, posted: dict | None = None):
    session = db.session
    data = service.tavolo_priorities(session, tavolo)
    bisogno_ids = {row["bisogno_id"] for r in data["rounds"] for row in r["ranking"]}
    cards = {b: service.schede_for_bisogno(session, b) for b in bisogno_ids}
    return make_response(render_template(
        "planning/priorities.html", tavolo=tavolo, data=data, cards=cards, errors=errors or {}, posted=posted or {},
        can_manage=service.can_manage(_user(), tavolo.procedure), **_common()), status)


@bp.post("/tavoli/<int:tavolo_id>/priorita/<int:bisogno_id>/disposizione")
@login_required
@transaction
def dispose(tavolo_id: int, bisogno_id: int):
    _csrf()
    tavolo = service.get_tavolo(db.session, tavolo_id)
    bisogno = needs_service.get_bisogno(db.session, bisogno_id, tavolo.id)
    try:
        service.record_disposition(db.session, _user(), bisogno.id, request.form.get("outcome"),
                                   request.form.get("reason"))
    except Problem as problem:
        if problem.status != 422:
            raise
        return _priorities_page(tavolo, 422, {bisogno.id: problem.errors or {"": problem.message}},
                                {bisogno.id: dict(request.form)})
    return redirect(url_for("planning.priorities", tavolo_id=tavolo.id) + f"#bisogno-{bisogno.id}", 303)


# --------------------------------------------------------------------------- cards


@bp.post("/procedure/<int:procedure_id>/schede")
@login_required
@transaction
def create(procedure_id: int):
    _csrf()
    procedure = service.get_procedure(db.session, procedure_id)
    # The service checks the permission first, then reads the ids (a refused person gets the 403,
    # not a message about the form).
    scheda = service.create_scheda(db.session, _user(), procedure, request.form.getlist("bisogni"),
                                   request.form.get("macroarea") or None)
    return redirect(url_for("planning.scheda", procedure_id=procedure.id, scheda_id=scheda.id), 303)


@bp.get("/procedure/<int:procedure_id>/schede/<int:scheda_id>")
@login_required
def scheda(procedure_id: int, scheda_id: int):
    procedure = _procedure_for_reader(procedure_id)
    session = db.session
    card = service.get_scheda(session, scheda_id, procedure.id)
    service.require_read_scheda(session, _user(), card)
    names = {m.code: m.name for m in reference.list_macroaree(session)}
    note = documents.co_programming_note(session, card)
    rows = [(f, schema.display(f, (card.values or {}).get(f["id"]), names)) for f in schema.fields()]
    rows = [(f, f"{text} – {note}" if f["id"] == "formally_co_programmed_with_ets" and text == "SI" and note else text)
            for f, text in rows]
    return render_template("planning/scheda.html", procedure=procedure, scheda=card, rows=rows,
                           meter=service.completeness(card), trace=service.trace(session, card), names=names,
                           changed=service.version_changes(card),
                           can_manage=service.can_manage(_user(), procedure), formats=documents.SCHEDE_FORMATS,
                           **_common())


def _values_from_form(form) -> dict[str, Any]:
    """The 26 fields from the editor's inputs (names: ``f-<id>``, ``f-<id>-answer``, ...)."""
    values: dict[str, Any] = {}
    for f in schema.fields():
        fid, kind = f["id"], f["type"]
        key = f"f-{fid}"
        if kind == "text":
            values[fid] = form.get(key, "").splitlines() if f.get("multi") else form.get(key, "")
        elif kind == "money":
            values[fid] = {"public": form.get(f"{key}-public", ""), "private": form.get(f"{key}-private", "")}
        elif kind == "list_of_macroaree":
            answer = form.get(f"{key}-answer") or None
            values[fid] = {"answer": answer, "macroaree": form.getlist(f"{key}-macroaree")} if answer else None
        elif kind == "key_points":
            values[fid] = form.getlist(key)
        elif kind == "yes_no":
            values[fid] = form.get(key) or None
        elif kind in ("yes_no_with_detail", "enum"):
            answer = form.get(f"{key}-answer") or None
            values[fid] = {"answer": answer, "detail": form.get(f"{key}-detail", "")} if answer else None
        elif kind == "indicators":
            rows = []
            for n in range(min(parse_id(form.get(f"{key}-rows", ""), minimum=0) or 0, MAX_INDICATORS)):
                bisogno_id = parse_id(form.get(f"{key}-{n}-bisogno_id", ""))
                rows.append({k: form.get(f"{key}-{n}-{k}", "") for k in schema.INDICATOR_KEYS}
                            | ({"bisogno_id": bisogno_id} if bisogno_id is not None else {}))
            values[fid] = rows
    return values


def _edit_page(procedure, card, values, status: int = 200, errors: dict | None = None, leps=None):
    session = db.session
    macroaree = [m for m in reference.list_macroaree(session) if m.status == "active"]
    points: dict[str, list[str]] = {m.code: [k.text for k in m.key_points] for m in macroaree}
    return make_response(render_template(
        "planning/scheda_form.html", procedure=procedure, scheda=card, values=values, errors=errors or {},
        fields=schema.fields(), macroaree=macroaree, key_points=points, all_leps=reference.list_leps(session),
        chosen_leps=leps if leps is not None else [x.id for x in card.leps], spare=2, euro=_euro_input,
        **_common()), status)


def _euro_input(value: Any) -> str:
    """An amount for the editor's input, as an Italian writes it without thousands separators: 15000,5."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return (str(int(value)) if float(value).is_integer() else repr(float(value))).replace(".", ",")


@bp.get("/procedure/<int:procedure_id>/schede/<int:scheda_id>/modifica")
@login_required
def edit(procedure_id: int, scheda_id: int):
    procedure = service.get_procedure(db.session, procedure_id)
    service.require_manage(_user(), procedure)
    card = service.get_scheda(db.session, scheda_id, procedure.id)
    return _edit_page(procedure, card, card.values or {})


@bp.post("/procedure/<int:procedure_id>/schede/<int:scheda_id>/modifica")
@login_required
@transaction
def save(procedure_id: int, scheda_id: int):
    _csrf()
    procedure = service.get_procedure(db.session, procedure_id)
    service.require_manage(_user(), procedure)
    card = service.get_scheda(db.session, scheda_id, procedure.id)
    values = _values_from_form(request.form)
    leps = request.form.getlist("leps")
    try:
        service.update_scheda(db.session, _user(), card, values=values, macroarea_code=request.form.get("macroarea"),
                              leps=leps)
    except Problem as problem:
        if problem.status != 422:
            raise
        return _edit_page(procedure, card, values, 422, problem.errors or {"": problem.message}, leps)
    return redirect(url_for("planning.scheda", procedure_id=procedure.id, scheda_id=card.id), 303)


@bp.post("/procedure/<int:procedure_id>/schede/<int:scheda_id>/stato")
@login_required
@transaction
def set_status(procedure_id: int, scheda_id: int):
    _csrf()
    procedure = service.get_procedure(db.session, procedure_id)
    card = service.get_scheda(db.session, scheda_id, procedure.id)
    service.set_ready(db.session, _user(), card, request.form.get("status") == "pronta")
    return redirect(url_for("planning.scheda", procedure_id=procedure.id, scheda_id=card.id), 303)


@bp.get("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>/schede")
@login_required
def bisogno_cards(tavolo_id: int, bisogno_id: int):
    tavolo = service.get_tavolo(db.session, tavolo_id)
    service.require_read_tavolo(db.session, _user(), tavolo)
    bisogno = needs_service.get_bisogno(db.session, bisogno_id, tavolo.id)
    return render_template("planning/bisogno.html", tavolo=tavolo, bisogno=bisogno,
                           schede=service.schede_for_bisogno(db.session, bisogno.id),
                           disposition=service.disposition_of(db.session, bisogno.id),
                           found=service.prioritised(db.session, tavolo.id).get(bisogno.id), **_common())


# --------------------------------------------------------------------------- downloads


def _audit_export(procedure: Procedure, what: str, fmt: str, scope: Scope) -> None:
    signals.action_recorded.send(db.session, actor=_user(), action="planning.exported", object_type="procedure",
                                 object_id=procedure.id, details={"what": what, "format": fmt, "scope": scope.label(),
                                                                  "via": "web"})


@bp.get("/procedure/<int:procedure_id>/piano/<what>.<fmt>")
@login_required
@transaction
def download(procedure_id: int, what: str, fmt: str):
    procedure = _procedure_for_reader(procedure_id)
    scope = _scope()
    if scope.tavolo_id is not None and scope.tavolo_id not in {t.id for t in procedure.tavoli}:
        abort(404)
    if not service.can_manage(_user(), procedure) and (
            what == "obiettivi" or scope.tavolo_id not in service.readable_tavoli(db.session, _user(), procedure)):
        raise Problem("forbidden", _("Puoi scaricare le priorità e le schede dei tavoli di cui fai parte, uno per "
                                     "volta; la procedura intera la scarica l'Ufficio di Piano."), 403)
    if what == "priorita":
        data = documents.priorities_bytes(db.session, procedure, fmt, scope)
    elif what == "schede":
        data = documents.schede_bytes(db.session, procedure, fmt, scope)
    elif what == "obiettivi":
        data = documents.obiettivi_bytes(db.session, procedure, fmt)
    else:
        abort(404)
    _audit_export(procedure, what, fmt, scope)
    stem = {"priorita": "priorita", "schede": "schede-obiettivo", "obiettivi": "documento-di-piano-obiettivi"}[what]
    return exports.download_response(data, f"{stem}-procedura-{procedure.id}{scope.stem()}", fmt)


# --------------------------------------------------------------------------- public


@bp.get("/procedure/<int:procedure_id>/priorita")
def public_page(procedure_id: int):
    now = utcnow()
    procedure = minutes_publication.public_procedure(db.session, procedure_id, now)
    published = service.publication(db.session, procedure.id)
    rows = documents.priority_rows(db.session, procedure, public=True) if published else []
    schede = service.schede_of(db.session, procedure.id, ready_only=True) if published else []
    return render_template("planning/public.html", procedure=procedure, published=published, rows=rows,
                           schede=schede, **_common())


@bp.get("/procedure/<int:procedure_id>/priorita/<what>.<fmt>")
def public_download(procedure_id: int, what: str, fmt: str):
    procedure = minutes_publication.public_procedure(db.session, procedure_id, utcnow())
    if not service.is_published(db.session, procedure.id):
        abort(404)
    if what == "priorita":
        sheet = documents.priority_sheet(db.session, procedure, public=True)
        data = exports.render_table(sheet, exports.check_format(fmt, documents.PRIORITY_FORMATS).name)
    elif what == "schede":
        data = documents.schede_bytes(db.session, procedure, fmt, public=True)
    else:
        abort(404)
    return exports.download_response(data, f"{what}-procedura-{procedure.id}", fmt)
