"""Organisations, people, memberships (a person as delegate of an organisation), access tokens."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workspace.db import Base, UTCDateTime, utcnow

ORGANISATION_KINDS = (
    "comune", "ufficio_di_piano", "asst", "ats", "ets", "sindacato", "fondazione", "scuola", "altro",
)
# The seven sections of the Registro Unico Nazionale del Terzo Settore (art. 46 CTS).
RUNTS_SECTIONS = (
    "odv", "aps", "enti_filantropici", "imprese_sociali", "reti_associative", "soms", "altri_ets",
)
TOKEN_KINDS = ("invitation", "password_reset", "login_link")


def new_login_id() -> str:
    return secrets.token_hex(16)


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    ambito_code: Mapped[str | None] = mapped_column(ForeignKey("ambito.code"))
    codice_fiscale: Mapped[str | None] = mapped_column(String(16), unique=True)
    runts_section: Mapped[str | None] = mapped_column(String(32))
    runts_repertorio: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation",
                                                         cascade="all, delete-orphan")

    @property
    def is_ets(self) -> bool:
        return self.kind == "ets"


class User(UserMixin, Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str | None] = mapped_column(Text)
    # Administrator of the Ufficio di Piano: manages organisations, invitations, procedures.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the session cookie carries; rotated on password change so old sessions die.
    login_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_login_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Privacy (workspace/privacy): which version of the information notice the person has read and
    # when; and when the account was deleted at the person's request (pseudonymised, kept as the
    # author of organisational records).
    privacy_version: Mapped[str | None] = mapped_column(String(32))
    privacy_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pseudonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # By id: ``organisations[0]``, the organisation a person speaks for when their role names none, is
    # their first membership (as the electorate counts it), not whatever order an index gives.
    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                         order_by="Membership.id")

    @property
    def login_key(self) -> str | None:
        """The key of the login this request runs under (set by the user loader or at login; never
        stored on the row): the cookie carries ``"<login_id>.<key>"``, see :class:`LoginSession`."""
        return self.__dict__.get("_tavoli_login_key")

    @login_key.setter
    def login_key(self, key: str | None) -> None:
        self.__dict__["_tavoli_login_key"] = key

    def get_id(self) -> str:
        return f"{self.login_id}.{self.login_key}" if self.login_key else self.login_id

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    @property
    def organisations(self) -> list[Organisation]:
        return [m.organisation for m in self.memberships]


class LoginSession(Base):
    """One login (a browser, a device): what logging out ends on the server.

    The session and remember-me cookies carry ``"<User.login_id>.<key>"``; only the SHA-256 of the
    key is stored. A cookie names a live login only while its row has no ``ended_at``: logging out
    ends this row (other devices stay logged in), "esci da tutti i dispositivi" ends every row of
    the person, and a password change rotates ``login_id`` (every cookie dies at once)."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Membership(Base):
    """A person acting as delegate of an organisation."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32), default="delegate")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")


class AccessToken(Base):
    """Single-use, expiring link: invitation, password reset or password-less login.

    Only the SHA-256 of the token is stored, so a database leak does not leak usable links.
    """

    __tablename__ = "access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    grants_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
