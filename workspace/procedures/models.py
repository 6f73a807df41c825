"""The co-programming procedure (art. 55 CTS) of an Ambito. Its lawful lifecycle (avviso,
applications, admissions) is built on this object by the procedure module."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.accounts.models import User
from workspace.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from workspace.tavoli.models import Tavolo

PROCEDURE_STATUSES = ("bozza", "avviso_pubblicato", "candidature", "ammissioni", "tavoli_in_corso")


class Procedure(Base):
    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code"))
    title: Mapped[str] = mapped_column(String(300))
    object: Mapped[str] = mapped_column(Text, default="")
    triennium: Mapped[str] = mapped_column(String(9), default="2025-2027")
    rup_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(32), default="bozza")
    # Published procedures expose their tavoli and bisogni publicly (API, public pages).
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rup: Mapped[User | None] = relationship()
    tavoli: Mapped[list[Tavolo]] = relationship(back_populates="procedure", order_by="Tavolo.id")
