"""Pages of the tavoli: my tavoli, a tavolo's home, the live pages (participant, facilitator's
console, big screen), the attendance register, and the Ufficio di Piano's administration.

Views are thin: they check permission with ``permissions`` (the same predicates the live channel
uses) and call the services; ``@transaction`` commits when they succeed and rolls back otherwise.
A ``Problem`` outside a form reaches the application's handler (a page with its status and
Italian message); a form re-rendered with a Problem's message answers with its status. The live
pages are shells: ``static/js/live.js`` fills them from the tavolo's snapshot and keeps them
current through the numbered events (docs/live-protocol.md).
"""
from __future__ import annotations

from functools import wraps

import segno
from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from workspace import signals
from workspace.accounts.models import Organisation, User
from workspace.accounts.service import first_organisation
from workspace.db import db, utcnow
from workspace.forms import options, to_utc
from workspace.i18n import gettext as _
from workspace.i18n import per_locale
from workspace.problems import Problem, not_found
from workspace.reference.models import Macroarea
from workspace.tavoli import labels, membership, permissions, service
from workspace.tavoli.forms import (
    MemberForm,
    RoleForm,
    SedutaForm,
    TavoloForm,
)
from workspace.tavoli.labels import ROLE_SHORT_LABELS, plain
from workspace.tavoli.models import Seduta, Tavolo, TavoloRole
from workspace.web import creates, transaction

bp = Blueprint("tavoli", __name__, url_prefix="/tavoli")


# --------------------------------------------------------------------------- helpers


def tavolo_view(action: str):
    """Login, the tavolo (404 if unknown) and ``action`` permission (403 with its message); the view
    gets ``tavolo`` and the person's ``role``. A Problem raised inside the view reaches the
    application's handler: its page, status and Italian message."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(tavolo_id: int, **kwargs):
            tavolo, role, g.tavolo_role_row = permissions.require_tavolo(db.session, current_user, action, tavolo_id)
            return view(tavolo=tavolo, role=role, **kwargs)

        return wrapper

    return decorate


def _render(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _user() -> User:
    return current_user._get_current_object()


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


def live_messages() -> dict[str, object]:
    """Every string the live pages' JavaScript shows, translated here (no text lives in the JS),
    with the labels of every area's objects (``signals.live_labels``). Built once per language."""
    return per_locale("tavoli.live_messages", _live_messages)


def _live_messages() -> dict[str, object]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return signals.collect(signals.live_labels, app) | {
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
        "my_role_set": _("Il tuo ruolo a questo tavolo è cambiato: ora sei «%(role)s». Ricarica la pagina per "
                         "aggiornare ciò che puoi fare."),
        "my_role_removed": _("Non fai più parte di questo tavolo: la pagina sarà ricaricata."),
        "reload": _("Ricarica la pagina"),
        "vote_now": _("Votazione aperta — vota ora"),
        "vote_follow": _("Votazione aperta: segui l'affluenza"),
        "vote_opened_alert": _("Votazione aperta: %(title)s. Il collegamento per votare è in cima alla pagina."),
        "quorum_short": _("%(present)s su %(total)s organizzazioni"),
        "fullscreen_refused": _("Il browser non ha concesso lo schermo intero: la vista resta nella finestra "
                                "(si può provare con il tasto F11)."),
        "wall_empty": _("Ancora nessun contributo: i nuovi bisogni e le annotazioni compariranno qui."),
        "wall_bisogno": _("Nuovo bisogno"),
        "role_set": _("%(name)s partecipa al tavolo come «%(role)s»."),
        "role_removed": _("%(name)s non fa più parte del tavolo."),
        "member_added": _("%(org)s è ora membro del tavolo."),
        "member_removed": _("%(org)s non è più membro del tavolo."),
        "status": plain(labels.SEDUTA_STATUS_LABELS),
        "presence_modes": plain(labels.PRESENCE_MODE_LABELS),
        "presence_sources": plain(labels.PRESENCE_SOURCE_LABELS),
        "roles": plain(ROLE_SHORT_LABELS),
    }


def _live_context(tavolo: Tavolo, role: str) -> dict:
    tr = g.tavolo_role_row  # read by tavolo_view (with the organisation) when it checked the role
    speaking_for = tr.organisation if tr and tr.organisation else first_organisation(db.session, current_user)
    return {
        "tavolo": tavolo,
        "role": role,
        "live": service.live_seduta(db.session, tavolo.id),
        # ``role`` is the one tavolo_view checked (permissions.role_name): no second look-up per action.
        "can_contribute": role in permissions.RULES["contribute"],
        "can_facilitate": role in permissions.RULES["facilitate"],
        "speaking_for": speaking_for,
        "live_messages": live_messages(),
        "server_now": utcnow().isoformat(),
        "window": window_state(tavolo),
        "labels": labels.for_pages(),
    }


# --------------------------------------------------------------------------- my tavoli, home


@bp.get("")
@login_required
def index():
    rows = [
        {"tavolo": t, "role": role, "live": service.live_seduta(db.session, t.id)}
        for t, role in service.tavoli_for(db.session, current_user)
    ]
    return render_template("tavoli/index.html", rows=rows, labels=labels.for_pages())


@bp.get("/<int:tavolo_id>")
@tavolo_view("view")
def home(tavolo: Tavolo, role: str):
    return render_template(
        "tavoli/home.html",
        tavolo=tavolo,
        role=role,
        live=service.live_seduta(db.session, tavolo.id),
        can_facilitate=permissions.can(db.session, current_user, "facilitate", tavolo.id),
        can_manage=permissions.may_manage(current_user),
        window=window_state(tavolo),
        labels=labels.for_pages(),
        bisogni_endpoint="needs.bisogni" in current_app.view_functions,
    )


# --------------------------------------------------------------------------- live pages


@bp.get("/<int:tavolo_id>/partecipa")
@tavolo_view("view")
def participant(tavolo: Tavolo, role: str):
    context = _live_context(tavolo, role)
    macroaree = service.contribution_macroaree(db.session, tavolo.id) if context["can_contribute"] else []
    return render_template("tavoli/participant.html", macroaree=macroaree, **context)


def participation_qr(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG, drawn here (segno, pure Python: no image service, nothing
    fetched by the browser). Decorative for assistive technology: the page writes the link beside it."""
    svg = segno.make(url, error="m").svg_inline(border=4, dark="#000", light="#fff", omitsize=True,
                                                 svgclass="tavoli-qr-code")
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))


@bp.get("/<int:tavolo_id>/schermo")
@tavolo_view("view")
def bigscreen(tavolo: Tavolo, role: str):
    base = current_app.config.get("BASE_URL") or request.host_url
    link = base.rstrip("/") + url_for("tavoli.participant", tavolo_id=tavolo.id)
    return render_template("tavoli/bigscreen.html", participation_url=link, participation_qr=participation_qr(link),
                           **_live_context(tavolo, role))


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
        labels=labels.for_pages(),
    )


# --------------------------------------------------------------------------- administration


def manage_view(view):
    """Administrators of the Ufficio di Piano only (``permissions.require_manage``, the rule the
    services apply too): anonymous people are sent to the login page, others refused with 403."""

    @wraps(view)
    @login_required
    def wrapper(**kwargs):
        permissions.require_manage(current_user)
        return view(**kwargs)

    return wrapper


@bp.route("/amministrazione/procedure/<int:procedure_id>/nuovo-tavolo", methods=["GET", "POST"])
@manage_view
@transaction
@creates
def new_tavolo(procedure_id: int):
    procedure = membership.get_procedure(db.session, procedure_id)
    form = TavoloForm()
    active = db.session.scalars(select(Macroarea).where(Macroarea.status == "active")
                                .order_by(Macroarea.code)).all()
    form.macroaree.choices = options((m.code, f"{m.code} – {m.name}") for m in active)
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                tavolo = membership.create_tavolo(
                    db.session, _user(), procedure, form.title.data, list(form.macroaree.data),
                    description=(form.description.data or "").strip(),
                    opens_at=to_utc(form.opens_at.data), closes_at=to_utc(form.closes_at.data),
                    quorum_percent=form.quorum_percent.data)
            except Problem as problem:
                form.title.errors = [*form.title.errors, problem.message]
                status = problem.status
            else:
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


def _members_page(tavolo: Tavolo, member_form=None, role_form=None, status: int = 200,
                  message: str | None = None):
    member_form, role_form = _member_forms(member_form, role_form)
    roles = db.session.scalars(
        select(TavoloRole).join(User, User.id == TavoloRole.user_id)
        .where(TavoloRole.tavolo_id == tavolo.id).order_by(User.name)
    ).all()
    return _render("tavoli/members.html", status, tavolo=tavolo, member_form=member_form,
                   role_form=role_form, roles=roles, labels=labels.for_pages(), message=message)


def _organisation(organisation_id: int) -> Organisation:
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        raise not_found(_("Organizzazione inesistente."))
    return org


def _person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found(_("Persona inesistente."))
    return user


def admin_tavolo_view(view):
    """Administrators only (``manage_view``), on an existing tavolo."""

    @wraps(view)
    @manage_view
    def wrapper(tavolo_id: int, **kwargs):
        return view(tavolo=service.get_tavolo(db.session, tavolo_id), **kwargs)

    return wrapper


@bp.get("/<int:tavolo_id>/membri")
@admin_tavolo_view
def members(tavolo: Tavolo):
    return _members_page(tavolo)


@bp.post("/<int:tavolo_id>/membri/organizzazioni")
@admin_tavolo_view
@transaction
def add_member(tavolo: Tavolo):
    member_form, _role_form = _member_forms()
    if not member_form.validate():
        return _members_page(tavolo, member_form=member_form, status=422)
    org = _organisation(member_form.organisation_id.data)
    membership.add_member(db.session, _user(), tavolo, org)
    flash(_("%(o)s è membro del tavolo.", o=org.name), "success")
    return redirect(url_for("tavoli.members", tavolo_id=tavolo.id))


def _removal(tavolo: Tavolo, remove, done: str):
    """A removal button of the members page: done (and said), or refused on the page itself."""
    try:
        remove()
    except Problem as problem:
        return _members_page(tavolo, status=problem.status, message=problem.message)
    flash(done, "success")
    return redirect(url_for("tavoli.members", tavolo_id=tavolo.id))


@bp.post("/<int:tavolo_id>/membri/organizzazioni/<int:organisation_id>/rimuovi")
@admin_tavolo_view
@transaction
def remove_member(tavolo: Tavolo, organisation_id: int):
    org = _organisation(organisation_id)
    return _removal(tavolo, lambda: membership.remove_member(db.session, _user(), tavolo, org),
                    _("%(org)s non è più membro del tavolo.", org=org.name))


@bp.post("/<int:tavolo_id>/membri/ruoli")
@admin_tavolo_view
@transaction
def set_role(tavolo: Tavolo):
    _member_form, role_form = _member_forms()
    if not role_form.validate():
        return _members_page(tavolo, role_form=role_form, status=422)
    user = _person(role_form.user_id.data)
    org = _organisation(role_form.organisation_id.data) if role_form.organisation_id.data else None
    try:
        membership.set_role(db.session, _user(), tavolo, user, role_form.role.data, org)
    except Problem as problem:
        role_form.role.errors = [*role_form.role.errors, problem.message]
        return _members_page(tavolo, role_form=role_form, status=problem.status)
    flash(_("%(u)s: ruolo «%(r)s» assegnato.", u=user.name, r=ROLE_SHORT_LABELS[role_form.role.data]), "success")
    return redirect(url_for("tavoli.members", tavolo_id=tavolo.id))


@bp.post("/<int:tavolo_id>/membri/ruoli/<int:user_id>/rimuovi")
@admin_tavolo_view
@transaction
def remove_role(tavolo: Tavolo, user_id: int):
    user = _person(user_id)
    return _removal(tavolo, lambda: membership.remove_role(db.session, _user(), tavolo, user),
                    _("%(name)s non fa più parte del tavolo.", name=user.name))


@bp.route("/<int:tavolo_id>/sedute/nuova", methods=["GET", "POST"])
@tavolo_view("facilitate")  # facilitators convene their own sedute (administrators act as facilitators)
@transaction
@creates
def new_seduta(tavolo: Tavolo, role: str):
    form = SedutaForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            starts_at = to_utc(form.starts_at.data)
            assert starts_at is not None  # InputRequired
            try:
                seduta = service.create_seduta(
                    db.session, _user(), tavolo, starts_at,
                    place=form.place.data or "", mode=form.mode.data, agenda=form.agenda_items())
            except Problem as problem:
                form.starts_at.errors = [*form.starts_at.errors, problem.message]
                status = problem.status
            else:
                flash(_("Seduta n. %(n)s convocata.", n=seduta.number), "success")
                return redirect(url_for("tavoli.home", tavolo_id=tavolo.id))
        else:
            status = 422
    return _render("tavoli/new_seduta.html", status, form=form, tavolo=tavolo)
