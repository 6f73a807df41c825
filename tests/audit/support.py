"""Helpers of the audit suites: the entries as stored, and the chain checked by hand."""
from __future__ import annotations

from sqlalchemy import select

from workspace.audit import chain
from workspace.audit.models import GENESIS, AuditEntry, AuditHead


def entries(session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def summary(rows: list[AuditEntry]) -> list[tuple]:
    """(action, actor id, object type, object id) of each entry."""
    return [(e.action, e.actor_id, e.object_type, e.object_id) for e in rows]


def assert_chained(session) -> list[AuditEntry]:
    """Check every link by hand (independently of ``chain.verify``): ids 1..N, each entry's
    previous hash is the hash before it, each hash is the SHA-256 of the canonical content, and
    the head names the last entry. Returns the entries."""
    rows = entries(session)
    previous = GENESIS
    for position, e in enumerate(rows, start=1):
        assert e.id == position
        assert e.prev_hash == previous, f"voce {e.id}: collegamento rotto"
        assert e.hash == chain.digest(e.id, e.at, e.actor_id, e.action, e.object_type, e.object_id, e.details,
                                      e.prev_hash), f"voce {e.id}: impronta diversa"
        previous = e.hash
    head = session.get(AuditHead, chain.HEAD_ID)
    if rows:
        assert (head.last_id, head.last_hash) == (rows[-1].id, rows[-1].hash)
    return rows
