"""JSON shapes of the accounts area's objects, for the other areas' payloads and exports."""
from __future__ import annotations

from typing import Any

from workspace.accounts.models import Organisation


def organisation_ref(org: Organisation | None) -> dict[str, Any] | None:
    """An organisation as exports name it: id, name and kind (None stays None)."""
    return {"id": org.id, "name": org.name, "kind": org.kind} if org is not None else None
