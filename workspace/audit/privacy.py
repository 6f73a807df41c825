"""What the audit trail tells the privacy area about a person, through the named signals.

- ``personal_data_requested``: the entries the person is the actor of (action, object, time; not
  the details, which may point to other people);
- ``person_pseudonymised``: the label of the person's entries (their name, frozen when written) is
  replaced by the pseudonym; the organisations in it stay, as everywhere else. The label is outside
  the hashed content (``workspace/audit/chain.py``), so the chain stays intact. Entries still
  queued in the transaction get their label at commit, when the account already bears the pseudonym.

Connected in ``workspace.audit.register``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.audit import chain
from workspace.audit.models import AuditEntry

if TYPE_CHECKING:
    from workspace.privacy.service import Scrubber


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.at, AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id)
        .where(AuditEntry.actor_id == user.id).order_by(AuditEntry.id))
    return {"audit_trail": [
        {"entry": r.id, "at": chain.utc_text(r.at), "action": r.action, "object_type": r.object_type,
         "object_id": r.object_id} for r in rows]}


def pseudonymise(session: Session, *, user: User, scrubber: Scrubber, **_: Any) -> int:
    labels = session.scalars(select(AuditEntry.actor_label).where(AuditEntry.actor_id == user.id,
                                                                  AuditEntry.actor_label.is_not(None))
                             .distinct()).all()
    changed = 0
    for label in filter(None, labels):
        # "Name (Organisation)" -> "Pseudonym (Organisation)". A label written under another name
        # (renamed since) loses everything before its organisations all the same.
        if label == user.name or label.startswith(user.name + " ("):
            new = scrubber.replacement + label[len(user.name):]
        else:
            cut = label.find(" (")
            new = scrubber.replacement + (label[cut:] if cut > 0 and label.endswith(")") else "")
        if new != label:
            result = session.execute(update(AuditEntry).where(AuditEntry.actor_id == user.id,
                                                              AuditEntry.actor_label == label)
                                     .values(actor_label=new).execution_options(synchronize_session=False))
            changed += result.rowcount or 0  # type: ignore[attr-defined]
    return changed
