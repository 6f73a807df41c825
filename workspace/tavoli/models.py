"""Tavoli tematici, their members and roles, sedute with agenda, and the presence register."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.accounts.models import Organisation, User
from workspace.db import Base, UTCDateTime, utcnow
from workspace.reference.models import Macroarea

if TYPE_CHECKING:
    from workspace.procedures.models import Procedure

TAVOLO_ROLES = ("facilitator", "delegate", "observer")
SEDUTA_MODES = ("presenza", "remoto", "mista")
SEDUTA_STATUSES = ("convocata", "in_corso", "chiusa")
PRESENCE_MODES = ("presenza", "remoto")

tavolo_macroarea = Table(
    "tavolo_macroarea",
    Base.metadata,
    Column("tavolo_id", ForeignKey("tavolo.id", ondelete="CASCADE"), primary_key=True),
    Column("macroarea_code", ForeignKey("macroarea.code"), primary_key=True),
)


class Tavolo(Base):
    __tablename__ = "tavolo"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    # Contributions between sedute are accepted only inside this window (server-enforced).
    contribution_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contribution_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Share of member organisations that must be present for the quorum (percent).
    quorum_percent: Mapped[int] = mapped_column(Integer, default=50)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    procedure: Mapped[Procedure] = relationship(back_populates="tavoli")
    macroaree: Mapped[list[Macroarea]] = relationship(secondary=tavolo_macroarea, order_by="Macroarea.code")
    members: Mapped[list[TavoloMember]] = relationship(back_populates="tavolo", cascade="all, delete-orphan")
    roles: Mapped[list[TavoloRole]] = relationship(back_populates="tavolo", cascade="all, delete-orphan")
    sedute: Mapped[list[Seduta]] = relationship(back_populates="tavolo", order_by="Seduta.number",
                                                cascade="all, delete-orphan")


class TavoloMember(Base):
    """An organisation that is a member of the tavolo."""

    __tablename__ = "tavolo_member"
    __table_args__ = (UniqueConstraint("tavolo_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tavolo: Mapped[Tavolo] = relationship(back_populates="members")
    organisation: Mapped[Organisation] = relationship()


class TavoloRole(Base):
    """A person's role at one tavolo: facilitator, delegate of a member organisation, observer."""

    __tablename__ = "tavolo_role"
    __table_args__ = (UniqueConstraint("tavolo_id", "user_id"),)
    # Personal preference and bookkeeping, kept up to date also once the procedure is concluded
    # (``workspace.closure``).
    __closure_bookkeeping__ = frozenset({"digest", "last_visit_at", "last_digest_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    # For delegates: the member organisation they speak for.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    # Opt-in daily digest of what changed at this tavolo.
    digest: Mapped[bool] = mapped_column(default=False)
    last_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tavolo: Mapped[Tavolo] = relationship(back_populates="roles")
    user: Mapped[User] = relationship()
    organisation: Mapped[Organisation | None] = relationship()


class Seduta(Base):
    __tablename__ = "seduta"
    __table_args__ = (UniqueConstraint("tavolo_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(300), default="")
    mode: Mapped[str] = mapped_column(String(16), default="presenza")
    status: Mapped[str] = mapped_column(String(16), default="convocata")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The agenda item under way (no FK: seduta and agenda_item would reference each other).
    current_item_id: Mapped[int | None] = mapped_column(Integer)
    # The bisogno under discussion, shown on the big screen (no FK: needs sit above tavoli).
    spotlight_bisogno_id: Mapped[int | None] = mapped_column(Integer)
    timer_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timer_label: Mapped[str | None] = mapped_column(String(200))

    tavolo: Mapped[Tavolo] = relationship(back_populates="sedute")
    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="seduta", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )
    presences: Mapped[list[Presence]] = relationship(back_populates="seduta", cascade="all, delete-orphan",
                                                     order_by="Presence.joined_at")


class AgendaItem(Base):
    __tablename__ = "agenda_item"
    __table_args__ = (UniqueConstraint("seduta_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seduta_id: Mapped[int] = mapped_column(ForeignKey("seduta.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")

    seduta: Mapped[Seduta] = relationship(back_populates="agenda")


class Presence(Base):
    """One stretch of attendance: automatic (joined the live page) or marked by the facilitator."""

    __tablename__ = "presence"

    id: Mapped[int] = mapped_column(primary_key=True)
    seduta_id: Mapped[int] = mapped_column(ForeignKey("seduta.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8))  # auto | manual
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    seduta: Mapped[Seduta] = relationship(back_populates="presences")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()
