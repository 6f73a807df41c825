"""Pages of the votazioni: the tavolo's rounds and the facilitator's form, the ballot of each method
(phone-friendly, keyboard-usable, working without JavaScript), the declaration of interest, the
results with an accessible chart, and the live state the console and the big screen follow.

Views are thin over the voting services (``rounds``, ``ballots``) and payloads: login and the
tavolo permission on every route (``tavolo_view``), then the service, which checks the rest
(facilitator, electorate, window) and raises a ``Problem``. Views that write run in one transaction
(``workspace.web.transaction``); a refusal reaches the application's handler as an error page, or
— for a form — comes back as the form with its message and the Problem's status. Reading never
writes: a round past its closing time is shown in the phase "closing" until the sweep closes it
(``rounds``, "Closing"). A form shown again after a refusal shows what is stored: the services
check everything before they write.

Live pages (ballot, open results, console, big screen) join the tavolo's room through
``static/js/live.js``; ``vote.live`` pushes turnout (and partial tallies where allowed), the
numbered ``vote.*`` events say when a round opens or closes. ``ballot.js`` casts through the live
outbox (``vote.cast``) when connected, the form POSTs otherwise.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from workspace.accounts.models import User
from workspace.db import db, utcnow
from workspace.forms import options
from workspace.i18n import gettext as _
from workspace.needs.models import Bisogno
from workspace.problems import Problem, forbidden
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.labels import SEDUTA_STATUS_LABELS
from workspace.tavoli.models import Seduta, Tavolo
from workspace.tavoli.views import live_messages, tavolo_view
from workspace.voting import ballots, labels, methods, payloads, rounds
from workspace.voting import permissions as voting_permissions
from workspace.voting.electorate import electorate, turnout
from workspace.voting.forms import (
    ActionForm,
    InterestForm,
    RoundForm,
    TieBreakForm,
    ballot_from_form,
    local_naive,
    valid_op_id,
)
from workspace.voting.models import VoteRound
from workspace.voting.rules import method_settings
from workspace.web import creates, transaction

bp = Blueprint("voting", __name__, url_prefix="/tavoli")

CLOSED_BISOGNI = ("accorpato", "ritirato")


# --------------------------------------------------------------------------- helpers


def _render(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _round(tavolo: Tavolo, round_id: int) -> VoteRound:
    """The round of this tavolo (404 otherwise)."""
    return rounds.get_round(db.session, round_id, tavolo.id)


def _user() -> User:
    return current_user._get_current_object()


def _labels() -> dict[str, Any]:
    return labels.page_labels() | {"seduta_status": SEDUTA_STATUS_LABELS}


@bp.app_template_filter("vote_number")
def vote_number(value: Any) -> str:
    """A count as it is, a mean with two decimals and the Italian comma, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}".replace(".", ",")
    return str(int(value)) if isinstance(value, float) else str(value)


@bp.app_template_filter("vote_percent")
def vote_percent(value: Any) -> str:
    """33.3 -> "33,3", 100.0 -> "100"."""
    number = round(float(value or 0), 1)
    return (str(int(number)) if number.is_integer() else str(number)).replace(".", ",")


@bp.app_template_filter("vote_datetime")
def vote_datetime(value: Any) -> Any:
    """An ISO date-time from a stored payload, as a datetime (for the ``when`` macro)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


@bp.app_template_global("votazioni_live")
def votazioni_live(tavolo_id: int, seduta_id: int | None = None, live: Any = payloads.LOOK_UP) -> dict[str, Any]:
    """For the console and the big screen templates: the rounds, where to refresh them, the strings.
    ``live``: the seduta in progress (or None) when the page has it already."""
    return {
        "votazioni": payloads.live_rounds(db.session, tavolo_id, seduta_id, live),
        "state_url": url_for("voting.live_state", tavolo_id=tavolo_id, seduta=seduta_id),
        "index_url": url_for("voting.index", tavolo_id=tavolo_id),
        "messages": labels.script_messages(),
    }


def _live_context(tavolo: Tavolo, role: str) -> dict[str, Any]:
    return {"tavolo": tavolo, "role": role, "server_now": utcnow().isoformat(),
            "live_messages": live_messages() | {"vote": labels.script_messages()}}


# --------------------------------------------------------------------------- list and live state


@bp.get("/<int:tavolo_id>/votazioni")
@tavolo_view("view")
def index(tavolo: Tavolo, role: str):
    session = db.session
    can_facilitate = permissions.can(session, current_user, "facilitate", tavolo.id)
    now = utcnow()
    rows = []
    for v in reversed(rounds.rounds_of(session, tavolo.id)):
        if v.status == "draft" and not can_facilitate:
            continue
        phase = payloads.phase(v, now)
        rows.append({"vote": v, "phase": phase,
                     "turnout": (v.result or {}).get("turnout") if v.status == "closed" else turnout(session, v),
                     "mine": ballots.my_status(session, v, _user()) if v.status == "open" else None})
    return render_template("voting/index.html", tavolo=tavolo, role=role, rows=rows, can_facilitate=can_facilitate,
                           action_form=ActionForm(), labels=_labels())


@bp.get("/<int:tavolo_id>/votazioni/stato")
@tavolo_view("view")
def live_state(tavolo: Tavolo, role: str):
    seduta = request.args.get("seduta", type=int)
    return jsonify({"votazioni": payloads.live_rounds(db.session, tavolo.id, seduta)})


# --------------------------------------------------------------------------- the facilitator's form


def _round_form_choices(form: RoundForm, tavolo: Tavolo, current: list[int] | None = None) -> list[Seduta]:
    session = db.session
    bisogni = session.scalars(select(Bisogno).where(Bisogno.tavolo_id == tavolo.id).order_by(Bisogno.id)).all()
    keep = set(current or [])
    form.bisogni.choices = options((b.id, b.title) for b in bisogni if b.status not in CLOSED_BISOGNI or b.id in keep)
    sedute = [s for s in tavolo.sedute if s.status != "chiusa"]
    form.seduta_id.choices = options(
        [(0, _("— scegliere —"))] + [(s.id, _("Seduta n. %(n)s del %(d)s (%(s)s)", n=s.number,
                                               d=labels.when(s.starts_at), s=SEDUTA_STATUS_LABELS[s.status]))
                                     for s in sedute])
    return sedute


def _seduta_for(tavolo: Tavolo):
    def get(seduta_id: int) -> Seduta:
        return tavoli_service.get_seduta(db.session, seduta_id, tavolo.id)
    return get


@bp.route("/<int:tavolo_id>/votazioni/nuova", methods=["GET", "POST"])
@tavolo_view("facilitate")
@transaction
@creates
def new_round(tavolo: Tavolo, role: str):
    form = RoundForm()
    sedute = _round_form_choices(form, tavolo)
    status, message = 200, None
    if not form.is_submitted():
        form.fill_defaults()
        live = tavoli_service.live_seduta(db.session, tavolo.id)
        chosen = live or (sedute[0] if sedute else None)
        form.timing.data = "seduta" if chosen else "asincrona"
        form.seduta_id.data = chosen.id if chosen else 0
        form.bisogni.data = []
    elif form.validate():
        try:
            vote, _event = rounds.create_round(db.session, _user(), tavolo, **form.config(_seduta_for(tavolo)))
        except Problem as problem:
            status, message = problem.status, problem.message
        else:
            flash(_("Votazione «%(t)s» preparata: controllala e aprila quando è il momento.", t=vote.title), "success")
            return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id))
    else:
        status = 422
    return _render("voting/form.html", status, tavolo=tavolo, form=form, vote=None, message=message,
                   labels=_labels(), has_sedute=bool(sedute))


@bp.route("/<int:tavolo_id>/votazioni/<int:round_id>/modifica", methods=["GET", "POST"])
@tavolo_view("facilitate")
@transaction
def edit_round(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    if vote.status != "draft":
        raise Problem("conflict", _("La votazione è già stata aperta: le sue regole non si modificano più."), 409)
    form = RoundForm()
    sedute = _round_form_choices(form, tavolo, [i.bisogno_id for i in vote.items])
    status, message = 200, None
    if not form.is_submitted():
        form.load(vote, local_naive)
    elif form.validate():
        config = form.config(_seduta_for(tavolo))
        seduta = config.pop("seduta")
        config["seduta_id"] = seduta.id if seduta else None
        try:
            rounds.update_round(db.session, _user(), vote, config)
        except Problem as problem:
            status, message = problem.status, problem.message
        else:
            flash(_("Votazione «%(t)s» aggiornata.", t=vote.title), "success")
            return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id))
    else:
        status = 422
    return _render("voting/form.html", status, tavolo=tavolo, form=form, vote=vote, message=message,
                   labels=_labels(), has_sedute=bool(sedute))


# --------------------------------------------------------------------------- open, close, tie-break


def _back(tavolo: Tavolo, vote: VoteRound, default: str):
    where = request.form.get("next")
    if where == "list":
        return redirect(url_for("voting.index", tavolo_id=tavolo.id))
    if where == "results" or default == "results":
        return redirect(url_for("voting.results", tavolo_id=tavolo.id, round_id=vote.id))
    return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id))


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/apri")
@tavolo_view("facilitate")
@transaction
def open_round(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    rounds.open_round(db.session, _user(), vote)
    flash(_("Votazione «%(t)s» aperta: le schede sono accettate.", t=vote.title), "success")
    return _back(tavolo, vote, "ballot")


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/chiudi")
@tavolo_view("facilitate")
@transaction
def close_round(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    rounds.close_round(db.session, _user(), vote)
    flash(_("Votazione «%(t)s» chiusa: ecco i risultati.", t=vote.title), "success")
    return _back(tavolo, vote, "results")


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/spareggio")
@tavolo_view("facilitate")
@transaction
def tie_break(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    form = TieBreakForm()
    if not form.validate():
        raise Problem("invalid", " ".join(form.seed.errors) or _("Il seme dello spareggio non è valido."), 422)
    seed = (form.seed.data or "").strip() or None
    rounds.tie_break(db.session, _user(), vote, seed)
    flash(_("Spareggio registrato."), "success")
    return redirect(url_for("voting.results", tavolo_id=tavolo.id, round_id=vote.id) + "#spareggio")


# --------------------------------------------------------------------------- the ballot


def _ballot_context(tavolo: Tavolo, role: str, vote: VoteRound, *, error: str | None = None,
                    posted=None, interest_form: InterestForm | None = None,
                    interest_error: str | None = None) -> dict[str, Any]:
    session = db.session
    user = _user()
    mine = ballots.my_status(session, vote, user)
    settings = method_settings(vote)
    declared = set(mine["declarations"])
    excluded = declared if vote.conflict_excludes else set()
    if interest_form is None:
        interest_form = InterestForm(formdata=None)
    interest_form.bisogno_id.choices = options(
        [(0, _("— scegliere —"))] + [(i.bisogno_id, i.title) for i in vote.items if i.bisogno_id not in declared])
    # The values the form shows: what was just posted (refused), else the counted open ballot.
    values = _form_values(vote, posted, mine.get("ballot"), settings)
    seduta = session.get(Seduta, vote.seduta_id) if vote.seduta_id else None
    can_facilitate = permissions.can(session, user, "facilitate", tavolo.id)
    now = utcnow()
    phase = payloads.phase(vote, now)
    not_yet = phase == "open" and vote.opens_at is not None and vote.opens_at > now
    return _live_context(tavolo, role) | {
        "vote": vote, "phase": phase, "mine": mine, "settings": settings, "excluded": excluded,
        "declared": declared, "values": values, "error": error, "interest_form": interest_form,
        "interest_error": interest_error, "turnout": turnout(session, vote), "seduta": seduta,
        "can_facilitate": can_facilitate, "action_form": ActionForm(formdata=None), "op_id": secrets.token_hex(16),
        "labels": _labels(), "conflicts": payloads.conflicts_list(session, vote) if can_facilitate else [],
        "not_yet": not_yet,
        "may_vote": mine["eligible"] and phase == "open" and not not_yet and not (vote.secret and mine["voted"]),
        "electorate_size": len(electorate(session, vote)),
        "n_items": len(vote.items),
    }


def _form_values(vote: VoteRound, posted, ballot: dict | None, settings) -> dict[str, Any]:
    """Field name -> value (str, or a set for the approval checkboxes)."""
    if posted is not None:
        values: dict[str, Any] = {k: v for k, v in posted.items() if k != "approva"}
        values["approva"] = set(posted.getlist("approva"))
        return values
    values = {"approva": set()}
    if not ballot:
        return values
    if vote.method == "approval":
        values["approva"] = {str(b) for b in ballot.get("approve", [])}
    elif vote.method == "dot":
        values |= {f"punti-{b}": str(n) for b, n in ballot.get("points", {}).items()}
    elif vote.method == "score":
        index = {c: n for n, c in enumerate(settings.criteria)}
        for b, given in ballot.get("scores", {}).items():
            for criterion, value in given.items():
                if criterion in index:
                    values[f"voto-{b}-{index[criterion]}"] = str(value)
    else:
        values |= {f"posizione-{b}": str(p) for p, b in enumerate(ballot.get("ranking", []), start=1)}
    return values


@bp.get("/<int:tavolo_id>/votazioni/<int:round_id>")
@tavolo_view("view")
def ballot(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    return render_template("voting/ballot.html", **_ballot_context(tavolo, role, vote))


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/scheda")
@tavolo_view("view")
@transaction
def cast(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    op_id = valid_op_id(request.form.get("op_id"))
    try:
        content = ballot_from_form(vote, request.form, method_settings(vote))
        receipt = ballots.cast_ballot(db.session, _user(), vote, content, op_id)
    except Problem as problem:
        context = _ballot_context(tavolo, role, vote, error=problem.message, posted=request.form)
        return _render("voting/ballot.html", problem.status, **context)
    if receipt["duplicate"]:
        flash(_("La scheda era già stata registrata: l'invio ripetuto non è contato una seconda volta."), "info")
    elif receipt["replaced"]:
        flash(_("Scheda sostituita: conta l'ultima inviata."), "success")
    else:
        flash(_("Scheda registrata. Grazie!"), "success")
    return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id) + "#esito")


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/interesse")
@tavolo_view("view")
@transaction
def declare_interest(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    form = InterestForm()
    form.bisogno_id.choices = options([(0, "")] + [(i.bisogno_id, i.title) for i in vote.items])
    message, status = None, 422
    if form.validate() and form.bisogno_id.data:
        try:
            rounds.declare_interest(db.session, _user(), vote, form.bisogno_id.data, form.note.data or "")
        except Problem as problem:
            message, status = problem.message, problem.status
        else:
            title = next((i.title for i in vote.items if i.bisogno_id == form.bisogno_id.data), "")
            flash(_("Interesse dichiarato su «%(t)s»: resta agli atti e compare con i risultati.", t=title), "success")
            return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id) + "#interessi")
    else:
        message = " ".join(str(e) for e in [*form.bisogno_id.errors, *form.note.errors]) or _("Scegliere la voce.")
    context = _ballot_context(tavolo, role, vote, interest_form=form, interest_error=message)
    return _render("voting/ballot.html", status, **context)


# --------------------------------------------------------------------------- results


def bar_percent(vote: VoteRound, value, top) -> int:
    """The width (0–100, whole) of an item's bar in the chart."""
    if value is None:
        return 0
    if vote.method == "score":
        scale = methods.SCORE_MAX
    elif vote.method == "schulze":
        scale = max(1, len(vote.items) - 1)
    else:
        scale = max(1, top or 0)
    return max(0, min(100, round(100 * float(value) / scale)))


def _tally_details(vote: VoteRound, tally: dict | None) -> dict[str, Any]:
    extra = (tally or {}).get("extra") or {}
    if vote.method == "score" and extra.get("details"):
        return {"criteria": extra.get("criteria", []), "weights": extra.get("weights", {}),
                "details": extra["details"]}
    if vote.method == "schulze" and extra.get("pairwise"):
        return {"pairwise": extra["pairwise"]}
    return {}


@bp.get("/<int:tavolo_id>/votazioni/<int:round_id>/risultati")
def results(tavolo_id: int, round_id: int):
    session = db.session
    tavolo = tavoli_service.get_tavolo(session, tavolo_id)
    vote = _round(tavolo, round_id)
    viewer = _user() if current_user.is_authenticated else None
    audience = voting_permissions.audience(session, vote, viewer)
    if audience is None:
        if viewer is None:
            raise Problem("unauthorized", _("Per leggere i risultati di questa votazione occorre accedere come "
                                            "partecipante del tavolo."), 401)
        raise forbidden(_("Non fai parte di questo tavolo."))
    data = payloads.results(session, vote, viewer)
    rows = data["ranking"]
    top = max((r["score"] for r in rows if r["score"] is not None), default=0)
    for row in rows:
        row["percent"] = bar_percent(vote, row["score"], top)
    titles = {str(i.bisogno_id): i.title for i in vote.items}
    listed = data["ballots"] or []
    for b in listed:
        b["text"] = labels.describe_ballot(vote.method, b["content"], titles)
    tie = vote.tie_break or None
    by = session.get(User, tie["by"]) if tie and tie.get("by") and audience == "member" else None
    tie_by = by.name if by is not None else None
    can_facilitate = viewer is not None and permissions.can(session, viewer, "facilitate", tavolo.id)
    has_ties = any(r["tie"] for r in rows)
    context = {
        "tavolo": tavolo, "vote": vote, "phase": payloads.phase(vote), "data": data, "rows": rows, "titles": titles,
        "ballots": listed, "audience": audience, "tie": tie, "tie_by": tie_by, "can_facilitate": can_facilitate,
        "has_ties": has_ties, "labels": _labels(), "details": _tally_details(vote, data["tally"]),
        "tie_form": TieBreakForm(formdata=None), "action_form": ActionForm(formdata=None),
        "live": vote.status == "open" and audience == "member",
        "tie_rule": methods.TIE_BREAK_RULE,
    }
    if context["live"]:
        # A member: their role on the tavolo.
        context |= _live_context(tavolo, permissions.require(session, viewer, "view", tavolo.id))
    return render_template("voting/results.html", **context)
