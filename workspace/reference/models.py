"""Official reference data (DGR XII/2167 of 15/04/2024): macroaree, key points, LEPS, territory,
and the field schemas of the objective card and the esiti table. Loaded by ``loader.py``; read-only
for the application.
"""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.db import Base

macroarea_leps = Table(
    "macroarea_leps",
    Base.metadata,
    Column("macroarea_code", ForeignKey("macroarea.code", ondelete="CASCADE"), primary_key=True),
    Column("leps_id", ForeignKey("leps.id", ondelete="CASCADE"), primary_key=True),
)


class Macroarea(Base):
    """A policy area of the Piano di Zona. C is historic: merged into A for 2025-2027."""

    __tablename__ = "macroarea"

    code: Mapped[str] = mapped_column(String(1), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    name_2021_2023: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # active | merged
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("macroarea.code"))
    period: Mapped[str | None] = mapped_column(String(16))
    context_summary_en: Mapped[str | None] = mapped_column(Text)
    # Official lists kept as printed (objectives, interventions, regional measures, notes).
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    key_points: Mapped[list[KeyPoint]] = relationship(
        back_populates="macroarea", order_by="KeyPoint.position", cascade="all, delete-orphan"
    )
    leps: Mapped[list[Leps]] = relationship(secondary=macroarea_leps, back_populates="macroaree",
                                            order_by="Leps.position")

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class KeyPoint(Base):
    """An official punto chiave of a macroarea (Allegato B §3)."""

    __tablename__ = "key_point"
    __table_args__ = (UniqueConstraint("macroarea_code", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    macroarea_code: Mapped[str] = mapped_column(ForeignKey("macroarea.code", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)

    macroarea: Mapped[Macroarea] = relationship(back_populates="key_points")


class Leps(Base):
    """Livello essenziale delle prestazioni sociali."""

    __tablename__ = "leps"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    strategic: Mapped[bool] = mapped_column(Boolean, default=False)
    # Legal basis, programming act, funding, and for strategic LEPS their objectives and targets.
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    macroaree: Mapped[list[Macroarea]] = relationship(secondary=macroarea_leps, back_populates="leps",
                                                      order_by="Macroarea.code")


class Ats(Base):
    __tablename__ = "ats"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Asst(Base):
    __tablename__ = "asst"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    ats_code: Mapped[str] = mapped_column(ForeignKey("ats.code"))

    ats: Mapped[Ats] = relationship()


class Distretto(Base):
    __tablename__ = "distretto"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Ambito(Base):
    """Ambito territoriale (Allegato C): ISTAT-like code, SIOSS code, its ATS."""

    __tablename__ = "ambito"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    sioss_code: Mapped[str] = mapped_column(String(16), unique=True)
    ats_code: Mapped[str] = mapped_column(ForeignKey("ats.code"))

    ats: Mapped[Ats] = relationship()
    links: Mapped[list[AmbitoDistretto]] = relationship(
        back_populates="ambito", cascade="all, delete-orphan", order_by="AmbitoDistretto.distretto_code"
    )


class AmbitoDistretto(Base):
    """One row of Allegato C: Ambito ↔ Distretto is many-to-many, each link under an ASST
    (Distretto 22070 Oglio Po appears under two ASST)."""

    __tablename__ = "ambito_distretto"

    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code", ondelete="CASCADE"), primary_key=True)
    distretto_code: Mapped[str] = mapped_column(ForeignKey("distretto.code"), primary_key=True)
    asst_code: Mapped[str] = mapped_column(ForeignKey("asst.code"), primary_key=True)

    ambito: Mapped[Ambito] = relationship(back_populates="links")
    distretto: Mapped[Distretto] = relationship()
    asst: Mapped[Asst] = relationship()


class FieldSchema(Base):
    """An official form as data: the objective card (26 fields) and the esiti table (8 dimensions)."""

    __tablename__ = "field_schema"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # scheda_obiettivo | esiti
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[dict] = mapped_column(JSON)
