"""Forms of the bisogni pages (Flask-WTF: every form carries the CSRF token).

The forms only carry the fields and their CSRF token; every rule (required title, text limits,
macroaree of the tavolo, key points of the chosen macroaree, Comuni of the Ambito, evidence year,
contribution window, permissions) lives in ``workspace.needs.service``, so the pages, the live
channel and the tests refuse the same things with the same Italian words. Labels of fields and
choices: ``workspace.needs.labels``.
"""
from __future__ import annotations

from typing import Any

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

from workspace.i18n import lazy_gettext as _l
from workspace.needs.labels import ANNOTATION_FIELD_LABELS, FIELD_LABELS


class BisognoForm(FlaskForm):
    """Create and edit. The multiple choices are rendered by the template (grouped checkboxes);
    ``validate_choice=False`` leaves the refusal of a foreign value to the service."""

    title = StringField(FIELD_LABELS["title"])
    macroarea = SelectField(FIELD_LABELS["macroarea"], choices=[], validate_choice=False)
    transversal = SelectMultipleField(FIELD_LABELS["transversal"], choices=[], validate_choice=False)
    key_points = SelectMultipleField(FIELD_LABELS["key_points"], choices=[], validate_choice=False)
    description = TextAreaField(FIELD_LABELS["description"])
    target_population = TextAreaField(FIELD_LABELS["target_population"])
    whole_ambito = BooleanField(FIELD_LABELS["whole_ambito"])
    comuni = SelectMultipleField(FIELD_LABELS["comuni"], choices=[], validate_choice=False)
    evidence_source = StringField(FIELD_LABELS["evidence_source"])
    evidence_figure = StringField(FIELD_LABELS["evidence_figure"])
    evidence_year = StringField(FIELD_LABELS["evidence_year"])
    # Choices rendered by the template from CONSOLIDATION_LABELS; the service checks the value.
    consolidation = RadioField(FIELD_LABELS["consolidation"], choices=[], default="nuovo", validate_choice=False)
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
        """Pre-fill from ``payloads.bisogno_fields`` (edit page)."""
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
    body = TextAreaField(ANNOTATION_FIELD_LABELS["body"])
    parent_id = SelectField(_l("In risposta a"), choices=[], validate_choice=False)


class ReasonForm(FlaskForm):
    """Deletion of one's own annotation (no reason needed) or moderation (reason required)."""

    reason = TextAreaField(ANNOTATION_FIELD_LABELS["reason"])


class SupportForm(FlaskForm):
    support = HiddenField()


class StatusForm(FlaskForm):
    status = SelectField(_l("Nuovo stato"), choices=[], validate_choice=False)


class MergeForm(FlaskForm):
    into = SelectField(_l("Accorpa nel bisogno"), choices=[], validate_choice=False)


class DigestForm(FlaskForm):
    digest = HiddenField()
