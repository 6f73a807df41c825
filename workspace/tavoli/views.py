"""Pages of the tavoli: my tavoli, a tavolo's home, the live pages (participant, facilitator's
console, big screen), the attendance register, and the Ufficio di Piano's administration.

Views are thin: they check permission with ``permissions`` (the same predicates the live channel
uses), call ``service`` and commit on success; a ``Problem`` rolls back and becomes a page with
its status and Italian message. The live pages are shells: ``static/js/live.js`` fills them from
the tavolo's snapshot and keeps them current through the numbered events (docs/live-protocol.md).
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from workspace.accounts.models import Organisation, User
from workspace.accounts.permissions import admin_required
from workspace.db import db, utcnow
from workspace.errors import error_response
from workspace.forms import options, to_utc
from workspace.problems import Problem, not_found
from workspace.procedures.models import Procedure
from workspace.reference.models import Macroarea
from workspace.tavoli import permissions, service
from workspace.tavoli.forms import (
    ANNOTATION_KIND_LABELS,
    BISOGNO_STATUS_LABELS,
    CONSOLIDATION_LABELS,
    PRESENCE_MODE_LABELS,
    ROLE_SHORT_LABELS,
    SEDUTA_MODE_LABELS,
    SEDUTA_STATUS_LABELS,
    MemberForm,
    RoleForm,
    SedutaForm,
    TavoloForm,
)
from workspace.tavoli.models import Seduta, Tavolo, TavoloRole

bp = Blueprint("tavoli", __name__, url_prefix="/tavoli")


# --------------------------------------------------------------------------- helpers


def _refuse(problem: Problem):
    db.session.rollback()
    return error_response(problem.status, problem.message)


def tavolo_view(action: str):
    """Login, the tavolo (404 if unknown) and ``action`` permission (403 with its message); the view
    gets ``tavolo`` and the person's ``role``. A Problem raised inside the view becomes its page."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(tavolo_id: int, **kwargs):
            try:
                tavolo = service.get_tavolo(db.session, tavolo_id)
                role = permissions.require(db.session, current_user, action, tavolo.id)
                return view(tavolo=tavolo, role=role, **kwargs)
            except Problem as problem:
                return _refuse(problem)

        return wrapper

    return decorate


def _render(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _labels() -> dict:
    return {
        "roles": ROLE_SHORT_LABELS,
        "seduta_modes": SEDUTA_MODE_LABELS,
        "seduta_statuses": SEDUTA_STATUS_LABELS,
        "presence_modes": PRESENCE_MODE_LABELS,
    }


def window_state(tavolo: Tavolo) -> str:
    """"none" (only during sedute), "before", "open" or "after"."""
    opens, closes = tavolo.contribution_opens_at, tavolo.contribution_closes_at
    if opens is None or closes is None:
        return "none"
    now = utcnow()
    if now < opens:
        return "before"
    if now > closes:
        return "after"
    return "open"


def _live_messages() -> dict[str, object]:
    """Every string the live pages' JavaScript shows, translated here (no text lives in the JS)."""
    return {
        "connected": _("Connesso"),
        "connecting": _("Connessione in corso…"),
        "reconnecting": _("Riconnessione in corso…"),
        "offline": _("Non in linea: i contributi saranno inviati appena possibile"),
        "refused": _("Connessione rifiutata: ricarica la pagina o accedi di nuovo."),
        "pending_one": _("1 contributo in attesa di invio"),
        "pending_many": _("%(n)s contributi in attesa di invio"),
        "sent": _("Inviato."),
        "queued": _("Salvato sul dispositivo: sarà inviato appena possibile."),
        "title_required": _("Il titolo è obbligatorio."),
        "text_required": _("Il testo è obbligatorio."),
        "minutes_invalid": _("Indicare i minuti del timer, da 1 a 240."),
        "error_prefix": _("Non registrato:"),
        "restored": _("Il testo non inviato è stato ripristinato nel modulo."),
        "new_bisogno": _("Nuovo bisogno: %(title)s"),
        "new_bisogno_org": _("Nuovo bisogno: %(title)s (%(org)s)"),
        "updated_bisogno": _("Bisogno modificato: %(title)s"),
        "new_annotation": _("Nuova annotazione su «%(title)s»: %(kind)s (%(org)s)"),
        "agenda_now": _("Ordine del giorno: %(title)s"),
        "spotlight_now": _("In evidenza: %(title)s"),
        "spotlight_none": _("Nessun bisogno in evidenza."),
        "seduta_started": _("La seduta è iniziata."),
        "seduta_closed": _("La seduta è chiusa."),
        "timer_started": _("Timer avviato: %(minutes)s minuti."),
        "timer_stopped": _("Timer fermato."),
        "timer_over": _("Tempo scaduto"),
        "annotations": _("Annotazioni"),
        "no_annotations": _("Ancora nessuna annotazione."),
        "no_bisogni": _("Ancora nessun bisogno: il primo può essere il tuo."),
        "no_bisogni_console": _("Ancora nessun bisogno."),
        "reply_to": _("In risposta a"),
        "reply_none": _("Nessuna (nuova annotazione)"),
        "reply_label": _("in risposta a %(who)s"),
        "kind": _("Tipo"),
        "text": _("Testo"),
        "add_annotation": _("Aggiungi un'annotazione"),
        "send_annotation": _("Invia l'annotazione"),
        "support": _("Sostieni"),
        "supported": _("Sostenuta"),
        "support_label": _("Sostieni l'annotazione di %(who)s"),
        "supported_by": _("Sostenuta da: %(orgs)s"),
        "deleted": _("Annotazione eliminata dall'autore."),
        "moderated": _("Annotazione rimossa dal facilitatore: %(reason)s"),
        "spotlight": _("Metti sul grande schermo"),
        "spotlight_on": _("Sul grande schermo"),
        "spotlight_label": _("Metti sul grande schermo: %(title)s"),
        "merged_into": _("Accorpato in «%(title)s»"),
        "evidence": _("Dato: %(figure)s"),
        "evidence_source": _("Fonte: %(source)s"),
        "evidence_year": _("Anno: %(year)s"),
        "target": _("Popolazione destinataria: %(target)s"),
        "key_points": _("Punti chiave"),
        "by_org": _("proposto da %(who)s"),
        "annotation_count_one": _("1 annotazione"),
        "annotation_count_many": _("%(n)s annotazioni"),
        "present_since": _("Presente dalle %(time)s"),
        "absent": _("Assente"),
        "left_at": _("Uscito alle %(time)s"),
        "source_auto": _("registrata automaticamente"),
        "source_manual": _("segnata dal facilitatore"),
        "quorum_reached": _("Quorum raggiunto"),
        "quorum_missing": _("Quorum non raggiunto"),
        "quorum_detail": _("%(present)s organizzazioni su %(total)s presenti (soglia %(threshold)s%%)"),
        "people_present": _("%(n)s persone presenti"),
        "quorum_none": _("La seduta non è in corso."),
        "no_seduta": _("Nessuna seduta in corso."),
        "seduta_live": _("Seduta n. %(n)s in corso"),
        "no_agenda_item": _("Nessun punto in discussione."),
        "current_item": _("In discussione"),
        "ask_close": _("Chiudere la seduta? Le presenze aperte saranno chiuse ora."),
        "status": _plain(SEDUTA_STATUS_LABELS),
        "kinds": _plain(ANNOTATION_KIND_LABELS),
        "consolidation": _plain(CONSOLIDATION_LABELS),
        "bisogno_status": _plain(BISOGNO_STATUS_LABELS),
        "presence_modes": _plain(PRESENCE_MODE_LABELS),
        "roles": _plain(ROLE_SHORT_LABELS),
    }


def _plain(labels: dict) -> dict[str, str]:
    """Lazy labels as plain strings in the current language (for JSON)."""
    return {k: str(v) for k, v in labels.items()}


def _live_context(tavolo: Tavolo, role: str) -> dict:
    tr = permissions.tavolo_role(db.session, current_user, tavolo.id)
    speaking_for = tr.organisation if tr and tr.organisation else (
        current_user.organisations[0] if current_user.organisations else None)
    return {
        "tavolo": tavolo,
        "role": role,
        "live": service.live_seduta(db.session, tavolo.id),
        "can_contribute": permissions.can(db.session, current_user, "contribute", tavolo.id),
        "can_facilitate": permissions.can(db.session, current_user, "facilitate", tavolo.id),
        "speaking_for": speaking_for,
        "live_messages": _live_messages(),
        "server_now": utcnow().isoformat(),
        "window": window_state(tavolo),
        "labels": _labels(),
    }


# --------------------------------------------------------------------------- my tavoli, home


@bp.get("")
@login_required
def index():
    rows = [
        {"tavolo": t, "role": role, "live": service.live_seduta(db.session, t.id)}
        for t, role in service.tavoli_for(db.session, current_user)
    ]
    return render_template("tavoli/index.html", rows=rows, labels=_labels())


@bp.get("/<int:tavolo_id>")
@tavolo_view("view")
def home(tavolo: Tavolo, role: str):
    return render_template(
        "tavoli/home.html",
        tavolo=tavolo,
        role=role,
        live=service.live_seduta(db.session, tavolo.id),
        can_facilitate=permissions.can(db.session, current_user, "facilitate", tavolo.id),
        window=window_state(tavolo),
        labels=_labels(),
        bisogni_endpoint="needs.bisogni" in current_app.view_functions,
    )


# --------------------------------------------------------------------------- live pages


@bp.get("/<int:tavolo_id>/partecipa")
@tavolo_view("view")
def participant(tavolo: Tavolo, role: str):
    return render_template("tavoli/participant.html", **_live_context(tavolo, role))


@bp.get("/<int:tavolo_id>/schermo")
@tavolo_view("view")
def bigscreen(tavolo: Tavolo, role: str):
    return render_template("tavoli/bigscreen.html", **_live_context(tavolo, role))


def _seduta_of(tavolo: Tavolo, seduta_id: int) -> Seduta:
    return service.get_seduta(db.session, seduta_id, tavolo.id)


@bp.get("/<int:tavolo_id>/sedute/<int:seduta_id>/console")
@tavolo_view("facilitate")
def console(tavolo: Tavolo, role: str, seduta_id: int):
    seduta = _seduta_of(tavolo, seduta_id)
    people = db.session.scalars(
        select(TavoloRole).join(User, User.id == TavoloRole.user_id)
        .where(TavoloRole.tavolo_id == tavolo.id).order_by(User.name)
    ).all()
    return render_template("tavoli/console.html", seduta=seduta, people=people, **_live_context(tavolo, role))


@bp.get("/<int:tavolo_id>/sedute/<int:seduta_id>/presenze")
@tavolo_view("view")
def presences(tavolo: Tavolo, role: str, seduta_id: int):
    seduta = _seduta_of(tavolo, seduta_id)
    return render_template(
        "tavoli/presences.html",
        tavolo=tavolo,
        seduta=seduta,
        register=service.register(db.session, seduta),
        quorum=service.quorum(db.session, seduta) if seduta.status == "in_corso" else None,
        can_facilitate=permissions.can(db.session, current_user, "facilitate", tavolo.id),
        labels=_labels(),
    )


# --------------------------------------------------------------------------- administration


@bp.route("/amministrazione/procedure/<int:procedure_id>/nuovo-tavolo", methods=["GET", "POST"])
@admin_required
def new_tavolo(procedure_id: int):
    procedure = db.session.get(Procedure, procedure_id)
    if procedure is None:
        return _refuse(not_found(_("Procedura inesistente.")))
    form = TavoloForm()
    active = db.session.scalars(select(Macroarea).where(Macroarea.status == "active")
                                .order_by(Macroarea.code)).all()
    form.macroaree.choices = options((m.code, f"{m.code} – {m.name}") for m in active)
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                tavolo = service.create_tavolo(
                    db.session, procedure, form.title.data, list(form.macroaree.data),
                    description=(form.description.data or "").strip(),
                    opens_at=to_utc(form.opens_at.data), closes_at=to_utc(form.closes_at.data),
                    quorum_percent=form.quorum_percent.data)
            except Problem as problem:
                db.session.rollback()
                form.title.errors = [*form.title.errors, problem.message]
                status = problem.status
            else:
                db.session.commit()
                flash(_("Tavolo «%(t)s» istituito: aggiungi le organizzazioni membro e i loro delegati.",
                        t=tavolo.title), "success")
                return redirect(url_for("tavoli.members", tavolo_id=tavolo.id))
        else:
            status = 422
    return _render("tavoli/new_tavolo.html", status, form=form, procedure=procedure)


def _member_forms(member_form: MemberForm | None = None, role_form: RoleForm | None = None):
    member_form = member_form or MemberForm(prefix="membro")
    role_form = role_form or RoleForm(prefix="ruolo")
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    member_form.organisation_id.choices = options((o.id, o.name) for o in orgs)
    role_form.organisation_id.choices = options([(0, _("— nessuna —"))] + [(o.id, o.name) for o in orgs])
    role_form.user_id.choices = options((u.id, f"{u.name} <{u.email}>") for u in users)
    return member_form, role_form


def _members_page(tavolo: Tavolo, member_form=None, role_form=None, status: int = 200):
    member_form, role_form = _member_forms(member_form, role_form)
    roles = db.session.scalars(
        select(TavoloRole).join(User, User.id == TavoloRole.user_id)
        .where(TavoloRole.tavolo_id == tavolo.id).order_by(User.name)
    ).all()
    return _render("tavoli/members.html", status, tavolo=tavolo, member_form=member_form,
                   role_form=role_form, roles=roles, labels=_labels())


def admin_tavolo_view(view):
    """Administrators only, on an existing tavolo."""

    @wraps(view)
    @admin_required
    def wrapper(tavolo_id: int, **kwargs):
        try:
            return view(tavolo=service.get_tavolo(db.session, tavolo_id), **kwargs)
        except Problem as problem:
            return _refuse(problem)

    return wrapper


@bp.get("/<int:tavolo_id>/membri")
@admin_tavolo_view
def members(tavolo: Tavolo):
    return _members_page(tavolo)


@bp.post("/<int:tavolo_id>/membri/organizzazioni")
@admin_tavolo_view
def add_member(tavolo: Tavolo):
    member_form, _role_form = _member_forms()
    if not member_form.validate():
        return _members_page(tavolo, member_form=member_form, status=422)
    org = db.session.get(Organisation, member_form.organisation_id.data)
    service.add_member(db.session, tavolo, org)
    db.session.commit()
    flash(_("%(o)s è membro del tavolo.", o=org.name), "success")
    return redirect(url_for("tavoli.members", tavolo_id=tavolo.id))


@bp.post("/<int:tavolo_id>/membri/ruoli")
@admin_tavolo_view
def set_role(tavolo: Tavolo):
    _member_form, role_form = _member_forms()
    if not role_form.validate():
        return _members_page(tavolo, role_form=role_form, status=422)
    user = db.session.get(User, role_form.user_id.data)
    org = db.session.get(Organisation, role_form.organisation_id.data) if role_form.organisation_id.data else None
    try:
        service.set_role(db.session, tavolo, user, role_form.role.data, org)
    except Problem as problem:
        db.session.rollback()
        role_form.role.errors = [*role_form.role.errors, problem.message]
        return _members_page(tavolo, role_form=role_form, status=problem.status)
    db.session.commit()
    flash(_("%(u)s: ruolo «%(r)s» assegnato.", u=user.name, r=ROLE_SHORT_LABELS[role_form.role.data]), "success")
    return redirect(url_for("tavoli.members", tavolo_id=tavolo.id))


@bp.route("/<int:tavolo_id>/sedute/nuova", methods=["GET", "POST"])
@tavolo_view("facilitate")  # facilitators convene their own sedute (administrators act as facilitators)
def new_seduta(tavolo: Tavolo, role: str):
    form = SedutaForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                seduta = service.create_seduta(
                    db.session, current_user._get_current_object(), tavolo, to_utc(form.starts_at.data),
                    place=form.place.data or "", mode=form.mode.data, agenda=form.agenda_items())
            except Problem as problem:
                db.session.rollback()
                form.starts_at.errors = [*form.starts_at.errors, problem.message]
                status = problem.status
            else:
                db.session.commit()
                flash(_("Seduta n. %(n)s convocata.", n=seduta.number), "success")
                return redirect(url_for("tavoli.home", tavolo_id=tavolo.id))
        else:
            status = 422
    return _render("tavoli/new_seduta.html", status, form=form, tavolo=tavolo)
