"""Form fields and helpers shared by every area's forms (Flask-WTF + WTForms).

Dates and times are typed in Europe/Rome (``datetime-local``) and stored in UTC; refusals speak
plain Italian; multiple choices are checkbox lists (easier than ``<select multiple>`` by keyboard
and on phones).
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from wtforms import DateTimeLocalField, IntegerField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from workspace.i18n import lazy_gettext as _l

try:
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover — WTForms before 3.3
    SelectChoice = None

ROME = ZoneInfo("Europe/Rome")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"

REQUIRED = _l("Questo campo è obbligatorio.")
BAD_DATETIME = _l("Data e ora non valide: usare il formato gg/mm/aaaa hh:mm.")
BAD_CHOICE = _l("Scegliere una delle opzioni proposte.")


def options(pairs) -> list:
    """Choices for a select: SelectChoice where WTForms has it (tuples are deprecated)."""
    return [SelectChoice(value, label) if SelectChoice is not None else (value, label) for value, label in pairs]


def values(choices) -> set:
    return {c[0] if isinstance(c, tuple) else c.value for c in choices or []}


def required():
    return InputRequired(message=REQUIRED)


def max_length(n: int):
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
        if self.choices is not None and self.data not in values(self.choices):
            raise ValidationError(str(BAD_CHOICE))


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier than <select multiple> by keyboard
    and on phones)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        allowed = values(self.choices)
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
