"""Forms of the bisogni pages (Flask-WTF: every form carries the CSRF token).

The forms only carry the fields and their CSRF token; every rule (required title, text limits,
macroaree of the tavolo, key points of the chosen macroaree, Comuni of the Ambito, evidence year,
contribution window, permissions) lives in ``workspace.needs.service``, so the pages, the live
channel and the tests refuse the same things with the same Italian words.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

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


class BisognoForm(FlaskForm):
    """Create and edit. The multiple choices are rendered by the template (grouped checkboxes);
    ``validate_choice=False`` leaves the refusal of a foreign value to the service."""

    title = StringField(_l("Titolo"))
    macroarea = SelectField(_l("Macroarea principale"), choices=[], validate_choice=False)
    transversal = SelectMultipleField(_l("Macroaree trasversali"), choices=[], validate_choice=False)
    key_points = SelectMultipleField(_l("Punti chiave"), choices=[], validate_choice=False)
    description = TextAreaField(_l("Descrizione"))
    target_population = TextAreaField(_l("Popolazione destinataria"))
    whole_ambito = BooleanField(_l("Intero Ambito"))
    comuni = SelectMultipleField(_l("Comuni interessati"), choices=[], validate_choice=False)
    evidence_source = StringField(_l("Fonte del dato"))
    evidence_figure = StringField(_l("Dato"))
    evidence_year = StringField(_l("Anno del dato"))
    # Choices rendered by the template from CONSOLIDATION_LABELS; the service checks the value.
    consolidation = RadioField(_l("Consolidato o nuovo"), choices=[], default="nuovo", validate_choice=False)
    # The version the person started from: a stale one means someone else saved in between.
    version = HiddenField()

    def service_data(self) -> dict[str, Any]:
        """The submitted values in the shape ``needs.service`` expects."""
        return {
            "title": self.title.data or "",
            "macroarea": self.macroarea.data or None,
            "transversal": list(self.transversal.data or []),
            "key_points": list(self.key_points.data or []),
            "description": self.description.data or "",
            "target_population": self.target_population.data or "",
            "whole_ambito": bool(self.whole_ambito.data),
            "comuni": list(self.comuni.data or []),
            "evidence_source": self.evidence_source.data or "",
            "evidence_figure": self.evidence_figure.data or "",
            "evidence_year": (self.evidence_year.data or "").strip(),
            "consolidation": self.consolidation.data or "nuovo",
        }

    def fill_from(self, fields: dict[str, Any], version: int) -> None:
        """Pre-fill from ``service.bisogno_fields`` (edit page)."""
        self.title.data = fields["title"]
        self.macroarea.data = fields["macroarea"]
        self.transversal.data = list(fields["transversal"])
        self.key_points.data = [str(k) for k in fields["key_points"]]
        self.description.data = fields["description"]
        self.target_population.data = fields["target_population"]
        self.whole_ambito.data = fields["whole_ambito"]
        self.comuni.data = [str(c) for c in fields["comuni"]]
        self.evidence_source.data = fields["evidence_source"]
        self.evidence_figure.data = fields["evidence_figure"]
        self.evidence_year.data = "" if fields["evidence_year"] is None else str(fields["evidence_year"])
        self.consolidation.data = fields["consolidation"]
        self.version.data = str(version)


class AnnotationForm(FlaskForm):
    kind = RadioField(_l("Tipo di annotazione"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Testo"))
    parent_id = SelectField(_l("In risposta a"), choices=[], validate_choice=False)


class ReasonForm(FlaskForm):
    """Deletion of one's own annotation (no reason needed) or moderation (reason required)."""

    reason = TextAreaField(_l("Motivazione"))


class SupportForm(FlaskForm):
    support = HiddenField()


class StatusForm(FlaskForm):
    status = SelectField(_l("Nuovo stato"), choices=[], validate_choice=False)


class MergeForm(FlaskForm):
    into = SelectField(_l("Accorpa nel bisogno"), choices=[], validate_choice=False)


class DigestForm(FlaskForm):
    digest = HiddenField()
