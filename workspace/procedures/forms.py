"""Forms of the procedure pages (Flask-WTF: each carries the CSRF token, the public form too).

Forms check presence, types and lengths; the rules (codice fiscale, RUNTS, declarations, window,
deadline, lifecycle) live in the services (``lifecycle``, ``applications``, ``admissions``) and come
back as field errors, so the pages and the tests refuse the same things with the same words. The
labels come from ``labels``. Date-times are typed in Europe/Rome and stored in UTC.
"""
from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional

from workspace.accounts.labels import KIND_LABELS, RUNTS_LABELS
from workspace.forms import ROME, ChoiceField, MultiCheckboxField, RomeDateTimeField, options, required
from workspace.forms import max_length as _max
from workspace.i18n import lazy_gettext as _l
from workspace.procedures.labels import (
    COI_LABELS,
    DECISION_LABELS,
    DECLARATION_LABELS,
    REGISTRATION_LABELS,
    SECTION_LABELS,
)
from workspace.procedures.models import TRIENNI
from workspace.procedures.texts import DECLARATIONS


class Mandatory:
    """Marks a field as required (asterisk, ``required`` attribute) while the service, not WTForms,
    says what is wrong, so every problem of the form is reported at once in the same words."""

    field_flags = {"required": True}

    def __call__(self, form, field) -> None:
        return None


def to_local(moment: datetime | None) -> datetime | None:
    """A stored UTC moment as the naive Europe/Rome value a ``datetime-local`` input shows."""
    return moment.astimezone(ROME).replace(tzinfo=None) if moment else None


class ItalianDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Data non valida: usare il formato gg/mm/aaaa."))) from None


# --------------------------------------------------------------------------- administration


class ProcedureForm(FlaskForm):
    """The Ufficio di Piano starts a procedure (its RUP is whoever starts it, changeable later)."""

    title = StringField(_l("Titolo della procedura"), validators=[required(), _max(300)])
    object = TextAreaField(_l("Oggetto"), validators=[Optional(), _max(5000)])
    ambito_code = ChoiceField(_l("Ambito territoriale"), validators=[required()])
    triennium = ChoiceField(_l("Triennio di programmazione"), choices=options((t, t) for t in TRIENNI),
                            default=TRIENNI[0], validators=[required()])


class ActForm(FlaskForm):
    act_number = StringField(_l("Numero dell'atto di avvio"), validators=[_max(60)])
    act_date = ItalianDateField(_l("Data dell'atto di avvio"), validators=[Optional()])
    act_file = FileField(_l("File dell'atto (PDF o PDF firmato .p7m)"))
    rup_id = SelectField(_l("Responsabile del procedimento (RUP)"), choices=[], validate_choice=False)


class AvvisoForm(FlaskForm):
    object = TextAreaField(SECTION_LABELS["object"], validators=[_max(20000)])
    avviso_eligibility = TextAreaField(SECTION_LABELS["avviso_eligibility"], validators=[_max(20000)])
    avviso_application = TextAreaField(SECTION_LABELS["avviso_application"], validators=[_max(20000)])
    avviso_conduct = TextAreaField(SECTION_LABELS["avviso_conduct"], validators=[_max(20000)])
    avviso_closure = TextAreaField(SECTION_LABELS["avviso_closure"], validators=[_max(20000)])
    avviso_transparency = TextAreaField(SECTION_LABELS["avviso_transparency"], validators=[_max(20000)])
    avviso_published_at = RomeDateTimeField(_l("Data di pubblicazione dell'avviso"), validators=[Optional()])
    application_deadline = RomeDateTimeField(_l("Scadenza delle candidature"), validators=[Optional()])
    allowed_kinds = MultiCheckboxField(_l("Chi può candidarsi"), choices=options(KIND_LABELS.items()))


class TransitionForm(FlaskForm):
    target = HiddenField()


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Decisione"), choices=options(DECISION_LABELS.items()),
                          validate_choice=False, validators=[InputRequired(message=_l("Scegliere se ammettere o "
                                                                                       "escludere."))])
    motivation = TextAreaField(_l("Motivazione"), validators=[_max(5000)])


class ProtocolForm(FlaskForm):
    protocol_number = StringField(_l("Numero di protocollo (facoltativo)"), validators=[_max(60)])


class PublicationWindowForm(FlaskForm):
    item_id = HiddenField()
    published_from = RomeDateTimeField(_l("Pubblicato dal"), validators=[Optional()])
    published_until = RomeDateTimeField(_l("Pubblicato fino al"), validators=[Optional()])


class PublishTavoloForm(FlaskForm):
    tavolo_id = HiddenField()


# --------------------------------------------------------------------------- the public form


class ApplicationForm(FlaskForm):
    organisation_name = StringField(_l("Denominazione dell'organizzazione"), validators=[Mandatory(), _max(300)])
    codice_fiscale = StringField(_l("Codice fiscale dell'organizzazione"), validators=[Mandatory(), _max(32)])
    organisation_kind = SelectField(_l("Tipo di organizzazione"), choices=options(KIND_LABELS.items()),
                                    default="ets", validate_choice=False)
    registration = RadioField(_l("Iscrizione al RUNTS"), choices=options(REGISTRATION_LABELS.items()), default="runts",
                              validate_choice=False)
    runts_section = SelectField(_l("Sezione del RUNTS"),
                                choices=options([("", _l("— scegliere —")), *RUNTS_LABELS.items()]),
                                validate_choice=False)
    runts_repertorio = StringField(_l("Numero di repertorio RUNTS"), validators=[_max(32)])
    transitional_details = TextAreaField(_l("Estremi della condizione transitoria"), validators=[_max(1000)])
    organisation_email = EmailField(_l("PEC o e-mail dell'organizzazione per le comunicazioni"),
                                    validators=[Mandatory(), _max(254)])
    legal_rep_name = StringField(_l("Legale rappresentante (nome e cognome)"), validators=[Mandatory(), _max(200)])
    legal_rep_role = StringField(_l("Carica del legale rappresentante (facoltativa)"), validators=[_max(100)])
    signed_by_proxy = BooleanField(_l("La candidatura è presentata da una persona munita di procura"))
    proxy_name = StringField(_l("Chi firma su procura (nome e cognome)"), validators=[_max(200)])
    proxy_file = FileField(_l("Procura (PDF o PDF firmato .p7m)"))
    delegate_name = StringField(_l("Persona delegata ai tavoli (nome e cognome)"), validators=[Mandatory(), _max(200)])
    delegate_email = EmailField(_l("E-mail della persona delegata"), validators=[Mandatory(), _max(254)])
    coi = RadioField(_l("Conflitto di interessi"), validate_choice=False, choices=options(COI_LABELS.items()))
    coi_details = TextAreaField(_l("Situazioni di conflitto di interessi dichiarate"), validators=[_max(5000)])
    tavoli = MultiCheckboxField(_l("Tavoli a cui partecipare"), coerce=str, choices=[])

    def declaration_fields(self) -> list:
        return [self[f"decl_{key}"] for key, _text in DECLARATIONS]

    def service_data(self) -> dict:
        return {
            "organisation_name": self.organisation_name.data,
            "codice_fiscale": self.codice_fiscale.data,
            "organisation_kind": self.organisation_kind.data or "ets",
            "registration": self.registration.data,
            "runts_section": self.runts_section.data,
            "runts_repertorio": self.runts_repertorio.data,
            "transitional_details": self.transitional_details.data,
            "organisation_email": self.organisation_email.data,
            "legal_rep_name": self.legal_rep_name.data,
            "legal_rep_role": self.legal_rep_role.data,
            "signed_by_proxy": self.signed_by_proxy.data,
            "proxy_name": self.proxy_name.data,
            "delegate_name": self.delegate_name.data,
            "delegate_email": self.delegate_email.data,
            "declarations": {key: self[f"decl_{key}"].data for key, _text in DECLARATIONS},
            "coi": self.coi.data,
            "coi_details": self.coi_details.data,
            "tavoli": self.tavoli.data or [],
        }


for _key, _text in DECLARATIONS:
    # The label is the declaration itself (what is declared); the description names it in the summary.
    setattr(ApplicationForm, f"decl_{_key}", BooleanField(_text, description=DECLARATION_LABELS[_key]))
