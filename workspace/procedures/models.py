"""The co-programming procedure (art. 55 CTS, DM 72/2021) of an Ambito and what a lawful procedure
leaves behind: the initiation act, the avviso pubblico in its six sections, each status change
(who, when), each application with its identity data and declarations, each admission or exclusion
with its motivation, and the publication log of what the public record shows and until when."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.accounts.models import Organisation, User
from workspace.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from workspace.tavoli.models import Tavolo

# The programming periods of the Piani di Zona a procedure may co-programme.
TRIENNI = ("2025-2027", "2028-2030")

# Forward only, one step at a time. "conclusa" is reached only by approving the documento di sintesi
# (``lifecycle.conclude``); from then on nothing in the procedure changes (``closure``).
PROCEDURE_STATUSES = ("bozza", "avviso_pubblicato", "candidature", "ammissioni", "tavoli_in_corso", "conclusa")
FINAL_STATUS = "conclusa"

# The six sections of the avviso (DM 72/2021, § 2.2): the column that holds each one, in order.
AVVISO_SECTIONS = (
    "object",                # oggetto
    "avviso_eligibility",    # chi può partecipare
    "avviso_application",    # come candidarsi e quali dichiarazioni
    "avviso_conduct",        # tempi e modalità di svolgimento
    "avviso_closure",        # come si conclude il procedimento
    "avviso_transparency",   # trasparenza
)

APPLICATION_STATUSES = ("submitted", "admitted", "excluded")
# An ETS not (yet) in the RUNTS with a repertorio number may still take part in a declared
# transitional status (art. 101 CTS and the RUNTS transmigration).
TRANSITIONAL_STATUSES = ("onlus", "iscrizione_in_corso", "impresa_sociale")
PUBLICATION_KINDS = ("avviso", "tavolo", "ammissione")
DEFAULT_PUBLICATION_YEARS = 5


class Procedure(Base):
    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    ambito_code: Mapped[str] = mapped_column(ForeignKey("ambito.code"))
    title: Mapped[str] = mapped_column(String(300))
    # Also the first section of the avviso: its object.
    object: Mapped[str] = mapped_column(Text, default="")
    triennium: Mapped[str] = mapped_column(String(9), default="2025-2027")
    rup_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(32), default="bozza")
    # Published procedures expose their tavoli and bisogni publicly (API, public pages).
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The initiation act (determinazione / delibera) and its file, fingerprinted.
    act_number: Mapped[str | None] = mapped_column(String(60))
    act_date: Mapped[date | None] = mapped_column(Date)
    act_file_path: Mapped[str | None] = mapped_column(String(200))  # relative to the upload folder
    act_file_name: Mapped[str | None] = mapped_column(String(255))  # as uploaded
    act_file_sha256: Mapped[str | None] = mapped_column(String(64))
    act_file_size: Mapped[int | None] = mapped_column(Integer)

    # The avviso: five more sections (the first is ``object``), publication date and deadline.
    avviso_eligibility: Mapped[str] = mapped_column(Text, default="")
    avviso_application: Mapped[str] = mapped_column(Text, default="")
    avviso_conduct: Mapped[str] = mapped_column(Text, default="")
    avviso_closure: Mapped[str] = mapped_column(Text, default="")
    avviso_transparency: Mapped[str] = mapped_column(Text, default="")
    avviso_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    application_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Organisation kinds that may apply (accounts.models.ORGANISATION_KINDS): ETS only by default.
    allowed_kinds: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["ets"])

    rup: Mapped[User | None] = relationship()
    tavoli: Mapped[list[Tavolo]] = relationship(back_populates="procedure", order_by="Tavolo.id")
    transitions: Mapped[list[ProcedureTransition]] = relationship(
        back_populates="procedure", order_by="ProcedureTransition.id", cascade="all, delete-orphan")
    applications: Mapped[list[Application]] = relationship(
        back_populates="procedure", order_by="Application.id", cascade="all, delete-orphan")
    publications: Mapped[list[PublicationItem]] = relationship(
        back_populates="procedure", order_by="PublicationItem.id", cascade="all, delete-orphan")


class ProcedureTransition(Base):
    """One forward step of the lifecycle: from, to, who, when. Append-only."""

    __tablename__ = "procedure_transition"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The name at the time, so the log still says who after an account is deleted.
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    procedure: Mapped[Procedure] = relationship(back_populates="transitions")
    actor: Mapped[User | None] = relationship()


application_tavolo = Table(
    "application_tavolo",
    Base.metadata,
    Column("application_id", ForeignKey("application.id", ondelete="CASCADE"), primary_key=True),
    Column("tavolo_id", ForeignKey("tavolo.id", ondelete="CASCADE"), primary_key=True),
)


class Application(Base):
    """A manifestazione di interesse. One per organisation (codice fiscale) and procedure:
    applying again before the deadline updates it (each submission is kept as a revision)."""

    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("procedure_id", "codice_fiscale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)

    # The organisation, as declared (RUNTS documents are consulted in the RUNTS, not uploaded).
    codice_fiscale: Mapped[str] = mapped_column(String(16))
    organisation_name: Mapped[str] = mapped_column(String(300))
    organisation_kind: Mapped[str] = mapped_column(String(32), default="ets")
    runts_section: Mapped[str | None] = mapped_column(String(32))
    runts_repertorio: Mapped[str | None] = mapped_column(String(32))
    transitional_status: Mapped[str | None] = mapped_column(String(32))
    transitional_details: Mapped[str] = mapped_column(Text, default="")
    organisation_email: Mapped[str] = mapped_column(String(254))  # PEC or e-mail for notifications

    # Who signs: the legal representative, or someone acting under a proxy (then the proxy file).
    legal_rep_name: Mapped[str] = mapped_column(String(200))
    legal_rep_role: Mapped[str] = mapped_column(String(100), default="")
    signed_by_proxy: Mapped[bool] = mapped_column(default=False)
    proxy_name: Mapped[str | None] = mapped_column(String(200))
    proxy_file_path: Mapped[str | None] = mapped_column(String(200))
    proxy_file_name: Mapped[str | None] = mapped_column(String(255))
    proxy_file_sha256: Mapped[str | None] = mapped_column(String(64))
    proxy_file_size: Mapped[int | None] = mapped_column(Integer)

    # The person who will sit at the tavoli for the organisation (invited by link on admission).
    delegate_name: Mapped[str] = mapped_column(String(200))
    delegate_email: Mapped[str] = mapped_column(String(254))

    # Self-declarations (DPR 445/2000) as declared: [{"key", "text", "accepted"}].
    declarations: Mapped[list[dict]] = mapped_column(JSON, default=list)
    # Conflict of interest: none, or the situations declared.
    coi_none: Mapped[bool] = mapped_column(default=True)
    coi_details: Mapped[str] = mapped_column(Text, default="")
    coi_statement: Mapped[str] = mapped_column(Text, default="")  # the full text declared

    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # server time, first
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)    # server time, last
    revision: Mapped[int] = mapped_column(Integer, default=1)
    protocol_number: Mapped[str | None] = mapped_column(String(60))

    status: Mapped[str] = mapped_column(String(16), default="submitted")
    motivation: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_name: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The organisation record linked on admission.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    # SHA-256 of the delegate's invitation link (the link itself only travels by e-mail).
    invitation_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    procedure: Mapped[Procedure] = relationship(back_populates="applications")
    tavoli: Mapped[list[Tavolo]] = relationship(secondary=application_tavolo, order_by="Tavolo.id")
    organisation: Mapped[Organisation | None] = relationship()
    decided_by: Mapped[User | None] = relationship()
    revisions: Mapped[list[ApplicationRevision]] = relationship(
        back_populates="application", order_by="ApplicationRevision.number", cascade="all, delete-orphan")


class ApplicationRevision(Base):
    """Each submission as received (a snapshot), so an update never erases what was declared."""

    __tablename__ = "application_revision"
    __table_args__ = (UniqueConstraint("application_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="revisions")


class PublicationItem(Base):
    """What the public record of a procedure shows, from when until when (the publication log).

    ``ref_id`` is the tavolo (kind "tavolo") or the application (kind "ammissione")."""

    __tablename__ = "publication_item"
    __table_args__ = (UniqueConstraint("procedure_id", "kind", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    published_from: Mapped[datetime] = mapped_column(UTCDateTime())
    published_until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    procedure: Mapped[Procedure] = relationship(back_populates="publications")

    def visible_at(self, moment: datetime) -> bool:
        return self.published_from <= moment < self.published_until
