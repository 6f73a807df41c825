"""Labels of the bisogni: statuses, consolidato/nuovo, annotation kinds, field names and kinds of
version. One home, used by the pages, the services' messages, the live pages' JavaScript (passed
as data), the «novità» page and the daily e-mail; Italian here, English through the catalogue."""
from __future__ import annotations

from workspace.i18n import lazy_gettext as _l
from workspace.needs.models import ANNOTATION_KINDS, BISOGNO_STATUSES, CONSOLIDATION

STATUS_LABELS = {
    "proposto": _l("Proposto"),
    "in_discussione": _l("In discussione"),
    "accorpato": _l("Accorpato"),
    "ritirato": _l("Ritirato"),
}
assert set(STATUS_LABELS) == set(BISOGNO_STATUSES)

# Bootstrap Italia badge colour of each status (classes only: no style attributes under the CSP).
STATUS_BADGES = {
    "proposto": "bg-primary",
    "in_discussione": "bg-warning text-dark",
    "accorpato": "bg-secondary",
    "ritirato": "bg-dark",
}
assert set(STATUS_BADGES) == set(BISOGNO_STATUSES)

CONSOLIDATION_LABELS = {
    "consolidato": _l("Consolidato"),
    "nuovo": _l("Nuovo"),
}
assert set(CONSOLIDATION_LABELS) == set(CONSOLIDATION)

KIND_LABELS = {
    "dato": _l("Dato o evidenza"),
    "esperienza": _l("Esperienza sul campo"),
    "risorsa": _l("Risorsa offerta"),
    "criticita": _l("Criticità"),
    "proposta": _l("Proposta"),
}
assert set(KIND_LABELS) == set(ANNOTATION_KINDS)

# Plural headings of the annotation sections on the detail page.
KIND_HEADINGS = {
    "dato": _l("Dati ed evidenze"),
    "esperienza": _l("Esperienze sul campo"),
    "risorsa": _l("Risorse offerte"),
    "criticita": _l("Criticità"),
    "proposta": _l("Proposte"),
}
assert set(KIND_HEADINGS) == set(ANNOTATION_KINDS)

# The fields of a bisogno (history page, and the services' messages about a field).
FIELD_LABELS = {
    "title": _l("Titolo"),
    "description": _l("Descrizione"),
    "macroarea": _l("Macroarea principale"),
    "transversal": _l("Macroaree trasversali"),
    "key_points": _l("Punti chiave"),
    "target_population": _l("Popolazione destinataria"),
    "comuni": _l("Comuni interessati"),
    "whole_ambito": _l("Intero Ambito"),
    "evidence_source": _l("Fonte del dato"),
    "evidence_figure": _l("Dato"),
    "evidence_year": _l("Anno del dato"),
    "consolidation": _l("Consolidato o nuovo"),
    "status": _l("Stato"),
}

# The fields of an annotation and of its deletion, for the services' messages.
ANNOTATION_FIELD_LABELS = {
    "body": _l("Testo"),
    "reason": _l("Motivazione"),
}

# What a version of a bisogno records (BisognoVersion.change).
CHANGE_LABELS = {
    "creato": _l("Creazione"),
    "modificato": _l("Modifica"),
    "stato": _l("Cambio di stato"),
    "accorpato": _l("Accorpamento"),
}
