"""Server-rendered pages of the bisogni: the asynchronous contributor's view, between sedute and
from a phone, with no JavaScript required.

Views are thin over ``workspace.needs.service``: they check the person may at least see the tavolo,
read the form and call the service; ``@transaction`` commits when they succeed (then redirect)
and rolls back otherwise. A ``Problem`` from a form re-renders the page with the Italian message
and the Problem's status; any other reaches the application's handler (the error page).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workspace.accounts.models import Organisation, User
from workspace.db import db
from workspace.i18n import gettext as _
from workspace.ids import optional_id, parse_id
from workspace.markdown import render
from workspace.needs import digest, service
from workspace.needs.forms import (
    AnnotationForm,
    BisognoForm,
    DigestForm,
    MergeForm,
    ReasonForm,
    StatusForm,
    SupportForm,
)
from workspace.needs.labels import (
    CHANGE_LABELS,
    CONSOLIDATION_LABELS,
    FIELD_LABELS,
    KIND_HEADINGS,
    KIND_LABELS,
    STATUS_BADGES,
    STATUS_LABELS,
)
from workspace.needs.models import ANNOTATION_KINDS, BISOGNO_STATUSES, CONSOLIDATION, Annotation, Bisogno
from workspace.needs.payloads import bisogno_fields
from workspace.problems import Problem, conflict, forbidden, invalid
from workspace.record import TavoloEvent
from workspace.reference.models import KeyPoint, Macroarea
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Tavolo
from workspace.web import creates, transaction

bp = Blueprint("needs", __name__)


@bp.app_template_global()
def bisogno_status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "bg-secondary")


# --------------------------------------------------------------------------- helpers


def _user() -> User:
    return current_user._get_current_object()


def _tavolo(tavolo_id: int, action: str = "view") -> Tavolo:
    """The tavolo, once the person may see it (and do ``action``): 404 / 403 Problems otherwise."""
    tavolo = tavoli_service.get_tavolo(db.session, tavolo_id)
    permissions.require(db.session, _user(), "view", tavolo.id)  # outsiders are told just that
    if action != "view":
        permissions.require(db.session, _user(), action, tavolo.id)
    return tavolo


def _render(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _window(tavolo: Tavolo) -> dict[str, Any]:
    """Whether contributions are accepted now, and the message that says why not."""
    try:
        seduta = tavoli_service.check_contribution_window(db.session, tavolo)
    except Problem as exc:
        return {"open": False, "message": exc.message, "live": None, **_window_dates(tavolo)}
    return {"open": True, "message": None, "live": seduta, **_window_dates(tavolo)}


def _window_dates(tavolo: Tavolo) -> dict[str, str]:
    return {"opens": digest.local_text(tavolo.contribution_opens_at),
            "closes": digest.local_text(tavolo.contribution_closes_at)}


def _common(tavolo: Tavolo) -> dict[str, Any]:
    user = _user()
    return {
        "tavolo": tavolo,
        "can_contribute": permissions.can(db.session, user, "contribute", tavolo.id),
        "can_facilitate": permissions.can(db.session, user, "facilitate", tavolo.id),
        "status_labels": STATUS_LABELS,
        "consolidation_labels": CONSOLIDATION_LABELS,
        "kind_labels": KIND_LABELS,
        "local_text": digest.local_text,
    }


def _int_or_none(value: str | None, message: str) -> int | None:
    return optional_id(value, message)


# --------------------------------------------------------------------------- list


@bp.get("/tavoli/<int:tavolo_id>/bisogni")
@login_required
def bisogni(tavolo_id: int):
    tavolo = _tavolo(tavolo_id)
    rows = list(db.session.scalars(
        select(Bisogno).where(Bisogno.tavolo_id == tavolo.id).order_by(Bisogno.id.desc())
        .options(selectinload(Bisogno.annotations), selectinload(Bisogno.transversal),
                 selectinload(Bisogno.organisation), selectinload(Bisogno.macroarea))
    ))
    area_codes = sorted({m.code for m in tavolo.macroaree} | {b.macroarea_code for b in rows}
                        | {m.code for b in rows for m in b.transversal})
    filters = {
        "macroarea": request.args.get("macroarea", ""),
        "stato": request.args.get("stato", ""),
        "consolidamento": request.args.get("consolidamento", ""),
    }
    # An unknown value is ignored (the list stays complete) rather than refused.
    if filters["macroarea"] not in area_codes:
        filters["macroarea"] = ""
    if filters["stato"] not in BISOGNO_STATUSES:
        filters["stato"] = ""
    if filters["consolidamento"] not in CONSOLIDATION:
        filters["consolidamento"] = ""
    shown = [
        b for b in rows
        if (not filters["macroarea"] or filters["macroarea"] == b.macroarea_code
            or filters["macroarea"] in {m.code for m in b.transversal})
        and (not filters["stato"] or b.status == filters["stato"])
        and (not filters["consolidamento"] or b.consolidation == filters["consolidamento"])
    ]
    counts = {b.id: sum(1 for a in b.annotations if a.deleted_at is None) for b in shown}
    return _render("needs/list.html", bisogni=shown, total=len(rows), counts=counts, filters=filters,
                   area_codes=area_codes, window=_window(tavolo), **_common(tavolo))


# --------------------------------------------------------------------------- create / edit


def _form_context(tavolo: Tavolo) -> dict[str, Any]:
    active = list(db.session.scalars(
        select(Macroarea).where(Macroarea.status == "active").order_by(Macroarea.code)
        .options(selectinload(Macroarea.key_points))
    ))
    comuni = list(db.session.scalars(
        select(Organisation).where(Organisation.kind == "comune",
                                   Organisation.ambito_code == tavolo.procedure.ambito_code)
        .order_by(Organisation.name)
    ))
    return {"tavolo_macroaree": tavolo.macroaree, "active_macroaree": active, "comuni": comuni,
            "window": _window(tavolo)}


def _prepare(form: BisognoForm, tavolo: Tavolo) -> None:
    form.macroarea.choices = [(m.code, f"{m.code} · {m.name}") for m in tavolo.macroaree]


def _service_data(form: BisognoForm) -> dict[str, Any]:
    return form.service_data()


@bp.route("/tavoli/<int:tavolo_id>/bisogni/nuovo", methods=["GET", "POST"])
@login_required
@transaction
@creates
def nuovo(tavolo_id: int):
    tavolo = _tavolo(tavolo_id, "contribute")
    form = BisognoForm()
    _prepare(form, tavolo)
    if request.method == "GET":
        if len(tavolo.macroaree) == 1:
            form.macroarea.data = tavolo.macroaree[0].code
        return _render("needs/form.html", form=form, bisogno=None, **_form_context(tavolo), **_common(tavolo))
    form.validate()  # CSRF is enforced before the view; the rules are the service's
    try:
        bisogno, _ev = service.create_bisogno(db.session, _user(), tavolo, _service_data(form))
    except Problem as exc:
        return _render("needs/form.html", exc.status, form=form, bisogno=None, message=exc.message,
                       **_form_context(tavolo), **_common(tavolo))
    flash(_("Bisogno «%(t)s» proposto al tavolo.", t=bisogno.title), "success")
    return redirect(url_for("needs.bisogno", tavolo_id=tavolo.id, bisogno_id=bisogno.id))


@bp.route("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>/modifica", methods=["GET", "POST"])
@login_required
@transaction
def modifica(tavolo_id: int, bisogno_id: int):
    tavolo = _tavolo(tavolo_id)
    bisogno = service.get_bisogno(db.session, bisogno_id, tavolo.id)
    if not service.may_edit(db.session, _user(), bisogno):
        raise forbidden(_("Può modificare il bisogno solo chi lo ha proposto, la sua organizzazione "
                          "o un facilitatore."))
    form = BisognoForm()
    _prepare(form, tavolo)
    if request.method == "GET":
        if bisogno.status in ("accorpato", "ritirato"):
            raise conflict(_("Un bisogno accorpato o ritirato non si modifica."))
        form.fill_from(bisogno_fields(bisogno), bisogno.version)
        return _render("needs/form.html", form=form, bisogno=bisogno, **_form_context(tavolo), **_common(tavolo))
    form.validate()
    try:
        expected = _int_or_none(form.version.data, _("Versione del bisogno non valida: ricarica la pagina."))
        if expected is None:
            raise invalid(_("Versione del bisogno mancante: ricarica la pagina."))
        service.update_bisogno(db.session, _user(), bisogno, _service_data(form), expected)
    except Problem as exc:
        return _render("needs/form.html", exc.status, form=form, bisogno=bisogno, message=exc.message,
                       stale=exc.status == 409, **_form_context(tavolo), **_common(tavolo))
    flash(_("Modifiche salvate (versione %(v)s).", v=bisogno.version), "success")
    return redirect(url_for("needs.bisogno", tavolo_id=tavolo.id, bisogno_id=bisogno.id))


# --------------------------------------------------------------------------- detail


def _thread(bisogno: Bisogno) -> tuple[list[tuple[str, list[Annotation]]], dict[int, list[Annotation]]]:
    """Top-level annotations grouped by kind (official order) and the replies of each annotation."""
    children: dict[int, list[Annotation]] = {}
    roots: dict[str, list[Annotation]] = {k: [] for k in ANNOTATION_KINDS}
    for a in bisogno.annotations:
        if a.parent_id is None:
            roots.setdefault(a.kind, []).append(a)
        else:
            children.setdefault(a.parent_id, []).append(a)
    return [(k, roots[k]) for k in roots if roots[k]], children


def _render_detail(tavolo: Tavolo, bisogno: Bisogno, status: int = 200, message: str | None = None,
                   annotation_form: AnnotationForm | None = None, reason_for: int | None = None,
                   reason_text: str = ""):
    user = _user()
    common = _common(tavolo)
    sections, children = _thread(bisogno)
    my_org = service.speaking_for(db.session, user, tavolo.id) if common["can_contribute"] else None
    supported = {a.id for a in bisogno.annotations if my_org and any(s.organisation_id == my_org.id
                                                                      for s in a.supports)}
    merged_here = list(db.session.scalars(select(Bisogno).where(Bisogno.merged_into_id == bisogno.id)
                                          .order_by(Bisogno.id)))
    merge_targets = [] if not common["can_facilitate"] else list(db.session.scalars(
        select(Bisogno).where(Bisogno.tavolo_id == tavolo.id, Bisogno.id != bisogno.id,
                              Bisogno.status.in_(("proposto", "in_discussione"))).order_by(Bisogno.id)))
    form = annotation_form or AnnotationForm(formdata=None)
    if annotation_form is None:
        reply_to = request.args.get("risposta", "")
        form.parent_id.data = reply_to if parse_id(reply_to) else ""
        form.kind.data = "esperienza"
    open_for_notes = bisogno.status not in ("accorpato", "ritirato")
    return _render(
        "needs/detail.html", status,
        bisogno=bisogno,
        description_html=render(bisogno.description),
        sections=sections,
        children=children,
        kind_headings=KIND_HEADINGS,
        annotation_form=form,
        reply_choices=[a for a in bisogno.annotations if a.deleted_at is None],
        supported=supported,
        my_org=my_org,
        user_id=user.id,
        may_edit=service.may_edit(db.session, user, bisogno),
        open_for_notes=open_for_notes,
        status_choices=sorted(service.TRANSITIONS.get(bisogno.status, ())),
        merge_targets=merge_targets,
        merged_here=merged_here,
        window=_window(tavolo),
        message=message,
        reason_for=reason_for,
        reason_text=reason_text,
        render=render,
        **common,
    )


@bp.get("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>")
@login_required
def bisogno(tavolo_id: int, bisogno_id: int):
    tavolo = _tavolo(tavolo_id)
    return _render_detail(tavolo, service.get_bisogno(db.session, bisogno_id, tavolo.id))


def _back(tavolo_id: int, bisogno_id: int, anchor: str | None = None):
    return redirect(url_for("needs.bisogno", tavolo_id=tavolo_id, bisogno_id=bisogno_id, _anchor=anchor))


@bp.post("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>/annotazioni")
@login_required
@transaction
@creates
def annota(tavolo_id: int, bisogno_id: int):
    tavolo = _tavolo(tavolo_id)
    bisogno = service.get_bisogno(db.session, bisogno_id, tavolo.id)
    form = AnnotationForm()
    form.validate()
    try:
        parent_id = _int_or_none(form.parent_id.data, _("Annotazione a cui rispondere non valida."))
        annotation, _ev = service.add_annotation(db.session, _user(), bisogno, form.kind.data or "",
                                                 form.body.data or "", parent_id)
    except Problem as exc:
        return _render_detail(tavolo, bisogno, exc.status, exc.message, annotation_form=form)
    flash(_("Annotazione pubblicata."), "success")
    return _back(tavolo.id, bisogno.id, f"annotazione-{annotation.id}")


def _annotation_action(tavolo_id: int, annotation_id: int, action):
    tavolo = _tavolo(tavolo_id)
    annotation = service.get_annotation(db.session, annotation_id, tavolo.id)
    bisogno = annotation.bisogno
    try:
        flash_message = action(annotation)
    except Problem as exc:
        return _render_detail(tavolo, bisogno, exc.status, exc.message, reason_for=annotation.id,
                              reason_text=request.form.get("reason", ""))
    flash(flash_message, "success")
    return _back(tavolo.id, bisogno.id, f"annotazione-{annotation.id}")


@bp.post("/tavoli/<int:tavolo_id>/annotazioni/<int:annotation_id>/sostegno")
@login_required
@transaction
def sostieni(tavolo_id: int, annotation_id: int):
    form = SupportForm()
    form.validate()

    def act(annotation):
        support = form.support.data == "1"
        service.toggle_support(db.session, _user(), annotation, support)
        return _("Sostegno registrato.") if support else _("Sostegno ritirato.")

    return _annotation_action(tavolo_id, annotation_id, act)


@bp.post("/tavoli/<int:tavolo_id>/annotazioni/<int:annotation_id>/elimina")
@login_required
@transaction
def elimina(tavolo_id: int, annotation_id: int):
    form = ReasonForm()
    form.validate()

    def act(annotation):
        own = annotation.author_id == _user().id
        service.delete_annotation(db.session, _user(), annotation, form.reason.data or "")
        return _("Annotazione eliminata.") if own else _("Annotazione moderata.")

    return _annotation_action(tavolo_id, annotation_id, act)


@bp.post("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>/stato")
@login_required
@transaction
def stato(tavolo_id: int, bisogno_id: int):
    tavolo = _tavolo(tavolo_id)
    bisogno = service.get_bisogno(db.session, bisogno_id, tavolo.id)
    form = StatusForm()
    form.validate()
    try:
        service.set_status(db.session, _user(), bisogno, form.status.data or "")
    except Problem as exc:
        return _render_detail(tavolo, bisogno, exc.status, exc.message)
    if bisogno.status == "ritirato":
        flash(_("Bisogno ritirato."), "success")
    else:
        flash(_("Stato aggiornato: %(s)s.", s=STATUS_LABELS[bisogno.status]), "success")
    return _back(tavolo.id, bisogno.id)


@bp.post("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>/accorpa")
@login_required
@transaction
def accorpa(tavolo_id: int, bisogno_id: int):
    tavolo = _tavolo(tavolo_id)
    bisogno = service.get_bisogno(db.session, bisogno_id, tavolo.id)
    form = MergeForm()
    form.validate()
    try:
        into_id = _int_or_none(form.into.data, _("Scegliere il bisogno in cui accorpare."))
        if into_id is None:
            raise invalid(_("Scegliere il bisogno in cui accorpare."))
        into = service.get_bisogno(db.session, into_id, tavolo.id)
        service.merge_bisogno(db.session, _user(), bisogno, into)
    except Problem as exc:
        return _render_detail(tavolo, bisogno, exc.status, exc.message)
    flash(_("Bisogno accorpato in «%(t)s».", t=into.title), "success")
    return _back(tavolo.id, into.id)


# --------------------------------------------------------------------------- history


def _history_values(bisogno: Bisogno) -> dict[str, dict]:
    ids_kp: set[int] = set()
    ids_org: set[int] = set()
    for v in bisogno.versions:
        ids_kp.update(v.data.get("key_points") or [])
        ids_org.update(v.data.get("comuni") or [])
    return {
        "key_points": {k.id: k for k in db.session.scalars(select(KeyPoint).where(KeyPoint.id.in_(ids_kp)))},
        "comuni": dict(db.session.execute(select(Organisation.id, Organisation.name)
                                          .where(Organisation.id.in_(ids_org))).all()),
        "macroaree": dict(db.session.execute(select(Macroarea.code, Macroarea.name)).all()),
    }


def _show(key: str, value: Any, lookups: dict[str, dict]) -> Any:
    """A snapshot value as a person reads it; None when empty."""
    if value in (None, "", []):
        return None if key != "whole_ambito" else _("No")
    if key == "macroarea":
        return f"{value} · {lookups['macroaree'].get(value, '')}"
    if key == "transversal":
        return "; ".join(f"{c} · {lookups['macroaree'].get(c, '')}" for c in value)
    if key == "key_points":
        kps = lookups["key_points"]
        return "; ".join(f"{kps[k].macroarea_code} · {kps[k].text}" if k in kps else f"#{k}" for k in value)
    if key == "comuni":
        return ", ".join(lookups["comuni"].get(c, f"#{c}") for c in value)
    if key == "whole_ambito":
        return _("Sì") if value else _("No")
    if key == "consolidation":
        return str(CONSOLIDATION_LABELS.get(value, value))
    if key == "status":
        return str(STATUS_LABELS.get(value, value))
    if key == "description":
        return render(value)
    return str(value)


@bp.get("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>/storia")
@login_required
def storia(tavolo_id: int, bisogno_id: int):
    tavolo = _tavolo(tavolo_id)
    bisogno = service.get_bisogno(db.session, bisogno_id, tavolo.id)
    lookups = _history_values(bisogno)
    entries: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for v in bisogno.versions:
        changes = []
        for key, label in FIELD_LABELS.items():
            new = v.data.get(key)
            if previous is None:
                if new in (None, "", [], False) or key == "status":
                    continue
                changes.append({"label": label, "old": None, "new": _show(key, new, lookups)})
            elif previous.get(key) != new:
                changes.append({"label": label, "old": _show(key, previous.get(key), lookups),
                                "new": _show(key, new, lookups)})
        entries.append({"type": "version", "at": v.at, "version": v.version, "change": v.change,
                        "who": v.author.name if v.author else None, "changes": changes})
        previous = v.data
    deletions = db.session.scalars(select(TavoloEvent).where(TavoloEvent.tavolo_id == tavolo.id,
                                                             TavoloEvent.kind == "annotation.deleted")
                                   .order_by(TavoloEvent.seq))
    actors: dict[int, User | None] = {}
    for ev in deletions:
        payload = ev.payload or {}
        if payload.get("bisogno_id") != bisogno.id:
            continue
        if ev.actor_id and ev.actor_id not in actors:
            actors[ev.actor_id] = db.session.get(User, ev.actor_id)
        actor = actors.get(ev.actor_id) if ev.actor_id else None
        entries.append({"type": "deletion", "at": ev.at, "who": actor.name if actor else None,
                        "annotation_id": payload.get("id"), "author": payload.get("author"),
                        "organisation": payload.get("organisation"), "moderated": payload.get("moderated"),
                        "reason": digest.moderation_reason(payload) or None})
    entries.sort(key=lambda e: e["at"])
    return _render("needs/history.html", bisogno=bisogno, entries=entries, change_labels=CHANGE_LABELS,
                   **_common(tavolo))


# --------------------------------------------------------------------------- novità and digest


@bp.get("/tavoli/<int:tavolo_id>/novita")
@login_required
@transaction  # remembers the visit (the person's bookmark, see digest.visit_novita)
def novita(tavolo_id: int):
    tavolo = _tavolo(tavolo_id)
    role = permissions.tavolo_role(db.session, _user(), tavolo.id)
    first_visit = role is None or role.last_visit_at is None
    lines, since, role = digest.visit_novita(db.session, _user(), tavolo)
    days = [(day, [(line, url_for("needs.bisogno", tavolo_id=tavolo.id, bisogno_id=line.bisogno_id)
                    if line.bisogno_id else None) for line in group])
            for day, group in digest.by_day(lines)]
    return _render("needs/novita.html", days=days, since=since, first_visit=first_visit, role=role,
                   count=len(lines), first_window_days=digest.FIRST_VISIT_WINDOW // timedelta(days=1),
                   **_common(tavolo))


@bp.post("/tavoli/<int:tavolo_id>/digest")
@login_required
@transaction
def digest_toggle(tavolo_id: int):
    tavolo = _tavolo(tavolo_id)
    form = DigestForm()
    form.validate()
    role = digest.set_digest(db.session, _user(), tavolo, form.digest.data == "1")
    if role.digest:
        flash(_("Riceverai ogni giorno un'e-mail con le novità del tavolo, se ce ne sono."), "success")
    else:
        flash(_("Non riceverai più il riepilogo giornaliero di questo tavolo."), "success")
    return redirect(url_for("needs.novita", tavolo_id=tavolo.id))
