"""Pages of the votazioni: the tavolo's rounds and the facilitator's form, the ballot of each method
(phone-friendly, keyboard-usable, working without JavaScript), the declaration of interest, the
results with an accessible chart, and the live state the console and the big screen follow.

Views are thin over ``workspace.voting.service``: login and the tavolo permission on every route
(``tavolo_view``), then the service, which checks the rest (facilitator, electorate, window) and
raises a ``Problem``; that rolls back and becomes the page again with its status and Italian message.

Live pages (ballot, open results, console, big screen) join the tavolo's room through
``static/js/live.js``; ``vote.live`` pushes turnout (and partial tallies where allowed), the
numbered ``vote.*`` events say when a round opens or closes. ``ballot.js`` casts through the live
outbox (``vote.cast``) when connected, the form POSTs otherwise.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from workspace.accounts.models import User
from workspace.db import db, utcnow
from workspace.errors import error_response
from workspace.forms import options
from workspace.needs.models import Bisogno
from workspace.problems import Problem
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.labels import SEDUTA_STATUS_LABELS, plain
from workspace.tavoli.models import Seduta, Tavolo
from workspace.tavoli.views import live_messages, tavolo_view
from workspace.voting import methods, service
from workspace.voting import permissions as voting_permissions
from workspace.voting.forms import (
    BREAKDOWN_LABELS,
    GROUP_LABELS,
    METHOD_HELP,
    METHOD_LABELS,
    METHOD_SHORT,
    PARTIAL_LABELS,
    SECRECY_LABELS,
    STATUS_LABELS,
    TIMING_LABELS,
    UNIT_LABELS,
    VALUE_LABELS,
    ActionForm,
    InterestForm,
    RoundForm,
    TieBreakForm,
    ballot_from_form,
    local_naive,
    valid_op_id,
)
from workspace.voting.models import VoteRound

bp = Blueprint("voting", __name__, url_prefix="/tavoli")

CLOSED_BISOGNI = ("accorpato", "ritirato")


# --------------------------------------------------------------------------- helpers


def _render(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _round(tavolo: Tavolo, round_id: int) -> VoteRound:
    """The round of this tavolo (404 otherwise), closed first if its closing time has passed."""
    vote = service.get_round(db.session, round_id, tavolo.id)
    if service.close_if_due(db.session, vote) is not None:
        db.session.commit()
    return vote


def _user() -> User:
    return current_user._get_current_object()


def _labels() -> dict[str, Any]:
    return {
        "methods": METHOD_LABELS, "methods_short": METHOD_SHORT, "method_help": METHOD_HELP,
        "values": VALUE_LABELS, "units": UNIT_LABELS, "secrecy": SECRECY_LABELS, "partial": PARTIAL_LABELS,
        "breakdown": BREAKDOWN_LABELS, "timing": TIMING_LABELS, "status": STATUS_LABELS, "groups": GROUP_LABELS,
        "seduta_status": SEDUTA_STATUS_LABELS,
    }


def _retrying(fn):
    """Run ``fn`` (service call + commit) again after a concurrent write of the same round made the
    database refuse it (unique constraint or lock timeout): the retry sees that write."""
    for attempt in range(3):
        try:
            return fn()
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == 2:
                raise
    return None  # pragma: no cover


@bp.app_template_filter("vote_number")
def vote_number(value) -> str:
    """A count as it is, a mean with two decimals and the Italian comma, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}".replace(".", ",")
    return str(int(value)) if isinstance(value, float) else str(value)


@bp.app_template_filter("vote_percent")
def vote_percent(value) -> str:
    """33.3 -> "33,3", 100.0 -> "100"."""
    number = round(float(value or 0), 1)
    return (str(int(number)) if number.is_integer() else str(number)).replace(".", ",")


@bp.app_template_filter("vote_datetime")
def vote_datetime(value):
    """An ISO date-time from a stored payload, as a datetime (for the ``when`` macro)."""
    from datetime import datetime

    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


def vote_messages() -> dict[str, Any]:
    """Every string the votazioni's JavaScript shows (console, big screen, ballot, results)."""
    return {
        "turnout": _("Hanno votato %(voted)s aventi diritto su %(eligible)s (%(percent)s%%)"),
        "turnout_short": _("%(voted)s su %(eligible)s"),
        "status": plain(STATUS_LABELS),
        "methods": plain(METHOD_SHORT),
        "values": plain(VALUE_LABELS),
        "open": _("Apri la votazione"),
        "close": _("Chiudi la votazione"),
        "ballot": _("Scheda"),
        "results": _("Risultati"),
        "all_rounds": _("Tutte le votazioni"),
        "ask_close": _("Chiudere la votazione «%(title)s»? Da quel momento le schede non sono più accettate."),
        "no_rounds": _("Nessuna votazione in preparazione o aperta."),
        "vote_opened": _("Votazione aperta: %(title)s"),
        "vote_closed": _("Votazione chiusa: %(title)s"),
        "partial": _("Risultati parziali"),
        "final": _("Risultati"),
        "turnout_only": _("Durante la votazione si vede solo l'affluenza: i risultati alla chiusura."),
        "tie": _("pari merito"),
        "place": _("%(place)sº"),
        "live_round": _("Dal vivo in seduta"),
        "async_round": _("Asincrona, chiude il %(date)s"),
        "secret": _("Voto segreto"),
        "open_ballot": _("Voto palese"),
        "chart": _("Grafico: %(title)s"),
        "approval_count": _("%(n)s di %(k)s voci scelte"),
        "approval_over": _("Hai scelto %(n)s voci: al massimo %(k)s. Togline %(extra)s."),
        "dot_left": _("Punti rimasti: %(left)s di %(total)s"),
        "dot_over": _("Hai distribuito %(used)s punti: al massimo %(total)s."),
        "rank_duplicate": _("La posizione %(p)s è data a più voci: %(titles)s. Ogni posizione va a una voce sola."),
        "rank_preview": _("La tua classifica: %(list)s"),
        "rank_empty": _("Nessuna voce ancora classificata."),
        "voted": _("Hai votato."),
        "voted_org": _("La tua organizzazione ha votato."),
        "replaced": _("Scheda sostituita: conta l'ultima."),
        "closed_go": _("La votazione è chiusa: ecco i risultati."),
        "fix_ballot": _("Correggi la scheda prima di inviarla."),
    }


def round_entry(session, vote: VoteRound) -> dict[str, Any]:
    """What the console, the big screen and the ballot page need of a round, live."""
    closed = vote.status == "closed" and vote.result
    if closed:
        turnout = vote.result["turnout"]
        ranking = service.ranking_rows(vote, vote.result["tally"], vote.tie_break)
    else:
        turnout = service.turnout(session, vote)
        tally = service.partial_tally(session, vote)
        ranking = service.ranking_rows(vote, tally) if tally else []
    base = url_for("voting.index", tavolo_id=vote.tavolo_id)
    return {
        "id": vote.id, "title": vote.title, "method": vote.method, "status": vote.status, "secret": vote.secret,
        "partial_results": vote.partial_results, "seduta_id": vote.seduta_id, "revision": vote.revision,
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "closes_local": service._local(vote.closes_at) if vote.closes_at else None,
        "items": [{"bisogno_id": i.bisogno_id, "title": i.title} for i in vote.items],
        "turnout": turnout, "ranking": ranking, "final": bool(closed),
        "ballot_url": f"{base}/{vote.id}", "results_url": f"{base}/{vote.id}/risultati",
    }


def live_rounds(session, tavolo_id: int, seduta_id: int | None = None) -> list[dict[str, Any]]:
    """Drafts and open rounds of the tavolo, and the closed ones of ``seduta_id`` (default: the seduta
    in progress), newest first."""
    if seduta_id is None:
        live = tavoli_service.live_seduta(session, tavolo_id)
        seduta_id = live.id if live else None
    out = []
    for vote in reversed(service.rounds_of(session, tavolo_id)):
        if vote.status == "closed" and (seduta_id is None or vote.seduta_id != seduta_id):
            continue
        out.append(round_entry(session, vote))
    return out


@bp.app_template_global("votazioni_live")
def votazioni_live(tavolo_id: int, seduta_id: int | None = None) -> dict[str, Any]:
    """For the console and the big screen templates: the rounds, where to refresh them, the strings."""
    return {
        "votazioni": live_rounds(db.session, tavolo_id, seduta_id),
        "state_url": url_for("voting.live_state", tavolo_id=tavolo_id, seduta=seduta_id),
        "index_url": url_for("voting.index", tavolo_id=tavolo_id),
        "messages": vote_messages(),
    }


def _live_context(tavolo: Tavolo, role: str) -> dict[str, Any]:
    return {"tavolo": tavolo, "role": role, "server_now": utcnow().isoformat(),
            "live_messages": live_messages() | {"vote": vote_messages()}}


# --------------------------------------------------------------------------- list and live state


@bp.get("/<int:tavolo_id>/votazioni")
@tavolo_view("view")
def index(tavolo: Tavolo, role: str):
    session = db.session
    can_facilitate = permissions.can(session, current_user, "facilitate", tavolo.id)
    for vote in service.rounds_of(session, tavolo.id):
        service.close_if_due(session, vote)
    session.commit()
    rows = [{"vote": v, "turnout": (v.result or {}).get("turnout") if v.status == "closed" else service.turnout(session, v),
             "mine": service.my_status(session, v, _user()) if v.status == "open" else None}
            for v in reversed(service.rounds_of(session, tavolo.id)) if can_facilitate or v.status != "draft"]
    return render_template("voting/index.html", tavolo=tavolo, role=role, rows=rows, can_facilitate=can_facilitate,
                           action_form=ActionForm(), labels=_labels())


@bp.get("/<int:tavolo_id>/votazioni/stato")
@tavolo_view("view")
def live_state(tavolo: Tavolo, role: str):
    seduta = request.args.get("seduta", type=int)
    return jsonify({"votazioni": live_rounds(db.session, tavolo.id, seduta)})


# --------------------------------------------------------------------------- the facilitator's form


def _round_form_choices(form: RoundForm, tavolo: Tavolo, current: list[int] | None = None) -> list[Seduta]:
    session = db.session
    bisogni = session.scalars(select(Bisogno).where(Bisogno.tavolo_id == tavolo.id).order_by(Bisogno.id)).all()
    keep = set(current or [])
    form.bisogni.choices = options((b.id, b.title) for b in bisogni if b.status not in CLOSED_BISOGNI or b.id in keep)
    sedute = [s for s in tavolo.sedute if s.status != "chiusa"]
    form.seduta_id.choices = options(
        [(0, _("— scegliere —"))] + [(s.id, _("Seduta n. %(n)s del %(d)s (%(s)s)", n=s.number,
                                               d=service._local(s.starts_at), s=SEDUTA_STATUS_LABELS[s.status]))
                                     for s in sedute])
    return sedute


def _seduta_for(tavolo: Tavolo):
    def get(seduta_id: int) -> Seduta:
        return tavoli_service.get_seduta(db.session, seduta_id, tavolo.id)
    return get


@bp.route("/<int:tavolo_id>/votazioni/nuova", methods=["GET", "POST"])
@tavolo_view("facilitate")
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
            vote, _event = service.create_round(db.session, _user(), tavolo, **form.config(_seduta_for(tavolo)))
        except Problem as problem:
            db.session.rollback()
            status, message = problem.status, problem.message
        else:
            db.session.commit()
            flash(_("Votazione «%(t)s» preparata: controllala e aprila quando è il momento.", t=vote.title), "success")
            return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id))
    else:
        status = 422
    return _render("voting/form.html", status, tavolo=tavolo, form=form, vote=None, message=message,
                   labels=_labels(), has_sedute=bool(sedute))


@bp.route("/<int:tavolo_id>/votazioni/<int:round_id>/modifica", methods=["GET", "POST"])
@tavolo_view("facilitate")
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
            service.update_round(db.session, _user(), vote, config)
        except Problem as problem:
            db.session.rollback()
            status, message = problem.status, problem.message
        else:
            db.session.commit()
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
def open_round(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    service.open_round(db.session, _user(), vote)
    db.session.commit()
    flash(_("Votazione «%(t)s» aperta: le schede sono accettate.", t=vote.title), "success")
    return _back(tavolo, vote, "ballot")


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/chiudi")
@tavolo_view("facilitate")
def close_round(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    service.close_round(db.session, _user(), vote)
    db.session.commit()
    flash(_("Votazione «%(t)s» chiusa: ecco i risultati.", t=vote.title), "success")
    return _back(tavolo, vote, "results")


@bp.post("/<int:tavolo_id>/votazioni/<int:round_id>/spareggio")
@tavolo_view("facilitate")
def tie_break(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    form = TieBreakForm()
    if not form.validate():
        raise Problem("invalid", " ".join(form.seed.errors) or _("Il seme dello spareggio non è valido."), 422)
    seed = (form.seed.data or "").strip() or None
    service.tie_break(db.session, _user(), vote, seed)
    db.session.commit()
    flash(_("Spareggio registrato."), "success")
    return redirect(url_for("voting.results", tavolo_id=tavolo.id, round_id=vote.id) + "#spareggio")


# --------------------------------------------------------------------------- the ballot


def _ballot_context(tavolo: Tavolo, role: str, vote: VoteRound, *, error: str | None = None,
                    posted=None, interest_form: InterestForm | None = None,
                    interest_error: str | None = None) -> dict[str, Any]:
    session = db.session
    user = _user()
    mine = service.my_status(session, vote, user)
    settings = service.method_settings(vote)
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
    not_yet = vote.status == "open" and vote.opens_at is not None and vote.opens_at > utcnow()
    return _live_context(tavolo, role) | {
        "vote": vote, "mine": mine, "settings": settings, "excluded": excluded, "declared": declared,
        "values": values, "error": error, "interest_form": interest_form, "interest_error": interest_error,
        "turnout": service.turnout(session, vote), "seduta": seduta, "can_facilitate": can_facilitate,
        "action_form": ActionForm(formdata=None), "op_id": secrets.token_hex(16), "labels": _labels(),
        "conflicts": service.conflicts_list(session, vote) if can_facilitate else [],
        "not_yet": not_yet,
        "may_vote": mine["eligible"] and vote.status == "open" and not not_yet and not (vote.secret and mine["voted"]),
        "electorate_size": len(service.electorate(session, vote)),
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
def cast(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    op_id = valid_op_id(request.form.get("op_id"))

    def attempt():
        current = service.get_round(db.session, round_id, tavolo.id)
        content = ballot_from_form(current, request.form, service.method_settings(current))
        receipt = service.cast_ballot(db.session, _user(), current, content, op_id)
        db.session.commit()
        return receipt

    try:
        receipt = _retrying(attempt)
    except Problem as problem:
        db.session.rollback()
        vote = service.get_round(db.session, round_id, tavolo.id)
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
def declare_interest(tavolo: Tavolo, role: str, round_id: int):
    vote = _round(tavolo, round_id)
    form = InterestForm()
    form.bisogno_id.choices = options([(0, "")] + [(i.bisogno_id, i.title) for i in vote.items])
    message, status = None, 422
    if form.validate() and form.bisogno_id.data:
        try:
            service.declare_interest(db.session, _user(), vote, form.bisogno_id.data, form.note.data or "")
        except Problem as problem:
            db.session.rollback()
            message, status = problem.message, problem.status
        else:
            db.session.commit()
            title = next((i.title for i in vote.items if i.bisogno_id == form.bisogno_id.data), "")
            flash(_("Interesse dichiarato su «%(t)s»: resta agli atti e compare con i risultati.", t=title), "success")
            return redirect(url_for("voting.ballot", tavolo_id=tavolo.id, round_id=vote.id) + "#interessi")
    else:
        message = " ".join(form.bisogno_id.errors + form.note.errors) or _("Scegliere la voce.")
    vote = service.get_round(db.session, round_id, tavolo.id)
    context = _ballot_context(tavolo, role, vote, interest_form=form, interest_error=message)
    return _render("voting/ballot.html", status, **context)


# --------------------------------------------------------------------------- results


def describe_ballot(vote: VoteRound, content: dict, titles: dict[str, str]) -> str:
    """A ballot in words, for the list of open ballots."""
    def title(b) -> str:
        return titles.get(str(b), str(b))

    if vote.method == "approval":
        chosen = content.get("approve", [])
        return _("approva: %(l)s", l="; ".join(title(b) for b in chosen)) if chosen else _("scheda bianca")
    if vote.method == "dot":
        points = content.get("points", {})
        return "; ".join(f"{title(b)}: {n}" for b, n in points.items()) if points else _("scheda bianca")
    if vote.method == "score":
        scores = content.get("scores", {})
        parts = []
        for b, given in scores.items():
            detail = ", ".join(f"{c} {v}" for c, v in given.items()) if isinstance(given, dict) else str(given)
            parts.append(f"{title(b)} ({detail})")
        return "; ".join(parts) if parts else _("scheda bianca")
    ranking = content.get("ranking", [])
    return " › ".join(f"{n}. {title(b)}" for n, b in enumerate(ranking, start=1)) if ranking else _("scheda bianca")


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
    try:
        tavolo = tavoli_service.get_tavolo(session, tavolo_id)
        vote = _round(tavolo, round_id)
        viewer = _user() if current_user.is_authenticated else None
        try:
            audience = voting_permissions.may_read(session, vote, viewer)
        except Problem:
            if viewer is None:
                return error_response(401, _("Per leggere i risultati di questa votazione occorre accedere come "
                                             "partecipante del tavolo."))
            raise
        data = service.results(session, vote, viewer)
    except Problem as problem:
        session.rollback()
        return error_response(problem.status, problem.message)
    rows = data["ranking"]
    top = max((r["score"] for r in rows if r["score"] is not None), default=0)
    for row in rows:
        row["percent"] = bar_percent(vote, row["score"], top)
    titles = {str(i.bisogno_id): i.title for i in vote.items}
    ballots = data["ballots"] or []
    for b in ballots:
        b["text"] = describe_ballot(vote, b["content"], titles)
    tie = vote.tie_break or None
    by = session.get(User, tie["by"]) if tie and tie.get("by") and audience == "member" else None
    tie_by = by.name if by is not None else None
    can_facilitate = viewer is not None and permissions.can(session, viewer, "facilitate", tavolo.id)
    has_ties = any(r["tie"] for r in rows)
    context = {
        "tavolo": tavolo, "vote": vote, "data": data, "rows": rows, "titles": titles, "ballots": ballots,
        "audience": audience, "tie": tie, "tie_by": tie_by, "can_facilitate": can_facilitate,
        "has_ties": has_ties, "labels": _labels(), "details": _tally_details(vote, data["tally"]),
        "tie_form": TieBreakForm(formdata=None), "action_form": ActionForm(formdata=None),
        "live": vote.status == "open" and audience == "member",
        "tie_rule": methods.TIE_BREAK_RULE,
    }
    if context["live"]:
        role = permissions.role_name(session, viewer, tavolo.id)
        context |= _live_context(tavolo, role)
    return render_template("voting/results.html", **context)


@bp.errorhandler(Problem)
def _problem(exc: Problem):
    db.session.rollback()
    return error_response(exc.status, exc.message)
