"""Forms of the Ufficio di Piano's administration of tavoli (Flask-WTF: every form carries the
CSRF token).

Forms check presence, types and lengths with Italian messages; the rules (active macroaree, the
window's order, quorum, who may be a delegate) live in the services (``membership.py``,
``service.py``) and come back as Problems, so the pages, the tests and the live channel refuse the
same things with the same words. Labels: ``labels.py``.
Date-times are typed in Europe/Rome (``datetime-local``) and stored in UTC.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from workspace.forms import (
    ChoiceField,
    MultiCheckboxField,
    RomeDateTimeField,
    WholeNumberField,
    options,
)
from workspace.forms import max_length as _max
from workspace.forms import required as _required
from workspace.i18n import lazy_gettext as _l
from workspace.tavoli.labels import ROLE_LABELS, SEDUTA_MODE_LABELS


class TavoloForm(FlaskForm):
    title = StringField(_l("Titolo del tavolo"), validators=[_required(), _max(300)])
    description = TextAreaField(_l("Descrizione"), validators=[Optional(), _max(5000)])
    macroaree = MultiCheckboxField(_l("Macroaree"), validators=[
        InputRequired(message=_l("Scegliere almeno una macroarea."))])
    opens_at = RomeDateTimeField(_l("Apertura della raccolta dei contributi"), validators=[Optional()])
    closes_at = RomeDateTimeField(_l("Chiusura della raccolta dei contributi"), validators=[Optional()])
    quorum_percent = WholeNumberField(
        _l("Quorum (percentuale delle organizzazioni membro)"), default=50,
        validators=[NumberRange(min=1, max=100, message=_l("Il quorum è una percentuale fra 1 e 100."))])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        opens, closes = self.opens_at, self.closes_at
        if opens.errors or closes.errors:
            return False
        if bool(opens.data) != bool(closes.data):
            closes.errors = [*closes.errors, str(_l(
                "Indicare sia l'apertura sia la chiusura della finestra, o nessuna delle due."))]
            return False
        if opens.data and closes.data and closes.data <= opens.data:
            closes.errors = [*closes.errors, str(_l("La finestra dei contributi deve chiudersi dopo l'apertura."))]
            return False
        return ok


class MemberForm(FlaskForm):
    """An organisation joins the tavolo (without naming a person yet)."""

    organisation_id = ChoiceField(_l("Organizzazione"), coerce=int, validators=[_required()])


class RoleForm(FlaskForm):
    """A person's role at the tavolo; delegates speak for a member organisation."""

    user_id = ChoiceField(_l("Persona"), coerce=int, validators=[_required()])
    role = ChoiceField(_l("Ruolo"), choices=options(ROLE_LABELS.items()), validators=[_required()])
    organisation_id = ChoiceField(_l("Organizzazione rappresentata"), coerce=int, validators=[Optional()])

    def validate_organisation_id(self, field):
        if self.role.data == "delegate" and not field.data:
            raise ValidationError(_l("Un delegato rappresenta un'organizzazione: sceglierla."))


class SedutaForm(FlaskForm):
    starts_at = RomeDateTimeField(_l("Data e ora di inizio"), validators=[
        InputRequired(message=_l("Indicare data e ora della seduta."))])
    place = StringField(_l("Luogo o collegamento"), validators=[Optional(), _max(300)])
    mode = ChoiceField(_l("Modalità"), choices=options(SEDUTA_MODE_LABELS.items()), default="presenza",
                       validators=[_required()])
    agenda = TextAreaField(_l("Ordine del giorno (un punto per riga)"), validators=[Optional(), _max(10000)])

    def validate_agenda(self, field):
        for line in (field.data or "").splitlines():
            if len(line.strip()) > 300:
                raise ValidationError(_l("Ogni punto dell'ordine del giorno è lungo al massimo 300 caratteri."))

    def agenda_items(self) -> list[str]:
        return [line.strip() for line in (self.agenda.data or "").splitlines() if line.strip()]
