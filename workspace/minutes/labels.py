"""Labels of the verbali: statuses, remark statuses, settings' choices, kinds of version, narrative
sections and what happened to a bisogno. One home, used by the pages, the documents (PDF/A, ODT,
DOCX), the e-mails and the services' messages; Italian here, English through the catalogue."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from workspace.forms import ROME
from workspace.i18n import lazy_gettext as _l
from workspace.minutes.models import (
    APPROVERS,
    NAMING_RULES,
    REMARK_STATUSES,
    VERBALE_STATUSES,
    VERSION_CHANGES,
)

STATUS_LABELS = {
    "bozza": _l("Bozza"),
    "in_revisione": _l("In revisione"),
    "approvato": _l("Approvato"),
}
assert set(STATUS_LABELS) == set(VERBALE_STATUSES)

# Bootstrap Italia badge classes (no style attributes under the CSP).
STATUS_BADGES = {"bozza": "bg-secondary", "in_revisione": "bg-warning text-dark", "approvato": "bg-success"}

REMARK_STATUS_LABELS = {
    "aperta": _l("Da esaminare"),
    "accolta": _l("Accolta"),
    "respinta": _l("Respinta"),
}
assert set(REMARK_STATUS_LABELS) == set(REMARK_STATUSES)

APPROVER_LABELS = {
    "facilitator": _l("Il facilitatore del tavolo"),
    "rup": _l("Il responsabile del procedimento (RUP)"),
}
assert set(APPROVER_LABELS) == set(APPROVERS)

NAMING_LABELS = {
    "organisation_role": _l("Solo organizzazione e ruolo (nessun nome di persona)"),
    "full_names": _l("Nome e cognome, con organizzazione e ruolo"),
}
assert set(NAMING_LABELS) == set(NAMING_RULES)

CHANGE_LABELS = {
    "generato": _l("Bozza generata dal registro della seduta"),
    "rigenerato": _l("Parti generate ricalcolate dal registro"),
    "testo": _l("Testo modificato"),
    "errata": _l("Errata corrige emessa"),
}
assert set(CHANGE_LABELS) == set(VERSION_CHANGES)

# What happened to a bisogno during the seduta (from its events).
BISOGNO_ACTIONS = {
    "presentato": _l("presentato"),
    "modificato": _l("modificato"),
    "in_discussione": _l("messo in discussione"),
    "riproposto": _l("riportato allo stato di proposta"),
    "ritirato": _l("ritirato"),
    "accorpato": _l("accorpato"),
}

ROLE_LABELS = {
    "facilitator": _l("Facilitatore"),
    "delegate": _l("Delegato"),
    "observer": _l("Osservatore"),
    "rup": _l("Responsabile del procedimento"),
}

# The fixed narrative sections; each agenda item adds one ("punto-<id>").
OPENING, CLOSING = "apertura", "chiusura"
SECTION_LABELS = {
    OPENING: _l("Apertura della seduta"),
    CLOSING: _l("Conclusioni e chiusura"),
}
WHOLE_VERBALE = _l("Tutto il verbale")
# The one "item" of a seduta convened without an agenda.
NO_AGENDA_TITLE = _l("Lavori della seduta")

_DATE_TIME = "%d/%m/%Y %H:%M"
_DATE = "%d/%m/%Y"
_TIME = "%H:%M"


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ROME)


def when(value: datetime | str | None) -> str:
    """Rome time, ``dd/mm/yyyy hh:mm`` ("" when missing); takes ISO strings from the content too."""
    moment = _moment(value)
    return moment.strftime(_DATE_TIME) if moment else ""


def day(value: datetime | str | None) -> str:
    moment = _moment(value)
    return moment.strftime(_DATE) if moment else ""


def clock(value: datetime | str | None) -> str:
    moment = _moment(value)
    return moment.strftime(_TIME) if moment else ""


def for_pages() -> dict[str, Any]:
    return {
        "statuses": STATUS_LABELS,
        "badges": STATUS_BADGES,
        "remark_statuses": REMARK_STATUS_LABELS,
        "approvers": APPROVER_LABELS,
        "naming": NAMING_LABELS,
        "changes": CHANGE_LABELS,
        "roles": ROLE_LABELS,
    }
