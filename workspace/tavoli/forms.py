"""Forms of the Ufficio di Piano's administration of tavoli (Flask-WTF: every form carries the
CSRF token).

Forms check presence, types and lengths with Italian messages; the rules (active macroaree, the
window's order, quorum, who may be a delegate) live in ``service.py`` and come back as Problems,
so the pages, the tests and the live channel refuse the same things with the same words.
Date-times are typed in Europe/Rome (``datetime-local``) and stored in UTC.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

try:
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover — WTForms before 3.3
    SelectChoice = None

ROME = ZoneInfo("Europe/Rome")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
TRIENNI = ("2025-2027", "2028-2030")

REQUIRED = _l("Questo campo è obbligatorio.")
BAD_DATETIME = _l("Data e ora non valide: usare il formato gg/mm/aaaa hh:mm.")
BAD_CHOICE = _l("Scegliere una delle opzioni proposte.")

ROLE_LABELS = {
    "facilitator": _l("Facilitatore"),
    "delegate": _l("Delegato di un'organizzazione"),
    "observer": _l("Osservatore"),
}
ROLE_SHORT_LABELS = {
    "facilitator": _l("Facilitatore"),
    "delegate": _l("Delegato"),
    "observer": _l("Osservatore"),
}
SEDUTA_MODE_LABELS = {
    "presenza": _l("In presenza"),
    "remoto": _l("Da remoto"),
    "mista": _l("Mista (in presenza e da remoto)"),
}
SEDUTA_STATUS_LABELS = {
    "convocata": _l("Convocata"),
    "in_corso": _l("In corso"),
    "chiusa": _l("Chiusa"),
}
PRESENCE_MODE_LABELS = {"presenza": _l("In sala"), "remoto": _l("Da remoto")}
ANNOTATION_KIND_LABELS = {
    "dato": _l("Dato / evidenza"),
    "esperienza": _l("Esperienza dal territorio"),
    "risorsa": _l("Risorsa disponibile"),
    "criticita": _l("Criticità"),
    "proposta": _l("Proposta"),
}
CONSOLIDATION_LABELS = {"consolidato": _l("Consolidato"), "nuovo": _l("Nuovo")}
BISOGNO_STATUS_LABELS = {
    "proposto": _l("Proposto"),
    "in_discussione": _l("In discussione"),
    "accorpato": _l("Accorpato"),
    "ritirato": _l("Ritirato"),
}


def options(pairs) -> list:
    """Choices for a select: SelectChoice where WTForms has it (tuples are deprecated)."""
    return [SelectChoice(value, label) if SelectChoice is not None else (value, label) for value, label in pairs]


def _values(choices) -> set:
    return {c[0] if isinstance(c, tuple) else c.value for c in choices or []}


def _required():
    return InputRequired(message=REQUIRED)


def _max(n: int):
    return Length(max=n, message=_l("Al massimo %(max)d caratteri.", max=n))


def to_utc(local: datetime | None) -> datetime | None:
    """A naive ``datetime-local`` value read as Europe/Rome time, in UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=ROME).astimezone(UTC)


class RomeDateTimeField(DateTimeLocalField):
    """``<input type="datetime-local">`` with an Italian message for a malformed value."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", [DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(BAD_DATETIME)) from None


class ChoiceField(SelectField):
    """A select whose refusal of an unknown value speaks plain Italian."""

    def pre_validate(self, form):
        if self.choices is not None and self.data not in _values(self.choices):
            raise ValidationError(str(BAD_CHOICE))


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier than <select multiple> by keyboard
    and on phones)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = _values(self.choices)
        if any(value not in allowed for value in self.data or []):
            raise ValidationError(str(BAD_CHOICE))


class WholeNumberField(IntegerField):
    """A number that is not one becomes "missing", so the range validator's Italian message is
    the only one shown."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class ProcedureForm(FlaskForm):
    title = StringField(_l("Titolo della procedura"), validators=[_required(), _max(300)])
    object = TextAreaField(_l("Oggetto"), validators=[Optional(), _max(5000)])
    ambito_code = ChoiceField(_l("Ambito territoriale"), validators=[_required()])
    triennium = ChoiceField(_l("Triennio di programmazione"), choices=options((t, t) for t in TRIENNI),
                            default=TRIENNI[0], validators=[_required()])


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
