"""Ballots: cast, validate, keep secret ones secret, and take a burst of them; what a voter may see
of their own.

The ballot path is this file and ``box`` (the pool, the mixer and the seal of secret rounds); the
round's rules, electorate and counting are read from ``rules``, ``electorate`` and ``payloads``.

Rules
-----
- One counted ballot per voter key, enforced by unique constraints on (round, voter key) and by
  serialising the writes of a round (``rounds.lock_round``: row lock on PostgreSQL, the database's
  single writer on SQLite). In an open round a later ballot of the same voter (for an organisation:
  of any of its delegates) replaces the earlier one. A secret ballot is never replaced: anything
  stored that could find it again would be a link. A client ``op_id`` already applied is
  acknowledged again (``duplicate``) without being applied twice.
- A ballot is validated completely before anything is written; before the opening time, after the
  closing time or after closing it is refused with a clear message, and nothing is stored.
- A voter who declared an interest in an item may not give it anything when the round says so
  (approval, points, scores, place in a ranking; with Borda and Schulze an unranked item counts
  as ranked below the others, so the exclusion can only work against it).
- A ballot appends no numbered event (one broadcast per ballot, and for secret rounds a per-voter
  timestamped record): after commit it sends ``signals.live_state_changed`` with the round's
  turnout (``payloads.live_payload``), which the live channel pushes coalesced.

Secret ballots (the model, the adversary and the limits: docs/secret-ballot.md)
------------------------------------------------------------------------------
A secret ballot goes into the round's mixing pool in the same transaction as its participation
(which has a random key and no time); the ballot box is filled only by the mixer when the round
closes (``box.mix``), and the storage is then sealed (``box.seal``). Partial tallies are refused for
secret rounds; the breakdown by organisation type is off by default and suppresses groups under 5
ballots (``results.breakdown``); published ballots are sorted by content.

A burst: group commit
---------------------
Every ballot of a round is written under the round's lock, so ballots arriving together queue for
it. ``submit`` (the live channel's ``vote.cast``) does not make each one take the lock and commit
on its own: the first to arrive becomes the *leader* and writes every ballot waiting at that moment
(up to ``MAX_BATCH``) in one transaction — with set-wise reads and inserts (``cast_many``) — then
acknowledges each, and hands the lead to the first ballot that arrived meanwhile. Batches go through
a connection of the committer's own (a leader never queues for a pooled connection behind the
submitters it writes for). Waiting uses
``threading`` primitives, which gevent's monkey-patching makes cooperative, so it works in threading
mode and under gevent alike; nobody waits while holding a transaction. One bad ballot is refused
alone; if the batch's transaction itself fails, its ballots are written again one by one.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from workspace import record, signals
from workspace.accounts.models import User
from workspace.db import make_engine, utcnow
from workspace.extensions import socketio
from workspace.i18n import gettext as _
from workspace.problems import Problem, conflict, not_found
from workspace.tavoli import permissions
from workspace.voting import box, methods
from workspace.voting.electorate import (
    Voter,
    find_voter,
    has_voted,
    not_a_voter,
    roles_and_voters,
    turnout,
)
from workspace.voting.labels import when
from workspace.voting.models import (
    ConflictDeclaration,
    OpenBallot,
    Participation,
    VoteOperation,
    VoteRound,
    new_ballot_id,
)
from workspace.voting.payloads import LIVE_MESSAGE, live_payload
from workspace.voting.rounds import lock_round
from workspace.voting.rules import candidates, method_settings

log = logging.getLogger(__name__)

#: Ballots written in one transaction at most (the rest wait for the next one, a few ms later).
MAX_BATCH = 100


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
    declared: set[int] = set()
    if vote.conflict_excludes:
        declared = set(session.scalars(select(ConflictDeclaration.bisogno_id).where(
            ConflictDeclaration.round_id == vote.id, ConflictDeclaration.voter_key == voter.key)))
    return _validate(vote, content, declared)


def _validate(vote: VoteRound, content: Any, declared: set[int]) -> dict[str, Any]:
    """``validate_content`` with the voter's declared interests already read (``declared``)."""
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
    if vote.conflict_excludes and declared:
        titles = {i.bisogno_id: i.title for i in vote.items}
        for bisogno_id in sorted(declared):
            if str(bisogno_id) in normalised[field]:
                raise Problem("conflict_of_interest", _(
                    "È stato dichiarato un interesse su «%(t)s»: la scheda non può esprimere voti su questa voce.",
                    t=titles.get(bisogno_id, bisogno_id)), 422)
    return normalised


def _receipt(vote: VoteRound, voter: Voter, *, replaced: bool, duplicate: bool,
             current: dict[str, Any] | None) -> dict[str, Any]:
    return {"round_id": vote.id, "voter": voter.unit, "secret": vote.secret, "replaced": replaced,
            "duplicate": duplicate, "turnout": current}


# --- casting: one ballot, or all those waiting at once ------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A ballot handed in: by whom, for which round (of which tavolo, when the client named one),
    what, with which client operation id, and the language to refuse it in."""

    user_id: int
    round_id: int
    content: Any
    op_id: str | None = None
    tavolo_id: int | None = None
    locale: str | None = None


#: What became of a submission: its receipt, or the refusal (a Problem), or an internal failure.
Outcome = dict[str, Any] | Exception


def cast_ballot(session: Session, actor: User, vote: VoteRound, content: Any, op_id: str | None = None,
                now: datetime | None = None) -> dict[str, Any]:
    """Record ``actor``'s ballot (for themselves or their organisation, as the round says), in the
    caller's transaction.

    Returns a receipt: ``{"round_id", "voter", "secret", "replaced", "duplicate", "turnout"}``.
    Exactly one ballot counts per voter key whatever the concurrency; a secret ballot is never
    replaced; an ``op_id`` already applied for this voter returns ``duplicate: true``.
    """
    (outcome,) = cast_many(session, [Submission(actor.id, vote.id, content, op_id)], now)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@contextmanager
def _in_language(locale: str | None, current: str | None = None) -> Iterator[None]:
    """Refusals in the submitter's language (the leader of a batch may speak another); ``current``
    is the language in force, when known."""
    if locale and locale != (current or str(get_locale())):
        with force_locale(locale):
            yield
    else:
        yield


def cast_many(session: Session, submissions: list[Submission], now: datetime | None = None) -> list[Outcome]:
    """Record several ballots in the caller's transaction, in the order given; one outcome each.

    The same rules as one by one (a later submission sees the earlier ones), with set-wise reads
    and writes per round: its lock, people, roles, earlier participations, operation ids and
    declared interests are read once, and the new rows inserted together. A refused submission
    writes nothing and leaves the others alone. Nothing may be written before all checks pass:
    an error half-way would spoil the whole transaction."""
    now = now or utcnow()
    outcomes: list[Outcome | None] = [None] * len(submissions)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({s.user_id for s in submissions})))}
    by_round: dict[int, list[int]] = {}
    for index, submission in enumerate(submissions):
        by_round.setdefault(submission.round_id, []).append(index)
    for round_id in sorted(by_round):  # rounds locked in a fixed order: two batches never deadlock
        _cast_in_round(session, round_id, [(i, submissions[i]) for i in by_round[round_id]], users, now, outcomes)
    return [o if o is not None else RuntimeError("submission not handled") for o in outcomes]


@dataclass
class _Accepted:
    index: int
    voter: Voter
    content: dict[str, Any]
    replaced: bool
    op_id: str | None


def _cast_in_round(session: Session, round_id: int, items: list[tuple[int, Submission]], users: dict[int, User],
                   now: datetime, outcomes: list[Outcome | None]) -> None:
    try:
        vote = lock_round(session, round_id)
    except Problem:
        for index, submission in items:
            with _in_language(submission.locale):
                outcomes[index] = not_found(_("Votazione inesistente."))
        return
    language = str(get_locale())
    people = roles_and_voters(session, vote, {s.user_id for _i, s in items})  # read under the lock
    allowed = []
    for index, submission in items:
        with _in_language(submission.locale, language):
            try:
                if submission.tavolo_id is not None and submission.tavolo_id != vote.tavolo_id:
                    raise not_found(_("Votazione inesistente."))
                role = people.get(submission.user_id, (None, None))[0]
                if role not in permissions.RULES["view"]:  # admins pass, anyone else is refused
                    permissions.require(session, users.get(submission.user_id), "view", vote.tavolo_id)
                allowed.append((index, submission))
            except Problem as problem:
                outcomes[index] = problem
    if not allowed:
        return
    voters = {s.user_id: people.get(s.user_id, (None, None))[1] for _i, s in allowed}
    keys = {v.key for v in voters.values() if v is not None}
    op_ids = {s.op_id for _i, s in allowed if s.op_id is not None}
    applied = {op: key for op, key in session.execute(select(VoteOperation.op_id, VoteOperation.voter_key).where(
        VoteOperation.round_id == round_id, VoteOperation.op_id.in_(op_ids)))} if op_ids else {}
    voted = set(session.scalars(select(Participation.voter_key).where(
        Participation.round_id == round_id, Participation.voter_key.in_(keys)))) if keys else set()
    declared: dict[str, set[int]] = {}
    if vote.conflict_excludes and keys:
        for key, bisogno_id in session.execute(select(ConflictDeclaration.voter_key, ConflictDeclaration.bisogno_id)
                                               .where(ConflictDeclaration.round_id == round_id,
                                                      ConflictDeclaration.voter_key.in_(keys))):
            declared.setdefault(key, set()).add(bisogno_id)
    current: dict[str, Any] | None = None
    accepted: list[_Accepted] = []
    duplicates: list[tuple[int, Voter]] = []
    for index, submission in allowed:
        voter = voters[submission.user_id]
        with _in_language(submission.locale, language):
            try:
                done = applied.get(submission.op_id) if submission.op_id is not None else None
                if done is not None:
                    if voter is None:
                        raise not_a_voter()
                    if done != voter.key:
                        raise conflict(_("Identificativo di operazione già usato: riprova."))
                    duplicates.append((index, voter))
                    continue
                _check_window(vote, now)
                if voter is None:
                    raise not_a_voter()
                voted_before = voter.key in voted
                if vote.secret and voted_before:
                    raise Problem("already_voted", _(
                        "La tua organizzazione ha già votato: nel voto segreto la scheda non si può sostituire.")
                        if voter.unit == "organisation" else
                        _("Hai già votato: nel voto segreto la scheda non si può sostituire."), 409)
                content = _validate(vote, submission.content, declared.get(voter.key, set()))
            except Problem as problem:
                outcomes[index] = problem
                continue
        voted.add(voter.key)
        if submission.op_id is not None:
            applied[submission.op_id] = voter.key
        accepted.append(_Accepted(index, voter, content, voted_before, submission.op_id))
    if accepted:
        _write(session, vote, accepted, now)
        vote.revision = (vote.revision or 0) + len(accepted)
        session.flush()
        payload = live_payload(session, vote)
        _notify_after_commit(session, payload)
        current = payload["turnout"]
    elif duplicates:
        current = turnout(session, vote)
    for item in accepted:
        outcomes[item.index] = _receipt(vote, item.voter, replaced=item.replaced, duplicate=False, current=current)
    for index, voter in duplicates:
        outcomes[index] = _receipt(vote, voter, replaced=False, duplicate=True, current=current)


def _write(session: Session, vote: VoteRound, accepted: list[_Accepted], now: datetime) -> None:
    """The rows of the accepted ballots. Secret: participations (random keys, no time) and the pool,
    each in a random order. Open: participations and attributed ballots, the last of each voter."""
    if vote.secret:
        session.execute(insert(Participation), box.shuffled([
            {"id": new_ballot_id(), "round_id": vote.id, "voter_key": a.voter.key, "user_id": a.voter.user_id,
             "organisation_id": a.voter.organisation_id, "voted_at": None} for a in accepted]))
        box.pool(session, vote.id, [(a.voter.group if vote.breakdown else None, a.content) for a in accepted])
    else:
        minute = now.replace(second=0, microsecond=0)
        last = {a.voter.key: a for a in accepted}  # an organisation's later delegate replaces the earlier
        participation = _upsert(session, Participation)
        session.execute(participation.on_conflict_do_update(
            index_elements=["round_id", "voter_key"], set_={"user_id": participation.excluded.user_id}), [
            {"id": new_ballot_id(), "round_id": vote.id, "voter_key": a.voter.key, "user_id": a.voter.user_id,
             "organisation_id": a.voter.organisation_id, "voted_at": minute} for a in last.values()])
        ballot = _upsert(session, OpenBallot)
        session.execute(ballot.on_conflict_do_update(
            index_elements=["round_id", "voter_key"],
            set_={"user_id": ballot.excluded.user_id, "organisation_id": ballot.excluded.organisation_id,
                  "content": ballot.excluded.content, "updated_at": ballot.excluded.updated_at}), [
            {"round_id": vote.id, "voter_key": a.voter.key, "user_id": a.voter.user_id,
             "organisation_id": a.voter.organisation_id, "org_group": a.voter.group, "content": a.content,
             "cast_at": now, "updated_at": now} for a in last.values()])
    operations = [{"round_id": vote.id, "op_id": a.op_id, "voter_key": a.voter.key} for a in accepted if a.op_id]
    if operations:
        session.execute(insert(VoteOperation), operations)


# --- group commit --------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Waiting:
    submission: Submission
    ready: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


class _Committer:
    """The ballots waiting to be written, whether one of their submitters is writing a batch, and the
    engine batches are written through: one of the committer's own, so a leader never queues for a
    pooled connection behind the very submitters it is about to write for."""

    def __init__(self, url: str) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # a ballot joined the queue, or a batch left it
        self.queue: deque[_Waiting] = deque()
        self.leading = False
        self.url = url
        self.engine: Engine | None = None
        self.batches = self.written = self.largest = 0

    def session_for(self, caller: Session) -> Session:
        """Where a batch is written: the caller's session when its caller handed it a connection
        (the transaction is theirs: a test's, say), otherwise a session of the committer's engine."""
        if isinstance(caller.get_bind(), Connection):
            return caller
        if self.engine is None:
            self.engine = make_engine(self.url)
        return Session(bind=self.engine, expire_on_commit=False)


_EXT = "tavoli_ballots"


def submit(session: Session, submission: Submission) -> dict[str, Any]:
    """Hand a ballot in together with whoever else is handing one in right now, and wait for it to be
    committed; the receipt, or the refusal raised. ``session`` is the caller's (its transaction, if
    any, is ended first: nobody waits holding one); a leader writes the batch through it."""
    session.rollback()
    committer = _committer(current_app)
    me = _Waiting(submission)
    with committer.lock:
        committer.queue.append(me)
        lead = not committer.leading
        committer.leading = True
        committer.changed.notify_all()
    if not lead:
        me.ready.wait()  # woken with an outcome, or to lead the next batch
    if me.outcome is None:
        _lead(session, committer, me)
    outcome = me.outcome
    if isinstance(outcome, Exception):
        raise outcome
    assert outcome is not None
    return outcome


def _committer(app: Any) -> _Committer:
    committer: _Committer | None = app.extensions.get(_EXT)
    if committer is None:
        committer = app.extensions.setdefault(_EXT, _Committer(app.config["DATABASE_URL"]))
    return committer


def stats(app: Any) -> dict[str, int]:
    """What group commit did so far in ``app``: batches written, ballots in them, the largest batch,
    and the ballots waiting now."""
    committer = _committer(app)
    with committer.lock:
        return {"batches": committer.batches, "ballots": committer.written, "largest": committer.largest,
                "waiting": len(committer.queue)}


def wait_until_batches(app: Any, count: int, timeout: float) -> bool:
    """Wait until ``count`` batches have been taken to be written; False after ``timeout`` seconds."""
    committer = _committer(app)
    with committer.lock:
        return committer.changed.wait_for(lambda: committer.batches >= count, timeout)


def wait_until_waiting(app: Any, count: int, timeout: float) -> bool:
    """Wait until at least ``count`` ballots wait to be written (the one being written aside); False
    after ``timeout`` seconds."""
    committer = _committer(app)
    with committer.lock:
        return committer.changed.wait_for(lambda: len(committer.queue) >= count, timeout)


def _lead(session: Session, committer: _Committer, me: _Waiting) -> None:
    """Write the batch waiting (this submitter's first), wake its submitters, hand over the lead."""
    # Under gevent, let the handlers that are ready hand their ballots in first (nothing else
    # would switch before the batch's database work, on SQLite); in threading mode, a mere yield.
    socketio.sleep(0)
    with committer.lock:
        batch = [committer.queue.popleft() for _ in range(min(MAX_BATCH, len(committer.queue)))]
        committer.batches += 1
        committer.written += len(batch)
        committer.largest = max(committer.largest, len(batch))
        committer.changed.notify_all()
    assert batch[0] is me, "the leader is the first ballot waiting"
    writer = committer.session_for(session)
    try:
        outcomes = _commit(writer, [w.submission for w in batch])
        for waiting, outcome in zip(batch, outcomes, strict=True):
            waiting.outcome = outcome
    except BaseException as exc:  # never leave a submitter waiting forever
        log.exception("a batch of ballots failed")
        for waiting in batch:
            if waiting.outcome is None:
                waiting.outcome = RuntimeError(f"batch failed: {exc!r}")
        raise
    finally:
        if writer is not session:
            writer.close()
        for waiting in batch[1:]:
            waiting.ready.set()
        with committer.lock:
            if committer.queue:
                committer.queue[0].ready.set()  # outcome still None: it leads the next batch
            else:
                committer.leading = False


def _commit(session: Session, submissions: list[Submission]) -> list[Outcome]:
    """All in one transaction; if that transaction fails, each on its own."""
    try:
        outcomes = cast_many(session, submissions)
        session.commit()
        return outcomes
    except Exception:  # noqa: BLE001 — a lost race, a lock timeout, a bug: one by one shows which
        session.rollback()
        if len(submissions) > 1:
            log.warning("a batch of %d ballots failed; writing them one by one", len(submissions), exc_info=True)
    return [_commit_one(session, submission) for submission in submissions]


def _commit_one(session: Session, submission: Submission, attempts: int = 3) -> Outcome:
    for _attempt in range(attempts):
        try:
            (outcome,) = cast_many(session, [submission])
            session.commit()
            return outcome
        except (IntegrityError, OperationalError):  # a concurrent writer won: the retry sees its outcome
            session.rollback()
        except Exception as exc:  # noqa: BLE001 — reported to its submitter as an internal error
            session.rollback()
            log.exception("a ballot failed")
            return exc
    with _in_language(submission.locale):
        return conflict(_("L'operazione è in conflitto con un invio concorrente: riprova."))


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
