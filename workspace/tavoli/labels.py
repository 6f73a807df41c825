"""Labels of the tavoli area: roles, seduta modes and statuses, presence modes and sources. One
home, used by the pages, the live pages' JavaScript (passed as data, see ``plain``), the e-mails
and the exports; Italian here, English through the catalogue."""
from __future__ import annotations

from collections.abc import Mapping

from workspace.i18n import lazy_gettext as _l
from workspace.tavoli.models import PRESENCE_MODES, SEDUTA_MODES, SEDUTA_STATUSES, TAVOLO_ROLES

# The role in full (forms) and short (badges, registers).
ROLE_LABELS = {
    "facilitator": _l("Facilitatore"),
    "delegate": _l("Delegato di un'organizzazione"),
    "observer": _l("Osservatore"),
}
assert set(ROLE_LABELS) == set(TAVOLO_ROLES)

ROLE_SHORT_LABELS = {
    "facilitator": _l("Facilitatore"),
    "delegate": _l("Delegato"),
    "observer": _l("Osservatore"),
}
assert set(ROLE_SHORT_LABELS) == set(TAVOLO_ROLES)

SEDUTA_MODE_LABELS = {
    "presenza": _l("In presenza"),
    "remoto": _l("Da remoto"),
    "mista": _l("Mista (in presenza e da remoto)"),
}
assert set(SEDUTA_MODE_LABELS) == set(SEDUTA_MODES)

SEDUTA_STATUS_LABELS = {
    "convocata": _l("Convocata"),
    "in_corso": _l("In corso"),
    "chiusa": _l("Chiusa"),
}
assert set(SEDUTA_STATUS_LABELS) == set(SEDUTA_STATUSES)

PRESENCE_MODE_LABELS = {"presenza": _l("In sala"), "remoto": _l("Da remoto")}
assert set(PRESENCE_MODE_LABELS) == set(PRESENCE_MODES)

# How a presence was recorded: by opening the live page, or marked by the facilitator.
PRESENCE_SOURCE_LABELS = {"auto": _l("automatica"), "manual": _l("segnata dal facilitatore")}


def plain(labels: Mapping[str, object]) -> dict[str, str]:
    """Lazy labels as plain strings in the current language (for JSON and the pages' data)."""
    return {key: str(value) for key, value in labels.items()}


def for_pages() -> dict[str, Mapping[str, object]]:
    """The labels every tavoli template reads (``labels.roles``, ``labels.seduta_modes``, ...)."""
    return {
        "roles": ROLE_SHORT_LABELS,
        "seduta_modes": SEDUTA_MODE_LABELS,
        "seduta_statuses": SEDUTA_STATUS_LABELS,
        "presence_modes": PRESENCE_MODE_LABELS,
        "presence_sources": PRESENCE_SOURCE_LABELS,
    }
