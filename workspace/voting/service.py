"""Priority votes of a tavolo: create, open, cast, declare an interest, close, break ties, recount.

Same write path as every tavolo change: permission, validation, rows and one record event in the
caller's transaction (the caller commits). Counting is done only by the pure functions of
``workspace.voting.methods``; results record the method and its version.

Rules
-----
- A round is prepared as a *draft* (method and settings, ballot unit, secrecy, eligibility,
  visibility of partial results, conflict rule, items, times) and **frozen when it opens**,
  together with its electorate: the voter keys entitled to vote (``u:<user id>`` per person,
  ``o:<organisation id>`` per organisation).
- Eligible: the tavolo's delegates; observers unless excluded (excluded by default);
  facilitators only when included; never people whose organisation's kind is excluded.
- One counted ballot per voter key, enforced by unique constraints on (round, voter key) and by
  serialising the ballots of a round (row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). In an
  open round a later ballot of the same voter (for an organisation: of any of its delegates)
  replaces the earlier one, through an ``INSERT ... ON CONFLICT DO UPDATE``. A client ``op_id``
  already applied is acknowledged again without being applied twice.
- A ballot is validated completely before anything is written; after the closing time or after
  closing it is refused with a clear message, and nothing is stored.
- Conflict of interest: before voting a participant may declare an interest in an item; it is
  recorded and shown with the results and, when the round says so, that voter's ballot may not
  give that item anything (approval, points, scores, place in a ranking; with Borda and Schulze an
  unranked item counts as ranked below the others, so the exclusion can only work against it).

Secret ballots: design and residual risks
-----------------------------------------
Goal: nobody reading the database (or the API, or the live channel) can tell how a person voted.

1. ``secret_ballot`` has no voter identifier, no timestamp, no foreign key other than the round,
   and a random UUID as primary key; on SQLite it is ``WITHOUT ROWID`` (no hidden insertion
   counter). ``vote_participation`` records who voted and names no ballot. The only column the two
   tables share is the round id. A test inspects the schema.
2. Insertion order is destroyed: every accepted secret ballot rewrites *all* of the round's
   secret ballots in the same transaction (delete, then re-insert with fresh random ids, in the
   order of those ids). Afterwards the physical order (PostgreSQL heap, SQLite b-tree) is random,
   and on PostgreSQL every ballot row carries the same transaction id (``xmin``) — that of the
   latest ballot — so the system columns cannot be joined with participation rows either.
3. **No replacement**: a secret round accepts one ballot per voter key. Replacing a ballot needs
   something that finds it again, and anything stored that does (a hash of the voter, a token) is
   a link. The rule is part of the round (``replaceable: false``) and must be stated in the UI.
   Retries of the same operation (same ``op_id``) are acknowledged as already applied.
4. Participation times are rounded down to the minute; ballots have none.
5. Partial tallies are refused for secret rounds: a tally that moves right after someone voted
   tells everyone watching how they voted. While open, only turnout is shown and pushed.
6. The breakdown by organisation type is off by default for secret rounds. When enabled, each
   secret ballot carries its coarse group (ets / pubblico / altri) and any group with fewer than 5
   ballots is suppressed, plus the smallest other group when only one would be suppressed
   (otherwise it could be recovered as total minus the rest).
7. The anonymised ballots published after closing (``/api/v1/votazioni/<id>/schede``) are sorted by
   their content, without group or id.

Residual risks (documented, not solved here):
- Someone who can read the database *while the round is open*, repeatedly (or holds backups, the
  PostgreSQL WAL or SQLite's ``-wal`` file from between two ballots), can diff successive states
  and link the new ballot to the new participation row. Dead row versions on PostgreSQL keep old
  orders until VACUUM; SQLite freed pages are overwritten (``secure_delete`` is switched on for the
  connection) but WAL frames survive until a checkpoint. Operators: restrict database access during
  votes, run ``VACUUM`` on ``secret_ballot`` after closing, do not archive WAL of voting days
  longer than needed.
- Small electorates: with one voter in a group the breakdown is suppressed, but an enabled
  breakdown still stores that group on the ballot, so a database reader narrows the candidates
  (the reason the option is off by default for secret rounds). Unanimity or a single voter
  reveals ballots in any system.
- Timing outside the database (web server access logs, a person seen voting while the turnout
  ticks) reveals *that* someone voted, never what.
"""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from workspace import record, signals
from workspace.accounts.models import ORGANISATION_KINDS, Organisation, User
from workspace.db import utcnow
from workspace.needs.models import Bisogno
from workspace.problems import Problem, conflict, forbidden, invalid, not_found
from workspace.tavoli import permissions
from workspace.tavoli.models import Seduta, Tavolo, TavoloRole
from workspace.voting import methods
from workspace.voting import permissions as voting_permissions
from workspace.voting.models import (
    BALLOT_UNITS,
    GROUPS,
    ConflictDeclaration,
    OpenBallot,
    Participation,
    SecretBallot,
    VoteOperation,
    VoteRound,
    VoteRoundItem,
    new_ballot_id,
)

log = logging.getLogger(__name__)

#: Breakdown groups with fewer ballots than this are suppressed in secret rounds.
SUPPRESSION_THRESHOLD = 5
MIN_ITEMS = 2
MAX_ITEMS = 60
NOTE_LIMIT = 2000
PUBLIC_KINDS = frozenset({"comune", "ufficio_di_piano", "asst", "ats", "scuola"})
DEFAULT_ELIGIBILITY = {"exclude_observers": True, "include_facilitators": False, "excluded_kinds": []}
_SETTING_KEYS = {
    "approval": {"k"},
    "dot": {"points", "max_per_item"},
    "score": {"criteria", "weights"},
    "borda": set(),
    "schulze": set(),
}
_DATE = "%d/%m/%Y %H:%M"


# --- live notifications (after commit) ------------------------------------------------------------

#: The kind of the derived live message a committed ballot produces (``signals.live_state_changed``).
LIVE_MESSAGE = "vote.live"


def _notify_after_commit(session: Session, payload: dict[str, Any]) -> None:
    record.on_commit(session, lambda: signals.live_state_changed.send(LIVE_MESSAGE, payload=payload))


# --- small helpers ----------------------------------------------------------------------------------


def _local(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/Rome")).strftime(_DATE)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    """What the value looks like after a round trip through a JSON column."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def group_of(kind: str | None) -> str:
    """The breakdown group of an organisation kind: ETS, public bodies, others."""
    if kind == "ets":
        return "ets"
    if kind in PUBLIC_KINDS:
        return "pubblico"
    return "altri"


def get_round(session: Session, round_id: int, tavolo_id: int | None = None) -> VoteRound:
    vote = session.get(VoteRound, round_id)
    if vote is None or (tavolo_id is not None and vote.tavolo_id != tavolo_id):
        raise not_found(_("Votazione inesistente."))
    return vote


def rounds_of(session: Session, tavolo_id: int) -> list[VoteRound]:
    return list(session.scalars(select(VoteRound).where(VoteRound.tavolo_id == tavolo_id).order_by(VoteRound.id)))


def _lock(session: Session, round_id: int) -> VoteRound:
    """The round, re-read and locked: ballots, closing and tie-breaks of one round run one at a time
    (FOR UPDATE on PostgreSQL; on SQLite every write transaction is already exclusive)."""
    vote = session.scalar(
        select(VoteRound).where(VoteRound.id == round_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if vote is None:
        raise not_found(_("Votazione inesistente."))
    return vote


def _insert(session: Session, model):
    """INSERT with ON CONFLICT support for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def candidates(vote: VoteRound) -> list[str]:
    """The items as the counting methods see them: bisogno ids as strings, in ballot order."""
    return [str(item.bisogno_id) for item in vote.items]


# --- settings ---------------------------------------------------------------------------------------


def _method_settings(method: str, raw: Mapping[str, Any] | None) -> tuple[methods.Settings, dict[str, Any]]:
    """The settings object for the methods and its JSON form, or an Italian refusal."""
    if method not in methods.METHOD_NAMES:
        raise invalid(_("Metodo di voto sconosciuto: scegliere fra %(m)s.", m=", ".join(methods.METHOD_NAMES)))
    raw = dict(raw or {})
    unknown = sorted(set(raw) - _SETTING_KEYS[method])
    if unknown:
        raise invalid(_("Impostazione non prevista per il metodo «%(m)s»: %(k)s.", m=method, k=", ".join(unknown)))
    try:
        if method == "approval":
            obj: methods.Settings = methods.ApprovalSettings(k=raw.get("k"))
            return obj, {"k": obj.k}
        if method == "dot":
            obj = methods.DotSettings(points=raw.get("points", 10), max_per_item=raw.get("max_per_item"))
            return obj, {"points": obj.points, "max_per_item": obj.max_per_item}
        if method == "score":
            criteria = raw.get("criteria") or list(methods.DEFAULT_CRITERIA)
            weights = raw.get("weights")
            if not isinstance(criteria, list | tuple) or (weights is not None and not isinstance(weights, list | tuple)):
                raise methods.SettingsError("criteri e pesi vanno indicati come elenchi")
            obj = methods.ScoreSettings(criteria=tuple(criteria), weights=None if weights is None else tuple(weights))
            return obj, {"criteria": list(obj.criteria), "weights": [str(w) for w in obj.weights]}
        return methods.RankingSettings(), {}
    except methods.VotingError as exc:
        raise invalid(_("Impostazioni del metodo non valide: %(r)s.", r=str(exc))) from None


def method_settings(vote: VoteRound) -> methods.Settings:
    return _method_settings(vote.method, vote.settings)[0]


def _eligibility(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(DEFAULT_ELIGIBILITY))
    if unknown:
        raise invalid(_("Regola di ammissione al voto non prevista: %(k)s.", k=", ".join(unknown)))
    result = {**DEFAULT_ELIGIBILITY, **raw}
    for key in ("exclude_observers", "include_facilitators"):
        if not isinstance(result[key], bool):
            raise invalid(_("Regola di ammissione al voto non valida: «%(k)s» è vero o falso.", k=key))
    kinds = result["excluded_kinds"]
    if not isinstance(kinds, list | tuple) or any(k not in ORGANISATION_KINDS for k in kinds):
        raise invalid(_("Tipo di organizzazione da escludere non valido: scegliere fra %(k)s.",
                        k=", ".join(ORGANISATION_KINDS)))
    result["excluded_kinds"] = sorted(set(kinds))
    return result


def _check_time(value: Any, label: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise invalid(_("«%(f)s» deve essere una data e ora con fuso orario.", f=label))
    return value


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


def _items(session: Session, tavolo: Tavolo, ids: Any) -> list[Bisogno]:
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


def _configure(session: Session, vote: VoteRound, tavolo: Tavolo, cfg: dict[str, Any]) -> list[Bisogno]:
    """Validate the whole configuration, then apply it (a refusal leaves the round untouched)."""
    title = cfg.get("title")
    if not isinstance(title, str) or not title.strip():
        raise invalid(_("Il titolo della votazione è obbligatorio."))
    if len(title.strip()) > 300:
        raise invalid(_("Il titolo della votazione supera i 300 caratteri."))
    description = cfg.get("description") or ""
    if not isinstance(description, str) or len(description) > 20_000:
        raise invalid(_("La descrizione della votazione non è valida o è troppo lunga."))
    method = cfg.get("method")
    _obj, settings = _method_settings(method, cfg.get("settings"))
    unit = cfg.get("ballot_unit") or "person"
    if unit not in BALLOT_UNITS:
        raise invalid(_("Unità di voto non valida: una scheda per persona o per organizzazione."))
    flags = {}
    for key in ("secret", "partial_results", "conflict_excludes", "breakdown"):
        value = cfg.get(key)
        if not isinstance(value, bool):
            raise invalid(_("L'opzione «%(k)s» è vero o falso.", k=key))
        flags[key] = value
    if flags["secret"] and flags["partial_results"]:
        raise invalid(_("Con il voto segreto i risultati parziali non si mostrano: durante la votazione si vede "
                        "solo l'affluenza."))
    eligibility = _eligibility(cfg.get("eligibility"))
    seduta = None
    if cfg.get("seduta_id") is not None:
        seduta = session.get(Seduta, cfg["seduta_id"])
        if seduta is None or seduta.tavolo_id != tavolo.id:
            raise invalid(_("Seduta inesistente in questo tavolo."))
        if seduta.status == "chiusa":
            raise invalid(_("La seduta è chiusa: non si possono preparare votazioni per essa."))
    opens_at = _check_time(cfg.get("opens_at"), _("Apertura"))
    closes_at = _check_time(cfg.get("closes_at"), _("Chiusura"))
    if seduta is None and closes_at is None:
        raise invalid(_("Una votazione asincrona (fuori seduta) ha una data e ora di chiusura."))
    if opens_at and closes_at and closes_at <= opens_at:
        raise invalid(_("La votazione deve chiudersi dopo l'apertura."))
    bisogni = _items(session, tavolo, cfg.get("bisogni"))

    vote.title, vote.description = title.strip(), description
    vote.method, vote.settings, vote.ballot_unit = method, settings, unit
    vote.secret, vote.partial_results = flags["secret"], flags["partial_results"]
    vote.conflict_excludes, vote.breakdown = flags["conflict_excludes"], flags["breakdown"]
    vote.eligibility = eligibility
    vote.seduta_id = seduta.id if seduta else None
    vote.opens_at, vote.closes_at = opens_at, closes_at
    return bisogni


def _set_items(session: Session, vote: VoteRound, bisogni: list[Bisogno]) -> None:
    session.execute(delete(VoteRoundItem).where(VoteRoundItem.round_id == vote.id))
    session.expire(vote, ["items"])
    for position, b in enumerate(bisogni, start=1):
        session.add(VoteRoundItem(round_id=vote.id, bisogno_id=b.id, position=position, title=b.title))
    session.flush()
    session.expire(vote, ["items"])


# --- eligibility ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voter:
    """Who a ballot counts for: the key (person or organisation), who casts it, and their group."""

    key: str
    user_id: int
    organisation_id: int | None
    group: str


def _role_organisation(role: TavoloRole) -> Organisation | None:
    if role.organisation is not None:
        return role.organisation
    organisations = role.user.organisations if role.user else []
    return organisations[0] if organisations else None


def _voter_of_role(vote: VoteRound, role: TavoloRole) -> Voter | None:
    rules = {**DEFAULT_ELIGIBILITY, **(vote.eligibility or {})}
    if role.role == "observer" and rules["exclude_observers"]:
        return None
    if role.role == "facilitator" and not rules["include_facilitators"]:
        return None
    org = _role_organisation(role)
    if org is not None and org.kind in rules["excluded_kinds"]:
        return None
    if vote.ballot_unit == "organisation":
        if org is None:
            return None
        key = f"o:{org.id}"
    else:
        key = f"u:{role.user_id}"
    return Voter(key, role.user_id, org.id if org else None, group_of(org.kind if org else None))


def compute_electorate(session: Session, vote: VoteRound) -> dict[str, str]:
    """Voter key -> group, by the round's rules over the tavolo's current roles."""
    voters: dict[str, str] = {}
    roles = session.scalars(select(TavoloRole).where(TavoloRole.tavolo_id == vote.tavolo_id).order_by(TavoloRole.id))
    for role in roles:
        voter = _voter_of_role(vote, role)
        if voter is not None:
            voters.setdefault(voter.key, voter.group)
    return voters


def electorate(session: Session, vote: VoteRound) -> dict[str, str]:
    """The frozen electorate of an opened round; a preview for a draft."""
    if vote.electorate is not None:
        return dict(vote.electorate.get("voters", {}))
    return compute_electorate(session, vote)


def voter_for(session: Session, vote: VoteRound, user: User) -> Voter:
    """The voter ``user`` acts as in this round, or a 403 saying they may not vote."""
    role = permissions.tavolo_role(session, user, vote.tavolo_id)
    voter = _voter_of_role(vote, role) if role is not None else None
    frozen = vote.electorate.get("voters", {}) if vote.electorate is not None else None
    if voter is None or (frozen is not None and voter.key not in frozen):
        raise forbidden(_("Non sei fra gli aventi diritto al voto in questa votazione."))
    if frozen is not None:
        voter = Voter(voter.key, voter.user_id, voter.organisation_id, frozen[voter.key])
    return voter


def _has_voted(session: Session, vote: VoteRound, key: str) -> bool:
    return session.scalar(select(Participation.id).where(Participation.round_id == vote.id,
                                                         Participation.voter_key == key)) is not None


def turnout(session: Session, vote: VoteRound) -> dict[str, Any]:
    voted = session.scalar(select(func.count()).select_from(Participation)
                           .where(Participation.round_id == vote.id)) or 0
    eligible = len(electorate(session, vote))
    return {"voted": voted, "eligible": eligible,
            "percent": round(100 * voted / eligible, 1) if eligible else 0.0}


# --- serialisation ----------------------------------------------------------------------------------


def items_list(vote: VoteRound) -> list[dict[str, Any]]:
    return [{"bisogno_id": i.bisogno_id, "position": i.position, "title": i.title} for i in vote.items]


def round_dict(vote: VoteRound) -> dict[str, Any]:
    return {
        "id": vote.id,
        "tavolo_id": vote.tavolo_id,
        "seduta_id": vote.seduta_id,
        "title": vote.title,
        "description": vote.description or "",
        "method": vote.method,
        "method_version": methods.VERSIONS[vote.method],
        "settings": dict(vote.settings or {}),
        "ballot_unit": vote.ballot_unit,
        "secret": vote.secret,
        "replaceable": not vote.secret,
        "eligibility": {**DEFAULT_ELIGIBILITY, **(vote.eligibility or {})},
        "partial_results": vote.partial_results,
        "conflict_excludes": vote.conflict_excludes,
        "breakdown": vote.breakdown,
        "status": vote.status,
        "opens_at": _iso(vote.opens_at),
        "closes_at": _iso(vote.closes_at),
        "opened_at": _iso(vote.opened_at),
        "closed_at": _iso(vote.closed_at),
        "items": items_list(vote),
    }


def _names(session: Session, user_ids: Iterable[int | None], org_ids: Iterable[int | None]):
    users = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_([i for i in user_ids if i])))}
    orgs = {o.id: o.name for o in session.scalars(
        select(Organisation).where(Organisation.id.in_([i for i in org_ids if i])))}
    return users, orgs


def conflicts_list(session: Session, vote: VoteRound, with_names: bool = True) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.round_id == vote.id)
                                .order_by(ConflictDeclaration.declared_at, ConflictDeclaration.id)))
    users, orgs = _names(session, [r.user_id for r in rows], [r.organisation_id for r in rows])
    return [{
        "bisogno_id": r.bisogno_id,
        "person": users.get(r.user_id) if with_names else None,
        "organisation": orgs.get(r.organisation_id),
        "note": r.note,
        "declared_at": r.declared_at.isoformat(),
        "excludes": vote.conflict_excludes,
    } for r in rows]


def attributed_ballots(session: Session, vote: VoteRound, with_names: bool = True) -> list[dict[str, Any]]:
    """The ballots of an open (non-secret) round with who cast them, for the minutes."""
    rows = list(session.scalars(select(OpenBallot).where(OpenBallot.round_id == vote.id)))
    users, orgs = _names(session, [r.user_id for r in rows], [r.organisation_id for r in rows])
    out = [{
        "person": users.get(r.user_id) if with_names else None,
        "organisation": orgs.get(r.organisation_id),
        "group": r.org_group,
        "content": r.content,
        "cast_at": r.cast_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    } for r in rows]
    return sorted(out, key=lambda b: ((b["organisation"] or "").casefold(), (b["person"] or "").casefold()))


def participants(session: Session, vote: VoteRound) -> list[dict[str, Any]]:
    """Who voted (never how), in alphabetical order."""
    rows = list(session.scalars(select(Participation).where(Participation.round_id == vote.id)))
    users, orgs = _names(session, [r.user_id for r in rows], [r.organisation_id for r in rows])
    out = [{"person": users.get(r.user_id), "organisation": orgs.get(r.organisation_id)} for r in rows]
    return sorted(out, key=lambda p: ((p["organisation"] or "").casefold(), (p["person"] or "").casefold()))


# --- counting ---------------------------------------------------------------------------------------


def stored_ballots(session: Session, vote: VoteRound) -> list[tuple[str | None, dict]]:
    """(group, content) of every counted ballot, in a canonical order (sorted by content)."""
    if vote.secret:
        rows = session.execute(select(SecretBallot.org_group, SecretBallot.content)
                               .where(SecretBallot.round_id == vote.id)).all()
    else:
        rows = session.execute(select(OpenBallot.org_group, OpenBallot.content)
                               .where(OpenBallot.round_id == vote.id)).all()
    return sorted(((g, c) for g, c in rows), key=lambda row: (_canonical(row[1]), row[0] or ""))


def _tally(vote: VoteRound, contents: list[dict]) -> methods.Result:
    return methods.tally(vote.method, candidates(vote), contents, method_settings(vote))


def breakdown(vote: VoteRound, ballots: list[tuple[str | None, dict]]) -> dict[str, Any] | None:
    """Per organisation type: ballots and tally; in secret rounds small groups are suppressed."""
    if not vote.breakdown:
        return None
    by_group: dict[str, list[dict]] = {g: [] for g in GROUPS}
    for group, content in ballots:
        if group in by_group:
            by_group[group].append(content)
    suppressed: set[str] = set()
    if vote.secret:
        suppressed = {g for g, b in by_group.items() if 0 < len(b) < SUPPRESSION_THRESHOLD}
        shown = [g for g, b in by_group.items() if b and g not in suppressed]
        if len(suppressed) == 1 and shown:
            # The total minus the groups shown would give the suppressed one away.
            suppressed.add(min(shown, key=lambda g: (len(by_group[g]), g)))
    out: dict[str, Any] = {}
    for group in GROUPS:
        contents = by_group[group]
        entry: dict[str, Any] = {"ballots": len(contents), "suppressed": group in suppressed,
                                 "ranking": None, "scores": None}
        if contents and group not in suppressed:
            result = _tally(vote, contents)
            entry["ranking"], entry["scores"] = result.ranking, result.scores
        out[group] = entry
    return out


def compute_result(session: Session, vote: VoteRound) -> dict[str, Any]:
    """The full result from the stored ballots (what closing stores and a recount recomputes)."""
    ballots = stored_ballots(session, vote)
    result = _tally(vote, [content for _g, content in ballots])
    return _jsonable({
        "method": result.method,
        "version": result.version,
        "tally": result.to_dict(),
        "ballots": len(ballots),
        "turnout": turnout(session, vote),
        "breakdown": breakdown(vote, ballots),
    })


def partial_tally(session: Session, vote: VoteRound) -> dict[str, Any] | None:
    """The running tally of an open round, when the round shows partial results (never secret)."""
    if vote.status != "open" or not vote.partial_results or vote.secret:
        return None
    return _jsonable(_tally(vote, [c for _g, c in stored_ballots(session, vote)]).to_dict())


def ranking_rows(vote: VoteRound, tally: Mapping[str, Any] | None,
                 tie_break: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The ranking with places (ties share a place: 1, 2, 2, 4), titles and scores."""
    if not tally:
        return []
    titles = {str(i.bisogno_id): i.title for i in vote.items}
    groups = tie_break["ranking"] if tie_break else tally["ranking"]
    rows, place = [], 1
    for group in groups:
        for name in group:
            rows.append({"place": place, "bisogno_id": int(name), "title": titles.get(name, ""),
                         "score": tally["scores"].get(name), "tie": len(group) > 1})
        place += len(group)
    return rows


def live_payload(session: Session, vote: VoteRound) -> dict[str, Any]:
    """The small JSON pushed while a round is open: turnout, and the tally when it is visible."""
    payload = {"tavolo_id": vote.tavolo_id, "round_id": vote.id, "revision": vote.revision,
               "status": vote.status, "turnout": turnout(session, vote)}
    tally = partial_tally(session, vote)
    if tally is not None:
        payload["tally"] = {"ranking": tally["ranking"], "scores": tally["scores"]}
    return payload


# --- the draft --------------------------------------------------------------------------------------


def create_round(session: Session, actor: User, tavolo: Tavolo, title: str, method: str, bisogni: list[int], *,
                 settings: dict[str, Any] | None = None, seduta: Seduta | None = None, ballot_unit: str = "person",
                 secret: bool = False, eligibility: dict[str, Any] | None = None, partial_results: bool = False,
                 conflict_excludes: bool = True, breakdown: bool | None = None, opens_at: datetime | None = None,
                 closes_at: datetime | None = None, description: str = "",
                 op_id: str | None = None) -> tuple[VoteRound, record.TavoloEvent]:
    """A draft round on ``bisogni`` (ids of the tavolo's bisogni). ``breakdown`` defaults to on for
    open ballots and off for secret ones."""
    permissions.require(session, actor, "facilitate", tavolo.id)
    vote = VoteRound(tavolo_id=tavolo.id, created_by_id=actor.id, status="draft", revision=0, created_at=utcnow())
    cfg = {"title": title, "description": description, "method": method, "settings": settings,
           "bisogni": bisogni, "seduta_id": seduta.id if seduta is not None else None, "ballot_unit": ballot_unit,
           "secret": secret, "eligibility": eligibility, "partial_results": partial_results,
           "conflict_excludes": conflict_excludes, "breakdown": (not secret) if breakdown is None else breakdown,
           "opens_at": opens_at, "closes_at": closes_at}
    chosen = _configure(session, vote, tavolo, cfg)
    session.add(vote)
    session.flush()
    _set_items(session, vote, chosen)
    ev = record.append(session, tavolo.id, "vote.created", round_dict(vote), actor.id, op_id)
    return vote, ev


def update_round(session: Session, actor: User, vote: VoteRound, changes: dict[str, Any],
                 op_id: str | None = None) -> record.TavoloEvent:
    """Change a draft: ``changes`` holds any keys of :func:`round_config`."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = _lock(session, vote.id)
    if vote.status != "draft":
        raise conflict(_("La votazione è già stata aperta: le sue regole non si modificano più."))
    unknown = sorted(set(changes) - set(round_config(vote)))
    if unknown:
        raise invalid(_("Campo non previsto: %(k)s.", k=", ".join(unknown)))
    cfg = {**round_config(vote), **changes}
    tavolo = session.get(Tavolo, vote.tavolo_id)
    with session.no_autoflush:
        chosen = _configure(session, vote, tavolo, cfg)
    _set_items(session, vote, chosen)
    return record.append(session, vote.tavolo_id, "vote.updated", round_dict(vote), actor.id, op_id)


# --- opening ----------------------------------------------------------------------------------------


def open_round(session: Session, actor: User, vote: VoteRound, op_id: str | None = None,
               now: datetime | None = None) -> record.TavoloEvent:
    """Freeze the rules, the items' titles and the electorate, and start accepting ballots."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = _lock(session, vote.id)
    now = now or utcnow()
    if vote.status != "draft":
        raise conflict(_("La votazione è già aperta.") if vote.status == "open" else _("La votazione è chiusa."))
    if vote.seduta_id is not None:
        seduta = session.get(Seduta, vote.seduta_id)
        if seduta is None or seduta.status != "in_corso":
            raise conflict(_("La seduta di questa votazione non è in corso: avviala prima di aprire il voto."))
    if vote.closes_at is not None and vote.closes_at <= now:
        raise conflict(_("La data di chiusura (%(d)s) è già passata: correggila prima di aprire il voto.",
                         d=_local(vote.closes_at)))
    tavolo = session.get(Tavolo, vote.tavolo_id)
    chosen = _items(session, tavolo, [i.bisogno_id for i in vote.items])
    voters = compute_electorate(session, vote)
    if not voters:
        raise conflict(_("Con queste regole nessuno ha diritto di voto: rivedi gli aventi diritto."))
    for item, b in zip(vote.items, chosen, strict=True):
        item.title = b.title
    vote.electorate = {"voters": voters}
    vote.status, vote.opened_at = "open", now
    if vote.opens_at is None:
        vote.opens_at = now
    session.flush()
    payload = round_dict(vote) | {"turnout": turnout(session, vote)}
    return record.append(session, vote.tavolo_id, "vote.opened", payload, actor.id, op_id)


# --- ballots ----------------------------------------------------------------------------------------


def _check_window(vote: VoteRound, now: datetime) -> None:
    if vote.status == "draft":
        raise conflict(_("La votazione non è ancora aperta."))
    if vote.status == "closed" or (vote.closes_at is not None and now >= vote.closes_at):
        when = vote.closed_at or vote.closes_at
        message = (_("La votazione è chiusa dal %(d)s: la scheda non è stata registrata.", d=_local(when)) if when
                   else _("La votazione è chiusa: la scheda non è stata registrata."))
        raise Problem("vote_closed", message, 409)
    if vote.opens_at is not None and now < vote.opens_at:
        raise Problem("vote_not_open", _("La votazione apre il %(d)s: la scheda non è stata registrata.",
                                         d=_local(vote.opens_at)), 409)


def _normalise_ids(method: str, content: dict) -> dict:
    """Item ids given as numbers are read as the strings the methods use."""
    field = methods.BALLOT_FIELDS[method]
    value = content.get(field)

    def as_name(v):
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    if isinstance(value, list):
        value = [as_name(v) for v in value]
    elif isinstance(value, dict):
        value = {as_name(k): v for k, v in value.items()}
    else:
        return content
    return {**content, field: value}


def validate_content(session: Session, vote: VoteRound, voter: Voter, content: Any) -> dict:
    """The ballot normalised by the round's method, or a 422 naming what is wrong."""
    field = methods.BALLOT_FIELDS[vote.method]
    if not isinstance(content, dict):
        raise Problem("invalid_ballot", _("Scheda non valida: deve essere un oggetto con il campo «%(f)s».",
                                          f=field), 422)
    if "weight" in content:
        raise Problem("invalid_ballot", _("Scheda non valida: il campo «weight» non è ammesso."), 422)
    try:
        normalised = methods.validate_ballot(vote.method, candidates(vote), _normalise_ids(vote.method, content),
                                             method_settings(vote))
    except methods.BallotError as exc:
        raise Problem("invalid_ballot", _("Scheda non valida: %(r)s.", r=exc.reason), 422) from None
    except methods.VotingError as exc:
        raise Problem("invalid_ballot", _("Scheda non valida: %(r)s.", r=str(exc)), 422) from None
    normalised.pop("weight", None)
    if vote.conflict_excludes:
        declared = session.scalars(select(ConflictDeclaration.bisogno_id).where(
            ConflictDeclaration.round_id == vote.id, ConflictDeclaration.voter_key == voter.key)).all()
        titles = {i.bisogno_id: i.title for i in vote.items}
        for bisogno_id in sorted(set(declared)):
            if str(bisogno_id) in normalised[field]:
                raise Problem("conflict_of_interest", _(
                    "È stato dichiarato un interesse su «%(t)s»: la scheda non può esprimere voti su questa voce.",
                    t=titles.get(bisogno_id, bisogno_id)), 422)
    return normalised


def _receipt(vote: VoteRound, voter_key: str, *, replaced: bool, duplicate: bool,
             current: dict[str, Any] | None) -> dict[str, Any]:
    return {"round_id": vote.id, "voter": "organisation" if voter_key.startswith("o:") else "person",
            "secret": vote.secret, "replaced": replaced, "duplicate": duplicate,
            "turnout": current}


def cast_ballot(session: Session, actor: User, vote: VoteRound, content: Any, op_id: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Record ``actor``'s ballot (for themselves or their organisation, as the round says).

    Returns a receipt: ``{"round_id", "voter", "secret", "replaced", "duplicate", "turnout"}``.
    Exactly one ballot counts per voter key whatever the concurrency; a secret ballot is never
    replaced; an ``op_id`` already applied for this voter returns ``duplicate: true``.
    """
    permissions.require(session, actor, "view", vote.tavolo_id)
    vote = _lock(session, vote.id)
    now = now or utcnow()
    if op_id is not None:
        done = session.get(VoteOperation, (vote.id, op_id))
        if done is not None:
            voter = voter_for(session, vote, actor)
            if done.voter_key != voter.key:
                raise conflict(_("Identificativo di operazione già usato: riprova."))
            return _receipt(vote, voter.key, replaced=False, duplicate=True, current=turnout(session, vote))
    _check_window(vote, now)
    voter = voter_for(session, vote, actor)
    voted_before = _has_voted(session, vote, voter.key)
    if vote.secret and voted_before:
        message = (_("La tua organizzazione ha già votato: nel voto segreto la scheda non si può sostituire.")
                   if voter.key.startswith("o:") else
                   _("Hai già votato: nel voto segreto la scheda non si può sostituire."))
        raise Problem("already_voted", message, 409)
    normalised = validate_content(session, vote, voter, content)

    minute = now.replace(second=0, microsecond=0)
    participation = _insert(session, Participation).values(
        round_id=vote.id, voter_key=voter.key, user_id=voter.user_id, organisation_id=voter.organisation_id,
        voted_at=minute)
    if vote.secret:
        stored = session.scalar(participation.on_conflict_do_nothing(index_elements=["round_id", "voter_key"])
                                .returning(Participation.id))
        if stored is None:  # a concurrent ballot of the same voter won
            raise Problem("already_voted", _("Hai già votato: nel voto segreto la scheda non si può sostituire."), 409)
        _store_secret(session, vote, voter.group if vote.breakdown else None, normalised)
    else:
        session.execute(participation.on_conflict_do_update(
            index_elements=["round_id", "voter_key"], set_={"user_id": voter.user_id}))
        ballot = _insert(session, OpenBallot).values(
            round_id=vote.id, voter_key=voter.key, user_id=voter.user_id, organisation_id=voter.organisation_id,
            org_group=voter.group, content=normalised, cast_at=now, updated_at=now)
        session.execute(ballot.on_conflict_do_update(
            index_elements=["round_id", "voter_key"],
            set_={"user_id": voter.user_id, "organisation_id": voter.organisation_id, "content": normalised,
                  "updated_at": now}))
    if op_id is not None:
        session.add(VoteOperation(round_id=vote.id, op_id=op_id, voter_key=voter.key))
    vote.revision = (vote.revision or 0) + 1
    session.flush()
    payload = live_payload(session, vote)
    _notify_after_commit(session, payload)
    return _receipt(vote, voter.key, replaced=voted_before, duplicate=False, current=payload["turnout"])


def _store_secret(session: Session, vote: VoteRound, group: str | None, content: dict) -> None:
    """Add a secret ballot and rewrite all the round's secret ballots in a random order with fresh
    random ids, so neither row order nor row versions tell which ballot came when."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
    rows = [{"org_group": g, "content": c} for g, c in session.execute(
        select(SecretBallot.org_group, SecretBallot.content).where(SecretBallot.round_id == vote.id))]
    rows.append({"org_group": group, "content": content})
    session.execute(delete(SecretBallot).where(SecretBallot.round_id == vote.id))
    fresh = sorted(({"id": new_ballot_id(), "round_id": vote.id, **row} for row in rows), key=lambda r: r["id"])
    session.execute(insert(SecretBallot), fresh)


def my_status(session: Session, vote: VoteRound, user: User) -> dict[str, Any]:
    """What the voting page shows a person: may they vote, have they (or their organisation) voted,
    their declarations. Never the content of a secret ballot."""
    try:
        voter = voter_for(session, vote, user)
    except Problem:
        return {"round_id": vote.id, "eligible": False, "voted": False, "ballot": None, "declarations": []}
    ballot = None
    if not vote.secret:
        ballot = session.scalar(select(OpenBallot.content).where(OpenBallot.round_id == vote.id,
                                                                 OpenBallot.voter_key == voter.key))
    declared = session.scalars(select(ConflictDeclaration.bisogno_id).where(
        ConflictDeclaration.round_id == vote.id, ConflictDeclaration.voter_key == voter.key)).all()
    return {"round_id": vote.id, "eligible": True, "voter": "organisation" if voter.key.startswith("o:") else "person",
            "voted": _has_voted(session, vote, voter.key), "ballot": ballot, "declarations": sorted(set(declared))}


# --- conflict of interest ---------------------------------------------------------------------------


def declare_interest(session: Session, actor: User, vote: VoteRound, bisogno_id: int, note: str = "",
                     op_id: str | None = None, now: datetime | None = None
                     ) -> tuple[ConflictDeclaration, record.TavoloEvent]:
    """Record that ``actor`` has an interest in an item, before voting."""
    permissions.require(session, actor, "view", vote.tavolo_id)
    vote = _lock(session, vote.id)
    if vote.status == "closed":
        raise conflict(_("La votazione è chiusa."))
    if bisogno_id not in {i.bisogno_id for i in vote.items}:
        raise invalid(_("La voce indicata non è fra quelle in votazione."))
    if not isinstance(note, str) or len(note.strip()) > NOTE_LIMIT:
        raise invalid(_("La nota supera i %(n)s caratteri.", n=NOTE_LIMIT))
    voter = voter_for(session, vote, actor)
    if _has_voted(session, vote, voter.key):
        raise conflict(_("La scheda è già stata espressa: l'interesse va dichiarato prima del voto."))
    existing = session.scalar(select(ConflictDeclaration.id).where(
        ConflictDeclaration.round_id == vote.id, ConflictDeclaration.bisogno_id == bisogno_id,
        ConflictDeclaration.user_id == actor.id))
    if existing is not None:
        raise conflict(_("Hai già dichiarato un interesse su questa voce."))
    declaration = ConflictDeclaration(round_id=vote.id, bisogno_id=bisogno_id, user_id=actor.id,
                                      organisation_id=voter.organisation_id, voter_key=voter.key,
                                      note=note.strip(), declared_at=now or utcnow())
    session.add(declaration)
    session.flush()
    title = next((i.title for i in vote.items if i.bisogno_id == bisogno_id), "")
    users, orgs = _names(session, [actor.id], [voter.organisation_id])
    payload = {"round_id": vote.id, "bisogno_id": bisogno_id, "title": title, "person": users.get(actor.id),
               "organisation": orgs.get(voter.organisation_id), "note": declaration.note,
               "excludes": vote.conflict_excludes, "declared_at": declaration.declared_at.isoformat()}
    return declaration, record.append(session, vote.tavolo_id, "vote.interest_declared", payload, actor.id, op_id)


# --- closing ----------------------------------------------------------------------------------------


def _closing_payload(session: Session, vote: VoteRound) -> dict[str, Any]:
    result = vote.result or {}
    payload = round_dict(vote) | {
        "revision": vote.revision,
        "result": result,
        "ranking": ranking_rows(vote, result.get("tally")),
        "turnout": result.get("turnout"),
        "conflicts": conflicts_list(session, vote),
        "participants": participants(session, vote),
    }
    if not vote.secret:
        payload["ballots"] = attributed_ballots(session, vote)
    return payload


def _close(session: Session, vote: VoteRound, actor_id: int | None, op_id: str | None,
           now: datetime) -> record.TavoloEvent:
    vote.result = compute_result(session, vote) | {"computed_at": now.isoformat()}
    vote.status, vote.closed_at = "closed", now
    session.flush()
    return record.append(session, vote.tavolo_id, "vote.closed", _closing_payload(session, vote), actor_id, op_id)


def close_round(session: Session, actor: User, vote: VoteRound, op_id: str | None = None,
                now: datetime | None = None) -> record.TavoloEvent:
    """Stop accepting ballots, count them and store the result (method and version included)."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = _lock(session, vote.id)
    if vote.status != "open":
        raise conflict(_("La votazione non è aperta.") if vote.status == "draft" else _("La votazione è già chiusa."))
    return _close(session, vote, actor.id, op_id, now or utcnow())


def close_if_due(session: Session, vote: VoteRound, now: datetime | None = None) -> record.TavoloEvent | None:
    """Close an open round whose closing time has passed (nobody's action: actor None)."""
    now = now or utcnow()
    if vote.status != "open" or vote.closes_at is None or vote.closes_at > now:
        return None
    vote = _lock(session, vote.id)
    if vote.status != "open" or vote.closes_at is None or vote.closes_at > now:
        return None
    return _close(session, vote, None, None, now)


def close_due_rounds(session: Session, now: datetime | None = None) -> list[record.TavoloEvent]:
    """Close every open round past its closing time; meant to run periodically (caller commits)."""
    now = now or utcnow()
    due = session.scalars(select(VoteRound).where(VoteRound.status == "open", VoteRound.closes_at.is_not(None),
                                                  VoteRound.closes_at <= now).order_by(VoteRound.id)).all()
    return [ev for vote in due if (ev := close_if_due(session, vote, now)) is not None]


# --- tie-break --------------------------------------------------------------------------------------


def _stored_result(vote: VoteRound) -> methods.Result:
    tally = vote.result["tally"]
    return methods.Result(method=tally["method"], version=tally["version"], ranking=tally["ranking"],
                          scores=tally["scores"], extra=tally.get("extra") or {})


def tie_break(session: Session, actor: User, vote: VoteRound, seed: str | None = None, op_id: str | None = None,
              now: datetime | None = None) -> record.TavoloEvent:
    """Split the ties of a closed round's ranking by the deterministic draw of ``methods.break_ties``
    (seed given by the facilitator, e.g. drawn in the room, or random); recorded once."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = _lock(session, vote.id)
    if vote.status != "closed":
        raise conflict(_("Lo spareggio si fa dopo la chiusura della votazione."))
    if vote.tie_break:
        raise conflict(_("Lo spareggio di questa votazione è già stato fatto."))
    if seed is None:
        seed = secrets.token_hex(8)
    if not isinstance(seed, str) or not seed.strip() or len(seed) > 100:
        raise invalid(_("Il seme dello spareggio è un testo da 1 a 100 caratteri."))
    result = _stored_result(vote)
    groups = [g for g in result.ranking if len(g) > 1]
    if not groups:
        raise conflict(_("Non ci sono pari merito da spareggiare."))
    broken = methods.break_ties(result, seed)
    vote.tie_break = _jsonable({**broken.extra["tie_break"], "ranking": broken.ranking, "by": actor.id,
                                "at": (now or utcnow()).isoformat()})
    session.flush()
    payload = {"round_id": vote.id, "tie_break": vote.tie_break,
               "ranking": ranking_rows(vote, vote.result["tally"], vote.tie_break)}
    return record.append(session, vote.tavolo_id, "vote.tie_break", payload, actor.id, op_id)


# --- reading results --------------------------------------------------------------------------------


def results(session: Session, vote: VoteRound, viewer: User | None) -> dict[str, Any]:
    """Everything a results page shows, as the viewer may see it.

    While open: turnout (and the running tally if the round shows partial results). Closed: the
    stored tally with ranking, per-item totals, turnout against the electorate, breakdown by
    organisation type (suppressed where small in secret rounds), declared conflicts, the tie-break
    if any, and — for open ballots — the attributed ballots. Outsiders reading a published round
    see organisations, not people's names.
    """
    audience = voting_permissions.may_read(session, vote, viewer)
    names = audience == "member"
    closed = vote.status == "closed"
    stored = vote.result if closed else None
    tally = stored["tally"] if stored else partial_tally(session, vote)
    return {
        "round": round_dict(vote),
        "final": closed,
        "turnout": stored["turnout"] if stored else turnout(session, vote),
        "ballots_counted": stored["ballots"] if stored else None,
        "tally": tally,
        "ranking": ranking_rows(vote, tally, vote.tie_break if closed else None),
        "breakdown": stored["breakdown"] if stored else None,
        "tie_break": vote.tie_break if closed else None,
        "conflicts": conflicts_list(session, vote, with_names=names),
        "ballots": attributed_ballots(session, vote, with_names=names) if closed and not vote.secret else None,
    }


def anonymised_ballots(session: Session, vote: VoteRound) -> dict[str, Any]:
    """A closed round's ballots in the tally-file format, sorted by content (no ids, no groups), so the
    published result can be re-counted with ``tavoli votes tally``."""
    if vote.status != "closed":
        raise Problem("not_closed", _("La votazione non è ancora chiusa: le schede si pubblicano dopo la chiusura."),
                      409)
    ballots = [content for _g, content in stored_ballots(session, vote)]
    options = {key: value for key, value in (vote.settings or {}).items() if value is not None}
    return {"round_id": vote.id, "method": vote.method, "version": methods.VERSIONS[vote.method],
            "settings": options, "candidates": candidates(vote), "ballots": ballots,
            "titles": {str(i.bisogno_id): i.title for i in vote.items}}


def votes_snapshot(session: Session, tavolo: Tavolo) -> dict[str, Any]:
    """The rounds a reconnecting client needs: drafts and open ones with turnout, and those closed
    during the live seduta with their ranking."""
    from workspace.tavoli.service import live_seduta

    seduta = live_seduta(session, tavolo.id)
    out = []
    for vote in rounds_of(session, tavolo.id):
        if vote.status == "closed" and (seduta is None or vote.seduta_id != seduta.id):
            continue
        entry = round_dict(vote) | {"revision": vote.revision}
        if vote.status == "closed":
            entry["turnout"] = vote.result["turnout"]
            entry["ranking"] = ranking_rows(vote, vote.result["tally"], vote.tie_break)
        else:
            entry["turnout"] = turnout(session, vote)
            tally = partial_tally(session, vote)
            if tally is not None:
                entry["tally"] = {"ranking": tally["ranking"], "scores": tally["scores"]}
        out.append(entry)
    return {"votazioni": out}


# --- recount ----------------------------------------------------------------------------------------


def _differences(stored: Any, fresh: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        out = []
        for key in sorted(set(stored) | set(fresh), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in fresh:
                out.append({"field": where, "stored": stored.get(key), "recomputed": fresh.get(key)})
            else:
                out.extend(_differences(stored[key], fresh[key], where))
        return out
    if stored != fresh:
        return [{"field": path, "stored": stored, "recomputed": fresh}]
    return []


def recount(session: Session, vote: VoteRound) -> dict[str, Any]:
    """Recompute a closed round from its stored ballots and compare with the stored result.

    ``match`` is False when anything differs: tally, ballots counted, turnout, breakdown, the
    tie-break's ranking, the method version, or the number of ballots against participations.
    """
    if vote.status != "closed" or not vote.result:
        raise Problem("not_closed", _("La votazione non è chiusa: non c'è un risultato da ricontare."), 409)
    stored = {k: v for k, v in vote.result.items() if k != "computed_at"}
    fresh = compute_result(session, vote)
    differences = _differences(stored, fresh)
    participations = fresh["turnout"]["voted"]
    if fresh["ballots"] != participations:
        differences.append({"field": "ballots_vs_participation", "stored": participations,
                            "recomputed": fresh["ballots"]})
    if vote.tie_break:
        tally = fresh["tally"]
        again = methods.break_ties(methods.Result(tally["method"], tally["version"], tally["ranking"],
                                                  tally["scores"], tally.get("extra") or {}), vote.tie_break["seed"])
        if _jsonable(again.ranking) != vote.tie_break["ranking"]:
            differences.append({"field": "tie_break.ranking", "stored": vote.tie_break["ranking"],
                                "recomputed": _jsonable(again.ranking)})
    return {
        "round_id": vote.id,
        "method": vote.method,
        "stored_version": vote.result.get("version"),
        "version": methods.VERSIONS[vote.method],
        "ballots": fresh["ballots"],
        "match": not differences,
        "differences": differences,
    }
