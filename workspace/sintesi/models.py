"""The documento di sintesi of a procedure (one per procedure) and its versions.

``bozza`` (generated from the data, the RUP writes the introduction) → ``in_revisione`` (readable by
every member of the procedure's tavoli) → ``approvato``: the canonical content (JSON), its SHA-256
and the PDF/A with its own SHA-256 are stored on the row and never change again; the procedure is
then "conclusa". The PDF/A lives in the database, so it commits or rolls back with the approval.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.db import Base, UTCDateTime, utcnow
from workspace.problems import Problem

SINTESI_STATUSES = ("bozza", "in_revisione", "approvato")
VERSION_CHANGES = ("generato", "rigenerato", "introduzione", "revisione", "approvato")


class DocumentoSintesi(Base):
    __tablename__ = "documento_sintesi"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="bozza")
    # What the data say (recomputed on regeneration) and what the RUP wrote (Markdown).
    generated: Mapped[dict] = mapped_column(JSON, default=dict)
    introduction: Mapped[str] = mapped_column(Text, default="")
    # The number of the latest SintesiVersion (optimistic locking of the introduction).
    version: Mapped[int] = mapped_column(Integer, default=0)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    review_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Frozen at approval.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    content: Mapped[dict | None] = mapped_column(JSON)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    versions: Mapped[list[SintesiVersion]] = relationship(back_populates="documento",
                                                          order_by="SintesiVersion.number",
                                                          cascade="all, delete-orphan")

    @property
    def approved(self) -> bool:
        return self.status == "approvato"


class SintesiVersion(Base):
    """Every saved state: generated or regenerated (with the data as they were), the introduction
    written, sent for review, approved."""

    __tablename__ = "sintesi_version"
    __table_args__ = (UniqueConstraint("documento_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    documento_id: Mapped[int] = mapped_column(ForeignKey("documento_sintesi.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    generated: Mapped[dict | None] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    documento: Mapped[DocumentoSintesi] = relationship(back_populates="versions")


def frozen_refusal() -> Problem:
    from workspace.i18n import gettext as _

    return Problem("sintesi_approved", _("Il documento di sintesi è approvato e non si può più modificare."), 409)


@event.listens_for(DocumentoSintesi, "before_update")
def _approved_never_changes(_mapper, _connection, target: DocumentoSintesi) -> None:
    """Belt and braces under the services' guard and the procedure's closure."""
    history = inspect(target).attrs.status.history
    previous = (history.deleted or history.unchanged or [None])[0]
    if previous == "approvato":
        raise frozen_refusal()
