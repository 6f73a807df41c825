"""The filters of the audit trail's page: a GET form (it changes nothing, so it carries no CSRF token)
whose fields are the query-string arguments, so a filtered page can be bookmarked or linked."""
from __future__ import annotations

from wtforms import DateField, Form, StringField
from wtforms.validators import NumberRange, Optional

from workspace.forms import ChoiceField, WholeNumberField, max_length, options
from workspace.i18n import lazy_gettext as _l

BAD_DATE = _l("Data non valida: usare il formato gg/mm/aaaa.")


class ItalianDateField(DateField):
    """``<input type="date">`` with an Italian message for a malformed value."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(BAD_DATE)) from None


class FilterForm(Form):
    dal = ItalianDateField(_l("Dal giorno"), validators=[Optional()])
    al = ItalianDateField(_l("Al giorno"), validators=[Optional()])
    chi = StringField(_l("Chi (nome, organizzazione o numero della persona)"),
                      validators=[Optional(), max_length(200)])
    azione = ChoiceField(_l("Azione"), validators=[Optional()])
    oggetto = ChoiceField(_l("Tipo di oggetto"), validators=[Optional()])
    numero = WholeNumberField(_l("Numero dell'oggetto"),
                              validators=[Optional(), NumberRange(min=1, message=_l("Un numero intero da 1 in su."))])

    def set_choices(self, actions: list[tuple[str, str]], object_types: list[tuple[str, str]]) -> None:
        everything = ("", str(_l("— tutte —")))
        self.azione.choices = options([everything, *actions])
        self.oggetto.choices = options([("", str(_l("— tutti —"))), *object_types])
