"""The words of the planning area: outcomes of a disposition, card states, formats."""
from __future__ import annotations

from workspace.i18n import lazy_gettext as _l
from workspace.planning.models import OUTCOMES, SCHEDA_STATUSES

#: In Italian whatever the reader's language: exports and open data are official documents.
OUTCOME_LABELS_IT = {"accolto": "Accolto", "parzialmente_accolto": "Parzialmente accolto",
                     "non_accolto": "Non accolto"}
assert set(OUTCOME_LABELS_IT) == set(OUTCOMES)

OUTCOME_LABELS = {"accolto": _l("Accolto"), "parzialmente_accolto": _l("Parzialmente accolto"),
                  "non_accolto": _l("Non accolto")}
assert set(OUTCOME_LABELS) == set(OUTCOMES)

OUTCOME_BADGES = {"accolto": "success", "parzialmente_accolto": "warning", "non_accolto": "danger"}

STATUS_LABELS = {"bozza": _l("Bozza"), "pronta": _l("Pronta")}
assert set(STATUS_LABELS) == set(SCHEDA_STATUSES)

GROUP_LABELS = {"ets": _l("Enti del Terzo Settore"), "pubblico": _l("Enti pubblici"), "altri": _l("Altri soggetti")}

CHANGE_LABELS = {"creata": _l("creata"), "modificata": _l("modificata"), "pronta": _l("segnata come pronta"),
                 "riaperta": _l("riaperta (tornata in bozza)")}
