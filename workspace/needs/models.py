"""Bisogni (community needs) raised at a tavolo, their versions, and typed annotations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.accounts.models import Organisation, User
from workspace.db import Base, UTCDateTime, utcnow
from workspace.reference.models import KeyPoint, Macroarea

BISOGNO_STATUSES = ("proposto", "in_discussione", "accorpato", "ritirato")
CONSOLIDATION = ("consolidato", "nuovo")
ANNOTATION_KINDS = ("dato", "esperienza", "risorsa", "criticita", "proposta")

bisogno_transversal = Table(
    "bisogno_transversal",
    Base.metadata,
    Column("bisogno_id", ForeignKey("bisogno.id", ondelete="CASCADE"), primary_key=True),
    Column("macroarea_code", ForeignKey("macroarea.code"), primary_key=True),
)

bisogno_key_point = Table(
    "bisogno_key_point",
    Base.metadata,
    Column("bisogno_id", ForeignKey("bisogno.id", ondelete="CASCADE"), primary_key=True),
    Column("key_point_id", ForeignKey("key_point.id"), primary_key=True),
)

# Territory: the Comuni of the Ambito concerned (organisations of kind "comune").
bisogno_comune = Table(
    "bisogno_comune",
    Base.metadata,
    Column("bisogno_id", ForeignKey("bisogno.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)


class Bisogno(Base):
    __tablename__ = "bisogno"

    id: Mapped[int] = mapped_column(primary_key=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), index=True)
    # The seduta during which it was raised; None when raised between sedute.
    seduta_id: Mapped[int | None] = mapped_column(ForeignKey("seduta.id", ondelete="SET NULL"))
    macroarea_code: Mapped[str] = mapped_column(ForeignKey("macroarea.code"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown source
    target_population: Mapped[str] = mapped_column(Text, default="")
    whole_ambito: Mapped[bool] = mapped_column(default=False)
    evidence_source: Mapped[str] = mapped_column(Text, default="")
    evidence_figure: Mapped[str] = mapped_column(String(200), default="")
    evidence_year: Mapped[int | None] = mapped_column(Integer)
    consolidation: Mapped[str] = mapped_column(String(16), default="nuovo")
    status: Mapped[str] = mapped_column(String(16), default="proposto")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("bisogno.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    macroarea: Mapped[Macroarea] = relationship()
    transversal: Mapped[list[Macroarea]] = relationship(secondary=bisogno_transversal, order_by="Macroarea.code")
    key_points: Mapped[list[KeyPoint]] = relationship(secondary=bisogno_key_point, order_by="KeyPoint.id")
    comuni: Mapped[list[Organisation]] = relationship(secondary=bisogno_comune, order_by="Organisation.name")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])
    merged_into: Mapped[Bisogno | None] = relationship(remote_side=[id])
    annotations: Mapped[list[Annotation]] = relationship(back_populates="bisogno", order_by="Annotation.id",
                                                         cascade="all, delete-orphan")
    versions: Mapped[list[BisognoVersion]] = relationship(back_populates="bisogno",
                                                          order_by="BisognoVersion.version",
                                                          cascade="all, delete-orphan")


class BisognoVersion(Base):
    """A snapshot of a bisogno after each change: the visible history."""

    __tablename__ = "bisogno_version"
    __table_args__ = (UniqueConstraint("bisogno_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bisogno_id: Mapped[int] = mapped_column(ForeignKey("bisogno.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    change: Mapped[str] = mapped_column(String(32))  # creato | modificato | stato
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    bisogno: Mapped[Bisogno] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()


class Annotation(Base):
    __tablename__ = "annotation"

    id: Mapped[int] = mapped_column(primary_key=True)
    bisogno_id: Mapped[int] = mapped_column(ForeignKey("bisogno.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("annotation.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)  # Markdown source
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Soft deletion by the author, or moderation by a facilitator (with a reason); kept in history.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    deletion_reason: Mapped[str | None] = mapped_column(Text)
    moderated: Mapped[bool] = mapped_column(default=False)

    bisogno: Mapped[Bisogno] = relationship(back_populates="annotations")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    organisation: Mapped[Organisation | None] = relationship()
    supports: Mapped[list[AnnotationSupport]] = relationship(back_populates="annotation",
                                                             cascade="all, delete-orphan")


class AnnotationSupport(Base):
    """One support per organisation on an annotation."""

    __tablename__ = "annotation_support"
    __table_args__ = (UniqueConstraint("annotation_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotation.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    annotation: Mapped[Annotation] = relationship(back_populates="supports")
    organisation: Mapped[Organisation] = relationship()


