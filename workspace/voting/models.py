"""Priority votes (votazioni) of a tavolo: rounds, their items, ballots, participation, conflicts.

Secrecy by construction (the model and its limits: docs/secret-ballot.md; the code: ``ballots``
and ``box``):

- ``OpenBallot`` rows are attributed (person, organisation): the minutes can list them.
- ``PooledBallot`` holds a secret round's ballots while it is open (the mixing pool), written in the
  same transaction as their participations; ``SecretBallot`` is the ballot box proper, filled only by
  the mixer when the round closes, in one transaction, in random order with fresh random keys.
  Neither carries a voter identifier, a timestamp or a foreign key other than the round.
- ``Participation`` records *who* voted (for turnout and "one ballot each") and names no ballot;
  in secret rounds it has no time at all, in open ones a time rounded to the minute.
- Every table a secret ballot touches is keyed by random values (on SQLite ``WITHOUT ROWID``): no
  hidden insertion counter anywhere.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.db import Base, UTCDateTime, utcnow

ROUND_STATUSES = ("draft", "open", "closed")
BALLOT_UNITS = ("person", "organisation")
#: Coarse organisation types used by the breakdown of results.
GROUPS = ("ets", "pubblico", "altri")


def new_ballot_id() -> str:
    """A random identifier, unrelated to the voter and to the order of insertion."""
    return uuid.uuid4().hex


class VoteRound(Base):
    """One vote on a chosen set of bisogni, live in a seduta or asynchronous (opens_at..closes_at).

    Everything that decides the count (method, settings, unit, secrecy, eligibility, visibility,
    conflict rule) is fixed while the round is a draft and frozen when it opens, together with the
    electorate (the voter keys entitled to vote).
    """

    __tablename__ = "vote_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), index=True)
    # Live round: the seduta it belongs to; None for an asynchronous round.
    seduta_id: Mapped[int | None] = mapped_column(ForeignKey("seduta.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(String(16))
    # The method's settings as JSON (k / points, max_per_item / criteria, weights).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    ballot_unit: Mapped[str] = mapped_column(String(16), default="person")
    secret: Mapped[bool] = mapped_column(default=False)
    # {"exclude_observers": bool, "include_facilitators": bool, "excluded_kinds": [...]}
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict)
    # Partial tallies visible while open (otherwise turnout only). Never with secret ballots.
    partial_results: Mapped[bool] = mapped_column(default=False)
    # A declared conflict of interest excludes the voter from that item.
    conflict_excludes: Mapped[bool] = mapped_column(default=True)
    # Results broken down by organisation type (ETS / public bodies / others).
    breakdown: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Frozen at opening: {"voters": {voter_key: group}}.
    electorate: Mapped[dict | None] = mapped_column(JSON)
    # Bumped by every accepted ballot (live pushes carry it so clients keep the newest).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # Stored at closing: method, version, tally, turnout, breakdown (see service.compute_result).
    result: Mapped[dict | None] = mapped_column(JSON)
    tie_break: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[VoteRoundItem]] = relationship(back_populates="round", order_by="VoteRoundItem.position",
                                                      cascade="all, delete-orphan")

    def past_closing(self, now: datetime) -> bool:
        """Whether the closing time has passed (ballots are refused from that moment on)."""
        return self.closes_at is not None and now >= self.closes_at


class VoteRoundItem(Base):
    """A bisogno on the ballot; its title is copied at opening, as voted."""

    __tablename__ = "vote_round_item"
    __table_args__ = (UniqueConstraint("round_id", "bisogno_id"), UniqueConstraint("round_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"))
    bisogno_id: Mapped[int] = mapped_column(ForeignKey("bisogno.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")

    round: Mapped[VoteRound] = relationship(back_populates="items")


class OpenBallot(Base):
    """An attributed ballot: one per voter key (person or organisation); a later one replaces it."""

    __tablename__ = "open_ballot"
    __table_args__ = (UniqueConstraint("round_id", "voter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"))
    voter_key: Mapped[str] = mapped_column(String(32))
    # Who cast the ballot now counted (for an organisation: its delegate who voted last).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    org_group: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict] = mapped_column(JSON)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PooledBallot(Base):
    """A secret ballot waiting in the mixing pool of its (open) round; the mixer moves it into the
    ballot box when the round closes and deletes it here. Same columns as ``SecretBallot``."""

    __tablename__ = "vote_pool"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_ballot_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"), index=True)
    org_group: Mapped[str | None] = mapped_column(String(16))
    content: Mapped[dict] = mapped_column(JSON)


class SecretBallot(Base):
    """An anonymous ballot in the ballot box. Deliberately without voter, time or sequence: see the
    module docstring."""

    __tablename__ = "secret_ballot"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_ballot_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"), index=True)
    # Only when the round's breakdown is enabled; otherwise None.
    org_group: Mapped[str | None] = mapped_column(String(16))
    content: Mapped[dict] = mapped_column(JSON)


class Participation(Base):
    """Who voted in a round (turnout, one ballot each). Names no ballot; a random key, so the order
    of voting is not kept in a counter either."""

    __tablename__ = "vote_participation"
    __table_args__ = (UniqueConstraint("round_id", "voter_key"), {"sqlite_with_rowid": False})

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_ballot_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"), index=True)
    voter_key: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    # Open rounds: rounded down to the minute. Secret rounds: none (when someone voted is not kept).
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VoteOperation(Base):
    """Client operation ids of accepted ballots, so a retried submission is applied once (also after
    closing: a late retry is told its ballot counted)."""

    __tablename__ = "vote_operation"
    __table_args__ = {"sqlite_with_rowid": False}

    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"), primary_key=True)
    op_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    voter_key: Mapped[str] = mapped_column(String(32))


class ConflictDeclaration(Base):
    """A participant's declared interest in a bisogno of the round, made before voting."""

    __tablename__ = "vote_conflict"
    __table_args__ = (UniqueConstraint("round_id", "bisogno_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_round.id", ondelete="CASCADE"), index=True)
    bisogno_id: Mapped[int] = mapped_column(ForeignKey("bisogno.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    # The voter key the declaration binds (the person's, or their organisation's).
    voter_key: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
