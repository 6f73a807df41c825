"""Forms of the verbali (Flask-WTF: every form carries the CSRF token). The forms check presence,
types and lengths with Italian messages; the rules (who, when, what state) are the services', and
come back as Problems with the same words the API and the tests see."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import NumberRange, Optional

from workspace.forms import ChoiceField, WholeNumberField, options
from workspace.forms import max_length as _max
from workspace.forms import required as _required
from workspace.i18n import lazy_gettext as _l
from workspace.ids import parse_id
from workspace.minutes.labels import APPROVER_LABELS, NAMING_LABELS
from workspace.minutes.models import MinutesSettings
from workspace.minutes.service import MAX_PUBLICATION_YEARS, MAX_REVIEW_DAYS


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (generate, regenerate, approve)."""


class SectionForm(FlaskForm):
    text = TextAreaField(_l("Testo della sezione (Markdown)"), validators=[Optional()])
    # The section's version the text started from (optimistic locking).
    version = HiddenField()

    def base_version(self) -> int | None:
        return parse_id(self.version.data, minimum=0)


class ReviewForm(FlaskForm):
    days = WholeNumberField(_l("Giorni per le osservazioni"), validators=[
        NumberRange(min=1, max=MAX_REVIEW_DAYS,
                    message=_l("Il periodo per le osservazioni va da 1 a %(n)s giorni.", n=MAX_REVIEW_DAYS))])


class RemarkForm(FlaskForm):
    section = ChoiceField(_l("Parte del verbale"), validators=[Optional()])
    text = TextAreaField(_l("La tua osservazione"), validators=[_required(), _max(5000)])


class DecisionForm(FlaskForm):
    decision = ChoiceField(_l("Esito"), choices=options([("accolta", _l("Accolta")), ("respinta", _l("Respinta"))]),
                           validators=[_required()])
    reason = TextAreaField(_l("Motivazione"), validators=[_required(), _max(2000)])


class ErrataForm(FlaskForm):
    corrections = TextAreaField(_l("Correzioni (Markdown)"), validators=[_required(), _max(20000)])
    reason = TextAreaField(_l("Motivazione dell'errata corrige"), validators=[_required(), _max(2000)])


class SettingsForm(FlaskForm):
    approver = ChoiceField(_l("Chi approva i verbali"), choices=options(APPROVER_LABELS.items()),
                           validators=[_required()])
    review_days = WholeNumberField(_l("Giorni per le osservazioni (predefinito per ogni verbale)"), validators=[
        NumberRange(min=1, max=MAX_REVIEW_DAYS,
                    message=_l("Il periodo per le osservazioni va da 1 a %(n)s giorni.", n=MAX_REVIEW_DAYS))])
    naming = ChoiceField(_l("Come i verbali pubblicati nominano le persone"), choices=options(NAMING_LABELS.items()),
                         validators=[_required()])
    publication_years = WholeNumberField(_l("Anni di pubblicazione dei verbali approvati"), validators=[
        NumberRange(min=1, max=MAX_PUBLICATION_YEARS,
                    message=_l("La pubblicazione dura da 1 a %(n)s anni.", n=MAX_PUBLICATION_YEARS))])

    def fill(self, settings: MinutesSettings) -> None:
        self.approver.data, self.review_days.data = settings.approver, settings.review_days
        self.naming.data, self.publication_years.data = settings.naming, settings.publication_years
