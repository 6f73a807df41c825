"""Every name the procedure shows: its phases, the sections of the avviso, the status of an
application and its outcome, the transitional conditions of an ETS, the kinds of published item,
the short names of the declarations, the open-data indicators; and how its moments read.

One home, used by the pages, the forms, the e-mails and the open-data CSV (Italian; English
through the catalogue). The labels are lazy: each use speaks the language of its moment (the
e-mails force Italian, the language of the procedure).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import format_date, format_datetime

from workspace.accounts.labels import KIND_LABELS, RUNTS_LABELS
from workspace.i18n import lazy_gettext as _l
from workspace.procedures.models import (
    APPLICATION_STATUSES,
    AVVISO_SECTIONS,
    PROCEDURE_STATUSES,
    PUBLICATION_KINDS,
    TRANSITIONAL_STATUSES,
)
from workspace.procedures.texts import DECLARATIONS

STATUS_LABELS = {
    "bozza": _l("Bozza"),
    "avviso_pubblicato": _l("Avviso pubblicato"),
    "candidature": _l("Candidature aperte"),
    "ammissioni": _l("Ammissioni"),
    "tavoli_in_corso": _l("Tavoli in corso"),
    "conclusa": _l("Conclusa"),
}
assert tuple(STATUS_LABELS) == PROCEDURE_STATUSES

# The six sections of the avviso, in order (DM 72/2021, § 2.2).
SECTION_LABELS = {
    "object": _l("Oggetto"),
    "avviso_eligibility": _l("Chi può partecipare"),
    "avviso_application": _l("Come candidarsi e quali dichiarazioni"),
    "avviso_conduct": _l("Tempi e modalità di svolgimento"),
    "avviso_closure": _l("Come si conclude il procedimento"),
    "avviso_transparency": _l("Trasparenza"),
}
assert tuple(SECTION_LABELS) == AVVISO_SECTIONS

TRANSITIONAL_LABELS = {
    "onlus": _l("ONLUS iscritta all'Anagrafe delle ONLUS, in regime transitorio (art. 101 CTS)"),
    "iscrizione_in_corso": _l("Domanda di iscrizione al RUNTS presentata, in attesa di esito"),
    "impresa_sociale": _l("Impresa sociale iscritta nella sezione speciale del Registro delle imprese "
                          "(art. 11, c. 3 CTS)"),
}
assert tuple(TRANSITIONAL_LABELS) == TRANSITIONAL_STATUSES

# How an ETS stands with the RUNTS, as the application form asks it.
REGISTRATION_LABELS = {"runts": _l("Iscritto al RUNTS"), **TRANSITIONAL_LABELS}

APPLICATION_STATUS_LABELS = {
    "submitted": _l("Ricevuta, da esaminare"),
    "admitted": _l("Ammessa"),
    "excluded": _l("Esclusa"),
}
assert tuple(APPLICATION_STATUS_LABELS) == APPLICATION_STATUSES

# What the RUP decides (the outcome then reads as APPLICATION_STATUS_LABELS).
DECISION_LABELS = {"admitted": _l("Ammettere"), "excluded": _l("Escludere")}

PUBLICATION_KIND_LABELS = {
    "avviso": _l("Avviso"),
    "tavolo": _l("Tavolo"),
    "ammissione": _l("Organizzazione ammessa"),
}
assert tuple(PUBLICATION_KIND_LABELS) == PUBLICATION_KINDS

# The declarations by their short names (the error summary of the form, the application page).
DECLARATION_LABELS = {
    "veridicita": _l("Veridicità dei dati"),
    "poteri": _l("Poteri di firma"),
    "requisiti": _l("Requisiti di partecipazione"),
    "territorio": _l("Operatività nel territorio"),
    "avviso": _l("Accettazione dell'avviso"),
    "gratuita": _l("Gratuità della partecipazione"),
    "privacy": _l("Informativa sui dati personali"),
}
assert set(DECLARATION_LABELS) == {key for key, _text in DECLARATIONS}

COI_LABELS = {
    "none": _l("Dichiaro che non sussistono situazioni di conflitto di interessi"),
    "declared": _l("Dichiaro situazioni, anche potenziali, di conflitto di interessi"),
}

# The applications row of the open data, by outcome.
APPLICATION_COUNT_LABELS = {
    "ricevute": _l("Candidature ricevute"),
    "ammesse": _l("Candidature ammesse"),
    "escluse": _l("Candidature escluse"),
}


def page_labels() -> dict[str, Any]:
    """The labels the procedure's templates read, under one name."""
    return {
        "status": STATUS_LABELS,
        "sections": SECTION_LABELS,
        "application_status": APPLICATION_STATUS_LABELS,
        "transitional": TRANSITIONAL_LABELS,
        "publication_kinds": PUBLICATION_KIND_LABELS,
        "kinds": KIND_LABELS,
        "runts": RUNTS_LABELS,
    }


def when(moment: datetime | None) -> str:
    """A moment in Europe/Rome, as people read it: 15 gennaio 2025, 12:00."""
    return format_datetime(moment, "d MMMM yyyy, HH:mm") if moment else ""


def day(moment: date | datetime | None) -> str:
    return format_date(moment, "d MMMM yyyy") if moment else ""
