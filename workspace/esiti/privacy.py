"""What the esiti tell the privacy area about a person (``personal_data_requested``): the objectives
whose esiti they last changed. No copy of a name is kept (``updated_by_id`` only, set to NULL when
the account goes), so nothing needs rewriting on pseudonymisation. Connected in ``register``."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.esiti.models import PreviousObjective


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    rows = session.scalars(select(PreviousObjective).where(PreviousObjective.updated_by_id == user.id)
                           .order_by(PreviousObjective.id))
    return {"esiti_objectives_last_changed": [
        {"procedure_id": o.procedure_id, "objective_id": o.id, "title": o.title,
         "updated_at": o.updated_at.isoformat() if o.updated_at else None} for o in rows]}
