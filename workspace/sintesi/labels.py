"""The words of the documento di sintesi (Italian; English through the catalogue)."""
from __future__ import annotations

from typing import Any

from workspace.accounts.labels import KIND_LABELS
from workspace.i18n import lazy_gettext as _l
from workspace.minutes.labels import day, when
from workspace.planning.labels import OUTCOME_LABELS
from workspace.sintesi.generation import NO_KIND
from workspace.sintesi.models import SINTESI_STATUSES

__all__ = ["CHANGE_LABELS", "DISPOSITION_LABELS", "STATUS_LABELS", "day", "for_pages", "kind_label", "when"]

STATUS_LABELS = {
    "bozza": _l("Bozza"),
    "in_revisione": _l("In revisione"),
    "approvato": _l("Approvato"),
}
assert tuple(STATUS_LABELS) == SINTESI_STATUSES
STATUS_BADGES = {"bozza": "bg-secondary", "in_revisione": "bg-warning text-dark", "approvato": "bg-success"}

CHANGE_LABELS = {
    "generato": _l("Generato dai dati"),
    "rigenerato": _l("Ricalcolato dai dati"),
    "introduzione": _l("Introduzione modificata"),
    "revisione": _l("Inviato in revisione"),
    "approvato": _l("Approvato"),
}

# The administration's disposition on a priority: the planning area's words.
DISPOSITION_LABELS = OUTCOME_LABELS
NO_DISPOSITION = _l("Disposizione non ancora espressa")
NO_KIND_LABEL = _l("Senza organizzazione")


def kind_label(kind: str | None) -> str:
    if kind == NO_KIND or not kind:
        return str(NO_KIND_LABEL)
    return str(KIND_LABELS.get(kind, kind))


def disposition_label(key: str | None) -> str:
    if not key:
        return str(NO_DISPOSITION)
    return str(DISPOSITION_LABELS.get(key, key))


def for_pages() -> dict[str, Any]:
    return {"statuses": STATUS_LABELS, "badges": STATUS_BADGES, "changes": CHANGE_LABELS}
