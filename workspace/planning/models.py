"""The Ufficio di Piano's answer to a tavolo: dispositions on the agreed priorities and the schede
obiettivo (Allegato B, *Tabella Obiettivi della programmazione 2025-2027*) that answer them.

- ``Disposition``: the administration's decision on one prioritised bisogno (accolto, parzialmente
  accolto, non accolto), with its mandatory reason, who decided and when; one per bisogno.
- ``PlanningPublication``: the moment the procedure's priorities, dispositions and "pronta" cards
  went public (the public page, the API and the open data show them from then on).
- ``Scheda``: an objective card. Its 26 official fields live in ``values`` keyed by the field ids of
  ``scheda_obiettivo.json`` (see ``workspace.planning.schema``); the primary macroarea, the LEPS
  and the bisogni it answers are columns and link tables (traceability both ways).
- ``SchedaVersion``: a snapshot of every saved state (who, when), like bisogni.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.accounts.models import User
from workspace.db import Base, UTCDateTime, utcnow
from workspace.needs.models import Bisogno
from workspace.reference.models import Leps, Macroarea

OUTCOMES = ("accolto", "parzialmente_accolto", "non_accolto")
SCHEDA_STATUSES = ("bozza", "pronta")

scheda_bisogno = Table(
    "scheda_bisogno",
    Base.metadata,
    Column("scheda_id", ForeignKey("scheda_obiettivo.id", ondelete="CASCADE"), primary_key=True),
    Column("bisogno_id", ForeignKey("bisogno.id", ondelete="CASCADE"), primary_key=True, index=True),
)

scheda_leps = Table(
    "scheda_leps",
    Base.metadata,
    Column("scheda_id", ForeignKey("scheda_obiettivo.id", ondelete="CASCADE"), primary_key=True),
    Column("leps_id", ForeignKey("leps.id", ondelete="CASCADE"), primary_key=True),
)


class Disposition(Base):
    """The administration's decision on a prioritised bisogno."""

    __tablename__ = "planning_disposition"
    __table_args__ = (UniqueConstraint("bisogno_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), index=True)
    bisogno_id: Mapped[int] = mapped_column(ForeignKey("bisogno.id", ondelete="CASCADE"))
    # The closed round whose ranking the bisogno came from (its place is copied for the record).
    round_id: Mapped[int | None] = mapped_column(ForeignKey("vote_round.id", ondelete="SET NULL"))
    place: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped at every change; the history is on the audit trail and the tavolo's record.
    version: Mapped[int] = mapped_column(Integer, default=1)

    bisogno: Mapped[Bisogno] = relationship()
    decided_by: Mapped[User | None] = relationship()


class PlanningPublication(Base):
    """When (and by whom) a procedure's priorities, dispositions and cards were made public."""

    __tablename__ = "planning_publication"

    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class Scheda(Base):
    """A scheda obiettivo of the procedure's Piano di Zona."""

    __tablename__ = "scheda_obiettivo"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    # The tavolo its first bisogno came from (cards may answer bisogni of several tavoli).
    tavolo_id: Mapped[int | None] = mapped_column(ForeignKey("tavolo.id", ondelete="SET NULL"), index=True)
    macroarea_code: Mapped[str] = mapped_column(ForeignKey("macroarea.code"))
    title: Mapped[str] = mapped_column(String(300))
    # The 26 official fields by id (schema.FIELDS); see schema.py for the shape of each value.
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    # Prefilled, editable: the ETS that contributed to its bisogni or offered resources
    # [{"organisation_id", "name", "resources": bool}], and ASST's part ({"took_part": bool}).
    contributors: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="bozza")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    macroarea: Mapped[Macroarea] = relationship()
    leps: Mapped[list[Leps]] = relationship(secondary=scheda_leps, order_by="Leps.position")
    bisogni: Mapped[list[Bisogno]] = relationship(secondary=scheda_bisogno, order_by="Bisogno.id")
    versions: Mapped[list[SchedaVersion]] = relationship(back_populates="scheda", order_by="SchedaVersion.version",
                                                         cascade="all, delete-orphan")

    @property
    def ready(self) -> bool:
        return self.status == "pronta"


class SchedaVersion(Base):
    """One saved state of a card: its data as JSON, the kind of change, who and when."""

    __tablename__ = "scheda_obiettivo_version"
    __table_args__ = (UniqueConstraint("scheda_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheda_id: Mapped[int] = mapped_column(ForeignKey("scheda_obiettivo.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    change: Mapped[str] = mapped_column(String(32))  # creata | modificata | pronta | riaperta
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    scheda: Mapped[Scheda] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()
