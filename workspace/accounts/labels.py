"""Labels of organisation kinds and RUNTS sections: one home, used by pages, e-mails and exports
(Italian; English through the catalogue)."""
from __future__ import annotations

from workspace.accounts.models import ORGANISATION_KINDS, RUNTS_SECTIONS
from workspace.i18n import lazy_gettext as _l

KIND_LABELS = {
    "comune": _l("Comune"),
    "ufficio_di_piano": _l("Ufficio di Piano"),
    "asst": _l("ASST (Azienda socio-sanitaria territoriale)"),
    "ats": _l("ATS (Agenzia di tutela della salute)"),
    "ets": _l("Ente del Terzo settore (ETS)"),
    "sindacato": _l("Organizzazione sindacale"),
    "fondazione": _l("Fondazione"),
    "scuola": _l("Scuola"),
    "altro": _l("Altro"),
}
assert set(KIND_LABELS) == set(ORGANISATION_KINDS)

RUNTS_LABELS = {
    "odv": _l("Organizzazioni di volontariato (ODV)"),
    "aps": _l("Associazioni di promozione sociale (APS)"),
    "enti_filantropici": _l("Enti filantropici"),
    "imprese_sociali": _l("Imprese sociali, incluse le cooperative sociali"),
    "reti_associative": _l("Reti associative"),
    "soms": _l("Società di mutuo soccorso"),
    "altri_ets": _l("Altri enti del Terzo settore"),
}
assert set(RUNTS_LABELS) == set(RUNTS_SECTIONS)
