"""Ballots: cast, validate, keep secret ones secret; what a voter may see of their own.

The whole ballot path is in this file (the round's rules, electorate and counting are read from
``rules``, ``electorate`` and ``payloads``), so work on how ballots are stored touches this file only.

Rules
-----
- One counted ballot per voter key, enforced by unique constraints on (round, voter key) and by
  serialising the ballots of a round (``rounds.lock_round``: row lock on PostgreSQL, ``BEGIN
  IMMEDIATE`` on SQLite). In an open round a later ballot of the same voter (for an organisation:
  of any of its delegates) replaces the earlier one, through an ``INSERT ... ON CONFLICT DO
  UPDATE``. A client ``op_id`` already applied is acknowledged again without being applied twice.
- A ballot is validated completely before anything is written; before the opening time, after the
  closing time or after closing it is refused with a clear message, and nothing is stored.
- A voter who declared an interest in an item may not give it anything when the round says so
  (approval, points, scores, place in a ranking; with Borda and Schulze an unranked item counts
  as ranked below the others, so the exclusion can only work against it).
- A ballot appends no numbered event (one broadcast per ballot, and for secret rounds a per-voter
  timestamped record): after commit it sends ``signals.live_state_changed`` with the round's
  turnout (``payloads.live_payload``), which the live channel pushes coalesced.

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
   (otherwise it could be recovered as total minus the rest): ``results.breakdown``.
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

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workspace import record, signals
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.problems import Problem, conflict
from workspace.tavoli import permissions
from workspace.voting import methods
from workspace.voting.electorate import Voter, find_voter, has_voted, turnout, voter_for
from workspace.voting.labels import when
from workspace.voting.models import (
    ConflictDeclaration,
    OpenBallot,
    Participation,
    SecretBallot,
    VoteOperation,
    VoteRound,
    new_ballot_id,
)
from workspace.voting.payloads import LIVE_MESSAGE, live_payload
from workspace.voting.rounds import lock_round
from workspace.voting.rules import candidates, method_settings


def _notify_after_commit(session: Session, payload: dict[str, Any]) -> None:
    def notify() -> None:
        signals.live_state_changed.send(LIVE_MESSAGE, payload=payload)

    record.on_commit(session, notify)


def _upsert(session: Session, model: type) -> Any:
    """INSERT with ON CONFLICT support for the session's database."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def _check_window(vote: VoteRound, now: datetime) -> None:
    if vote.status == "draft":
        raise conflict(_("La votazione non è ancora aperta."))
    if vote.status == "closed" or vote.past_closing(now):
        moment = vote.closed_at or vote.closes_at
        message = (_("La votazione è chiusa dal %(d)s: la scheda non è stata registrata.", d=when(moment)) if moment
                   else _("La votazione è chiusa: la scheda non è stata registrata."))
        raise Problem("vote_closed", message, 409)
    if vote.opens_at is not None and now < vote.opens_at:
        raise Problem("vote_not_open", _("La votazione apre il %(d)s: la scheda non è stata registrata.",
                                         d=when(vote.opens_at)), 409)


def _normalise_ids(method: str, content: dict[str, Any]) -> dict[str, Any]:
    """Item ids given as numbers are read as the strings the methods use."""
    field = methods.BALLOT_FIELDS[method]
    value = content.get(field)

    def as_name(v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    if isinstance(value, list):
        value = [as_name(v) for v in value]
    elif isinstance(value, dict):
        value = {as_name(k): v for k, v in value.items()}
    else:
        return content
    return {**content, field: value}


def validate_content(session: Session, vote: VoteRound, voter: Voter, content: Any) -> dict[str, Any]:
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


def _receipt(vote: VoteRound, voter: Voter, *, replaced: bool, duplicate: bool,
             current: dict[str, Any] | None) -> dict[str, Any]:
    return {"round_id": vote.id, "voter": voter.unit, "secret": vote.secret, "replaced": replaced,
            "duplicate": duplicate, "turnout": current}


def cast_ballot(session: Session, actor: User, vote: VoteRound, content: Any, op_id: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Record ``actor``'s ballot (for themselves or their organisation, as the round says).

    Returns a receipt: ``{"round_id", "voter", "secret", "replaced", "duplicate", "turnout"}``.
    Exactly one ballot counts per voter key whatever the concurrency; a secret ballot is never
    replaced; an ``op_id`` already applied for this voter returns ``duplicate: true``.
    """
    permissions.require(session, actor, "view", vote.tavolo_id)
    vote = lock_round(session, vote.id)
    now = now or utcnow()
    if op_id is not None:
        done = session.get(VoteOperation, (vote.id, op_id))
        if done is not None:
            voter = voter_for(session, vote, actor)
            if done.voter_key != voter.key:
                raise conflict(_("Identificativo di operazione già usato: riprova."))
            return _receipt(vote, voter, replaced=False, duplicate=True, current=turnout(session, vote))
    _check_window(vote, now)
    voter = voter_for(session, vote, actor)
    voted_before = has_voted(session, vote, voter.key)
    if vote.secret and voted_before:
        message = (_("La tua organizzazione ha già votato: nel voto segreto la scheda non si può sostituire.")
                   if voter.unit == "organisation" else
                   _("Hai già votato: nel voto segreto la scheda non si può sostituire."))
        raise Problem("already_voted", message, 409)
    normalised = validate_content(session, vote, voter, content)

    minute = now.replace(second=0, microsecond=0)
    participation = _upsert(session, Participation).values(
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
        ballot = _upsert(session, OpenBallot).values(
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
    return _receipt(vote, voter, replaced=voted_before, duplicate=False, current=payload["turnout"])


def _store_secret(session: Session, vote: VoteRound, group: str | None, content: dict[str, Any]) -> None:
    """Add a secret ballot and rewrite all the round's secret ballots in a random order with fresh
    random ids, so neither row order nor row versions tell which ballot came when."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
    rows: list[dict[str, Any]] = [{"org_group": g, "content": c} for g, c in session.execute(
        select(SecretBallot.org_group, SecretBallot.content).where(SecretBallot.round_id == vote.id))]
    rows.append({"org_group": group, "content": content})
    session.execute(delete(SecretBallot).where(SecretBallot.round_id == vote.id))
    fresh = sorted(({"id": new_ballot_id(), "round_id": vote.id, **row} for row in rows), key=lambda r: r["id"])
    session.execute(insert(SecretBallot), fresh)


def my_status(session: Session, vote: VoteRound, user: User) -> dict[str, Any]:
    """What the voting page shows a person: may they vote, have they (or their organisation) voted,
    their declarations. Never the content of a secret ballot."""
    voter = find_voter(session, vote, user)
    if voter is None:
        return {"round_id": vote.id, "eligible": False, "voted": False, "ballot": None, "declarations": []}
    ballot = None
    if not vote.secret:
        ballot = session.scalar(select(OpenBallot.content).where(OpenBallot.round_id == vote.id,
                                                                 OpenBallot.voter_key == voter.key))
    declared = session.scalars(select(ConflictDeclaration.bisogno_id).where(
        ConflictDeclaration.round_id == vote.id, ConflictDeclaration.voter_key == voter.key)).all()
    return {"round_id": vote.id, "eligible": True, "voter": voter.unit, "voted": has_voted(session, vote, voter.key),
            "ballot": ballot, "declarations": sorted(set(declared))}
