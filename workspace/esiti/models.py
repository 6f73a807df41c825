"""The objectives of the previous programming (2021-2023) of a procedure's Ambito, each with its
*resoconto esiti*: the 8 dimensions of the official model (``scale.fields()``).

The two percentages are never stored: they are computed from the counts and amounts entered
(``scale.achievement`` / ``scale.budget``), so a correction of a count corrects its band everywhere.
Money is stored in euro with two decimals (``Numeric(14, 2)``, exact on SQLite and PostgreSQL).
Who last changed a row is kept by id only (no copy of a name: a pseudonymised person's rows follow).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.db import Base, UTCDateTime, utcnow
from workspace.esiti import scale

if TYPE_CHECKING:
    from workspace.accounts.models import User
    from workspace.procedures.models import Procedure

TITLE_MAX = 300
TEXT_MAX = 5000
YES_NO = ("SI", "NO")


class PreviousObjective(Base):
    """One objective of the 2021-2023 Piano di Zona and its esiti (one *Tabella Esiti* each)."""

    __tablename__ = "esiti_objective"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)  # n. in the table, from 1
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    macroarea: Mapped[str] = mapped_column(String(200), default="")  # 2021-2023 area, as the Piano named it
    # achievement_rate: (n. azioni realizzate*100)/n. azioni programmate
    actions_programmed: Mapped[int | None] = mapped_column(Integer)
    actions_done: Mapped[int | None] = mapped_column(Integer)
    user_evaluation: Mapped[str] = mapped_column(Text, default="")
    resource_adequacy: Mapped[str | None] = mapped_column(String(40))  # one of the official options
    # budget_execution_rate: (pagato*100)/preventivato
    budget_planned: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    budget_paid: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    critical_issues: Mapped[str] = mapped_column(Text, default="")
    need_addressed: Mapped[str | None] = mapped_column(String(2))  # SI / NO
    need_addressed_reason: Mapped[str] = mapped_column(Text, default="")
    continuity: Mapped[str | None] = mapped_column(String(2))  # SI / NO
    reproposed: Mapped[str | None] = mapped_column(String(2))  # SI / NO
    reproposed_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    procedure: Mapped[Procedure] = relationship()
    updated_by: Mapped[User | None] = relationship()

    @property
    def achievement(self) -> scale.Rate | None:
        return scale.achievement(self.actions_done, self.actions_programmed)

    @property
    def budget(self) -> scale.Rate | None:
        return scale.budget(self.budget_paid, self.budget_planned)

    def missing(self) -> list[str]:
        """Ids of the official dimensions still without an answer (a report is complete when none)."""
        answered = {
            "achievement_rate": self.achievement is not None,
            "user_evaluation": bool(self.user_evaluation.strip()),
            "resource_adequacy": bool(self.resource_adequacy),
            "budget_execution_rate": self.budget is not None,
            "critical_issues": bool(self.critical_issues.strip()),
            "need_addressed_positive_change": bool(self.need_addressed),
            "continuity_with_2018_2020": bool(self.continuity),
            "to_be_reproposed_2025_2027": bool(self.reproposed),
        }
        return [key for key in scale.fields() if not answered[key]]
