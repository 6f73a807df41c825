"""Forms of the esiti pages (Flask-WTF: every form carries the CSRF token). Fields are named by the
column keys of the table (``service.COLUMNS``); they only carry text: the rules are the service's
(``service.clean``), whose messages come back on the fields they concern."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField

from workspace.esiti import scale
from workspace.esiti.models import PreviousObjective
from workspace.forms import ChoiceField, options
from workspace.i18n import lazy_gettext as _l


def _yes_no() -> list:
    return options([("", _l("— non indicato —")), ("SI", "SI"), ("NO", "NO")])


class ObjectiveForm(FlaskForm):
    obiettivo = StringField(_l("Obiettivo della programmazione 2021-2023"))
    macroarea = StringField(_l("Macroarea o area di policy 2021-2023 (facoltativa)"))
    azioni_programmate = StringField(_l("Numero di azioni programmate"))
    azioni_realizzate = StringField(_l("Numero di azioni realizzate"))
    valutazione_utenti = TextAreaField(_l("Valutazione da parte degli utenti (ove pertinente)"))
    adeguatezza_risorse = ChoiceField(_l("Adeguatezza delle risorse umane e strumentali impiegate"))
    risorse_preventivate = StringField(_l("Risorse preventivate (euro)"))
    risorse_pagate = StringField(_l("Risorse impegnate/liquidate (euro)"))
    criticita = TextAreaField(_l("Criticità rilevate e piano di miglioramento"))
    risposta_bisogno = ChoiceField(_l("Ha risposto adeguatamente a un bisogno producendo un cambiamento positivo?"))
    risposta_bisogno_motivazione = TextAreaField(_l("Motivazione della risposta"))
    continuita_2018_2020 = ChoiceField(_l("Era in continuità con la programmazione 2018-2020?"))
    riproposto_2025_2027 = ChoiceField(_l("Verrà riproposto nella programmazione 2025-2027?"))
    riproposto_motivazione = TextAreaField(_l("Motivazione della scelta"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.adeguatezza_risorse.choices = options(
            [("", _l("— non indicato —")), *((o, o) for o in scale.options("resource_adequacy"))])
        for name in ("risposta_bisogno", "continuita_2018_2020", "riproposto_2025_2027"):
            getattr(self, name).choices = _yes_no()

    def fill(self, objective: PreviousObjective) -> None:
        from workspace.esiti.service import INPUT_COLUMNS

        for column in INPUT_COLUMNS:
            value = getattr(objective, column.attr or "")
            if column.kind == "money" and value is not None:
                value = format(value, "f").replace(".", ",")
            getattr(self, column.key).data = "" if value is None else str(value)

    def raw(self) -> dict[str, str]:
        from workspace.esiti.service import INPUT_COLUMNS

        return {c.key: getattr(self, c.key).data or "" for c in INPUT_COLUMNS}


class ImportForm(FlaskForm):
    file = FileField(_l("File da importare (CSV, XLSX o ODS)"))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (delete)."""
