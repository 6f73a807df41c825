"""Verbali (minutes) of the sedute: per-procedure settings, the verbale with its narrative versions,
the remarks filed during review, and the frozen record of an approved verbale.

A verbale is generated from the seduta's record when the seduta closes (status ``bozza``), sent to
the attendees for remarks (``in_revisione``) and approved (``approvato``). Approval freezes it: its
canonical content (JSON), the SHA-256 of that content and the PDF/A renderings are stored on the
row and never change again (``service.guard_writable``; a mapper event refuses any flush that
would). A correction is a new row, an errata (``edition`` > 1, ``corrects_id`` set), that cites the
original's id and hash.

The PDF/A files are stored in the database (``LargeBinary``) with their own SHA-256: they commit
or roll back with the approval itself, and a backup of the database is a backup of the verbali.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.db import Base, UTCDateTime, utcnow
from workspace.problems import Problem

VERBALE_STATUSES = ("bozza", "in_revisione", "approvato")
REMARK_STATUSES = ("aperta", "accolta", "respinta")
APPROVERS = ("facilitator", "rup")
NAMING_RULES = ("organisation_role", "full_names")
VERSION_CHANGES = ("generato", "rigenerato", "testo", "errata")

DEFAULT_REVIEW_DAYS = 7
DEFAULT_PUBLICATION_YEARS = 5
DEFAULT_APPROVER = "facilitator"
DEFAULT_NAMING = "organisation_role"


class MinutesSettings(Base):
    """How a procedure's verbali are approved and published (edited by the Ufficio di Piano).
    A procedure without a row uses the defaults."""

    __tablename__ = "minutes_settings"

    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True)
    approver: Mapped[str] = mapped_column(String(16), default=DEFAULT_APPROVER)
    review_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_REVIEW_DAYS)
    naming: Mapped[str] = mapped_column(String(24), default=DEFAULT_NAMING)
    publication_years: Mapped[int] = mapped_column(Integer, default=DEFAULT_PUBLICATION_YEARS)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Verbale(Base):
    __tablename__ = "verbale"
    __table_args__ = (UniqueConstraint("seduta_id", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seduta_id: Mapped[int] = mapped_column(ForeignKey("seduta.id", ondelete="CASCADE"), index=True)
    tavolo_id: Mapped[int] = mapped_column(ForeignKey("tavolo.id", ondelete="CASCADE"), index=True)
    # 1: the verbale; 2, 3, ...: errata that correct it (``corrects_id``).
    edition: Mapped[int] = mapped_column(Integer, default=1)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("verbale.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="bozza")
    # What the record says (recomputed on regeneration) and what people wrote, per section key.
    generated: Mapped[dict] = mapped_column(JSON, default=dict)
    narrative: Mapped[dict] = mapped_column(JSON, default=dict)
    # The number of the latest VerbaleVersion (optimistic locking compares per section).
    version: Mapped[int] = mapped_column(Integer, default=0)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_days: Mapped[int | None] = mapped_column(Integer)

    # Frozen at approval.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    approver_role: Mapped[str | None] = mapped_column(String(16))
    content: Mapped[dict | None] = mapped_column(JSON)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # The edition for publication (people named as the procedure's settings say), its PDF/A too.
    public_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    public_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    naming: Mapped[str | None] = mapped_column(String(24))
    published_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[VerbaleVersion]] = relationship(back_populates="verbale", order_by="VerbaleVersion.number",
                                                          cascade="all, delete-orphan")
    remarks: Mapped[list[VerbaleRemark]] = relationship(back_populates="verbale", order_by="VerbaleRemark.id",
                                                        cascade="all, delete-orphan")

    @property
    def approved(self) -> bool:
        return self.status == "approvato"

    @property
    def is_errata(self) -> bool:
        return self.corrects_id is not None


class VerbaleVersion(Base):
    """Every saved state: a narrative section written (``testo``), the draft generated or
    regenerated from the record (with the generated part as it was), an errata issued."""

    __tablename__ = "verbale_version"
    __table_args__ = (UniqueConstraint("verbale_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    verbale_id: Mapped[int] = mapped_column(ForeignKey("verbale.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))
    section: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    generated: Mapped[dict | None] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The name at the time, so the history still says who after an account is deleted.
    author_name: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    verbale: Mapped[Verbale] = relationship(back_populates="versions")


class VerbaleRemark(Base):
    """An osservazione filed by an attendee during review, on the whole verbale (``section`` None)
    or on one section, and the facilitator's decision with its reason."""

    __tablename__ = "verbale_remark"

    id: Mapped[int] = mapped_column(primary_key=True)
    verbale_id: Mapped[int] = mapped_column(ForeignKey("verbale.id", ondelete="CASCADE"), index=True)
    section: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    organisation_name: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(16))
    # The verbale's version the remark was written against.
    against_version: Mapped[int] = mapped_column(Integer, default=0)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="aperta")
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    verbale: Mapped[Verbale] = relationship(back_populates="remarks")


# --- the frozen row, guarded at the last moment too ---------------------------------------------------


def frozen_refusal() -> Problem:
    from workspace.i18n import gettext as _

    return Problem("verbale_approved", _("Il verbale è approvato e non si può più modificare: una correzione "
                                         "si fa con un'errata corrige."), 409)


@event.listens_for(Verbale, "before_update")
def _approved_rows_never_change(_mapper, _connection, target: Verbale) -> None:
    """Belt and braces under ``service.guard_writable``: a flush that would change a verbale whose
    stored status was already "approvato" is refused, whatever code path tried it."""
    history = inspect(target).attrs.status.history
    previous = (history.deleted or history.unchanged or [None])[0]
    if previous == "approvato":
        raise frozen_refusal()


@event.listens_for(VerbaleRemark, "before_update")
def _remarks_of_approved_never_change(_mapper, _connection, target: VerbaleRemark) -> None:
    verbale = target.verbale
    history = inspect(verbale).attrs.status.history
    stored = (history.deleted or history.unchanged or [None])[0]
    if stored == "approvato":
        raise frozen_refusal()
