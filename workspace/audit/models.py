"""The audit trail's two tables: the entries, and the head of the chain.

An entry's ``id`` is its position in the chain (1, 2, 3, ...), assigned under the head's lock, not
by the database: a gap or a duplicate is itself a sign of tampering. There are no foreign keys:
the trail must outlive anything it mentions, and a cascade must never reach it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workspace.db import Base, UTCDateTime

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_actor_id", "actor_id"),
        Index("ix_audit_entry_action", "action"),
        Index("ix_audit_entry_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # Outside the hashed content (see workspace/audit/chain.py): the one column pseudonymisation rewrites.
    actor_label: Mapped[str | None] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(48))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row (id 1): the last entry of the chain. Appenders lock it, so the chain cannot fork;
    ``tavoli audit verify`` compares it with the last entry, so a deleted or forged tail shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
