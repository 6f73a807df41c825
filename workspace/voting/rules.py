"""The rules of a round as the facilitator sets them while it is a draft: method and settings, the
items (bisogni of the tavolo), ballot unit, secrecy, eligibility, visibility of partial results,
conflict rule, breakdown, seduta and times. ``configure`` validates the whole configuration before
applying any of it, so a refusal leaves the round untouched. Also here: the settings object and the
candidates the counting methods see (``workspace.voting.methods``).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workspace.i18n import gettext as _
from workspace.needs.models import Bisogno
from workspace.problems import invalid
from workspace.tavoli.models import Seduta, Tavolo
from workspace.voting import methods
from workspace.voting.electorate import check_eligibility
from workspace.voting.models import BALLOT_UNITS, VoteRound, VoteRoundItem

MIN_ITEMS = 2
MAX_ITEMS = 60
TITLE_LIMIT = 300
DESCRIPTION_LIMIT = 20_000
_SETTING_KEYS = {
    "approval": {"k"},
    "dot": {"points", "max_per_item"},
    "score": {"criteria", "weights"},
    "borda": set(),
    "schulze": set(),
}
#: The yes/no options of a round.
FLAGS = ("secret", "partial_results", "conflict_excludes", "breakdown")


def _method_settings(method: Any, raw: Mapping[str, Any] | None) -> tuple[methods.Settings, dict[str, Any]]:
    """The settings object for the methods and its JSON form, or an Italian refusal."""
    if method not in methods.METHOD_NAMES:
        raise invalid(_("Metodo di voto sconosciuto: scegliere fra %(m)s.", m=", ".join(methods.METHOD_NAMES)))
    raw = dict(raw or {})
    unknown = sorted(set(raw) - _SETTING_KEYS[method])
    if unknown:
        raise invalid(_("Impostazione non prevista per il metodo «%(m)s»: %(k)s.", m=method, k=", ".join(unknown)))
    try:
        if method == "approval":
            approval = methods.ApprovalSettings(k=raw.get("k"))
            return approval, {"k": approval.k}
        if method == "dot":
            dot = methods.DotSettings(points=raw.get("points", 10), max_per_item=raw.get("max_per_item"))
            return dot, {"points": dot.points, "max_per_item": dot.max_per_item}
        if method == "score":
            criteria = raw.get("criteria") or list(methods.DEFAULT_CRITERIA)
            weights = raw.get("weights")
            if not isinstance(criteria, list | tuple) or (weights is not None and not isinstance(weights, list | tuple)):
                raise methods.SettingsError("criteri e pesi vanno indicati come elenchi")
            score = methods.ScoreSettings(criteria=tuple(criteria), weights=None if weights is None else tuple(weights))
            return score, {"criteria": list(score.criteria), "weights": [str(w) for w in score.weights or ()]}
        return methods.RankingSettings(), {}
    except methods.VotingError as exc:
        raise invalid(_("Impostazioni del metodo non valide: %(r)s.", r=str(exc))) from None


def method_settings(vote: VoteRound) -> methods.Settings:
    """The round's settings as the counting methods take them."""
    return _method_settings(vote.method, vote.settings)[0]


def candidates(vote: VoteRound) -> list[str]:
    """The items as the counting methods see them: bisogno ids as strings, in ballot order."""
    return [str(item.bisogno_id) for item in vote.items]


def round_config(vote: VoteRound) -> dict[str, Any]:
    """The draft's current configuration, in the form ``create_round`` / ``update_round`` take."""
    return {
        "title": vote.title,
        "description": vote.description,
        "method": vote.method,
        "settings": dict(vote.settings or {}),
        "bisogni": [item.bisogno_id for item in vote.items],
        "seduta_id": vote.seduta_id,
        "ballot_unit": vote.ballot_unit,
        "secret": vote.secret,
        "eligibility": dict(vote.eligibility or {}),
        "partial_results": vote.partial_results,
        "conflict_excludes": vote.conflict_excludes,
        "breakdown": vote.breakdown,
        "opens_at": vote.opens_at,
        "closes_at": vote.closes_at,
    }


def _check_time(value: Any, label: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise invalid(_("«%(f)s» deve essere una data e ora con fuso orario.", f=label))
    return value


def check_items(session: Session, tavolo: Tavolo, ids: Any) -> list[Bisogno]:
    """The bisogni to vote on, in ballot order: 2 to 60 distinct bisogni of the tavolo, none merged
    or withdrawn."""
    if not isinstance(ids, list | tuple) or any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        raise invalid(_("Le voci in votazione sono un elenco di bisogni del tavolo."))
    if len(set(ids)) != len(ids):
        raise invalid(_("Un bisogno compare più volte fra le voci in votazione."))
    if not MIN_ITEMS <= len(ids) <= MAX_ITEMS:
        raise invalid(_("Le voci in votazione devono essere da %(a)s a %(b)s.", a=MIN_ITEMS, b=MAX_ITEMS))
    found = {b.id: b for b in session.scalars(select(Bisogno).where(Bisogno.id.in_(ids),
                                                                     Bisogno.tavolo_id == tavolo.id))}
    if len(found) != len(ids):
        raise invalid(_("Le voci in votazione devono essere bisogni di questo tavolo."))
    for b in found.values():
        if b.status in ("accorpato", "ritirato"):
            raise invalid(_("Il bisogno «%(t)s» è %(s)s: non può essere messo in votazione.", t=b.title, s=b.status))
    return [found[i] for i in ids]


def _text(cfg: dict[str, Any]) -> tuple[str, str]:
    title = cfg.get("title")
    if not isinstance(title, str) or not title.strip():
        raise invalid(_("Il titolo della votazione è obbligatorio."))
    if len(title.strip()) > TITLE_LIMIT:
        raise invalid(_("Il titolo della votazione supera i 300 caratteri."))
    description = cfg.get("description") or ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_LIMIT:
        raise invalid(_("La descrizione della votazione non è valida o è troppo lunga."))
    return title.strip(), description


def _flags(cfg: dict[str, Any]) -> dict[str, bool]:
    flags = {}
    for key in FLAGS:
        value = cfg.get(key)
        if not isinstance(value, bool):
            raise invalid(_("L'opzione «%(k)s» è vero o falso.", k=key))
        flags[key] = value
    if flags["secret"] and flags["partial_results"]:
        raise invalid(_("Con il voto segreto i risultati parziali non si mostrano: durante la votazione si vede "
                        "solo l'affluenza."))
    return flags


def _seduta(session: Session, tavolo: Tavolo, seduta_id: Any) -> Seduta | None:
    if seduta_id is None:
        return None
    seduta = session.get(Seduta, seduta_id)
    if seduta is None or seduta.tavolo_id != tavolo.id:
        raise invalid(_("Seduta inesistente in questo tavolo."))
    if seduta.status == "chiusa":
        raise invalid(_("La seduta è chiusa: non si possono preparare votazioni per essa."))
    return seduta


def configure(session: Session, vote: VoteRound, tavolo: Tavolo, cfg: dict[str, Any]) -> list[Bisogno]:
    """Validate the whole configuration ``cfg`` (the keys of :func:`round_config`), then apply it to
    ``vote``; the bisogni chosen, for :func:`set_items`. A refusal leaves the round untouched."""
    title, description = _text(cfg)
    method = cfg.get("method")
    _obj, settings = _method_settings(method, cfg.get("settings"))
    unit = cfg.get("ballot_unit") or "person"
    if unit not in BALLOT_UNITS:
        raise invalid(_("Unità di voto non valida: una scheda per persona o per organizzazione."))
    flags = _flags(cfg)
    eligibility = check_eligibility(cfg.get("eligibility"))
    seduta = _seduta(session, tavolo, cfg.get("seduta_id"))
    opens_at = _check_time(cfg.get("opens_at"), _("Apertura"))
    closes_at = _check_time(cfg.get("closes_at"), _("Chiusura"))
    if seduta is None and closes_at is None:
        raise invalid(_("Una votazione asincrona (fuori seduta) ha una data e ora di chiusura."))
    if opens_at and closes_at and closes_at <= opens_at:
        raise invalid(_("La votazione deve chiudersi dopo l'apertura."))
    bisogni = check_items(session, tavolo, cfg.get("bisogni"))

    vote.title, vote.description = title, description
    vote.method, vote.settings, vote.ballot_unit = str(method), settings, unit
    vote.secret, vote.partial_results = flags["secret"], flags["partial_results"]
    vote.conflict_excludes, vote.breakdown = flags["conflict_excludes"], flags["breakdown"]
    vote.eligibility = eligibility
    vote.seduta_id = seduta.id if seduta else None
    vote.opens_at, vote.closes_at = opens_at, closes_at
    return bisogni


def set_items(session: Session, vote: VoteRound, bisogni: list[Bisogno]) -> None:
    """Replace the round's items by ``bisogni``, in this order, with their current titles."""
    session.execute(delete(VoteRoundItem).where(VoteRoundItem.round_id == vote.id))
    session.expire(vote, ["items"])
    for position, b in enumerate(bisogni, start=1):
        session.add(VoteRoundItem(round_id=vote.id, bisogno_id=b.id, position=position, title=b.title))
    session.flush()
    session.expire(vote, ["items"])
