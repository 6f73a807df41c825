"""Forms of the accounts pages (Flask-WTF: every form carries the CSRF token).

Forms check presence and length only; the rules (codice fiscale, RUNTS, e-mail syntax, password
policy, duplicates) live in ``service.py`` and come back as field errors, so the HTTP pages, the
tests and any future API refuse the same things with the same words.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import EqualTo, Optional

from workspace.accounts.labels import KIND_LABELS, RUNTS_LABELS
from workspace.forms import max_length as _max
from workspace.forms import options as choices
from workspace.forms import required as _required
from workspace.i18n import lazy_gettext as _l


class LoginForm(FlaskForm):
    email = EmailField(_l("Indirizzo e-mail"), validators=[_required(), _max(254)])
    password = PasswordField(_l("Password"), validators=[_required(), _max(1024)])
    remember = BooleanField(_l("Ricordami su questo dispositivo"))
    next = HiddenField()
    submit = SubmitField(_l("Accedi"))


class EmailRequestForm(FlaskForm):
    """Password forgotten, or login link: only the address."""

    email = EmailField(_l("Indirizzo e-mail"), validators=[_required(), _max(254)])
    submit = SubmitField(_l("Invia il link"))


class ConfirmForm(FlaskForm):
    """A single button: links in e-mails only show a page; the POST does the work (mail scanners
    that prefetch links must not use up single-use tokens)."""

    submit = SubmitField(_l("Conferma"))


def _password_pair(label: str, field_name: str) -> PasswordField:
    return PasswordField(label, validators=[EqualTo(field_name, message=_l("Le due password non coincidono."))])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Nuova password"), validators=[_required(), _max(1024)])
    password_confirm = _password_pair(_l("Ripeti la password"), "password")
    submit = SubmitField(_l("Salva la nuova password"))


class InvitationForm(FlaskForm):
    """Join now without a password, or choose one (two buttons)."""

    name = StringField(_l("Nome e cognome"), validators=[_required(), _max(200)])
    password = PasswordField(_l("Password (facoltativa)"), validators=[Optional(), _max(1024)])
    password_confirm = _password_pair(_l("Ripeti la password"), "password")
    join = SubmitField(_l("Aderisci senza password"))
    join_with_password = SubmitField(_l("Aderisci e imposta la password"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Password attuale"), validators=[_max(1024)])
    new_password = PasswordField(_l("Nuova password"), validators=[_required(), _max(1024)])
    new_password_confirm = _password_pair(_l("Ripeti la nuova password"), "new_password")
    submit = SubmitField(_l("Cambia password"))


class OrganisationForm(FlaskForm):
    name = StringField(_l("Denominazione"), validators=[_required(), _max(300)])
    # Choices are checked by the service (Italian messages), not by WTForms.
    kind = SelectField(_l("Tipo"), choices=choices(KIND_LABELS.items()), validate_choice=False,
                       validators=[_required()])
    ambito_code = SelectField(_l("Ambito territoriale"), choices=[], validate_choice=False)
    codice_fiscale = StringField(_l("Codice fiscale"), validators=[_max(32)])
    runts_section = SelectField(
        _l("Sezione del RUNTS"),
        choices=choices([("", _l("— non applicabile —")), *RUNTS_LABELS.items()]),
        validate_choice=False,
    )
    runts_repertorio = StringField(_l("Numero di repertorio RUNTS"), validators=[_max(32)])
    email = EmailField(_l("E-mail dell'organizzazione (facoltativa)"), validators=[_max(254)])
    submit = SubmitField(_l("Crea l'organizzazione"))


class InviteForm(FlaskForm):
    name = StringField(_l("Nome e cognome"), validators=[_required(), _max(200)])
    email = EmailField(_l("Indirizzo e-mail"), validators=[_required(), _max(254)])
    grants_admin = BooleanField(_l("Amministratore dell'Ufficio di Piano"))
    submit = SubmitField(_l("Invia l'invito"))
