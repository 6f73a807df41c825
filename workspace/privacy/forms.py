"""Forms of the privacy pages (Flask-WTF: each carries the CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SubmitField

from workspace.forms import max_length, required
from workspace.i18n import lazy_gettext as _l


class AcknowledgeForm(FlaskForm):
    """"I have read the notice": the processing rests on the public interest, not on consent."""

    next = HiddenField()
    submit = SubmitField(_l("Ho letto l'informativa"))


class DeleteAccountForm(FlaskForm):
    email = EmailField(
        _l("Per confermare, scrivi l'indirizzo e-mail del tuo account"),
        validators=[required(), max_length(254)],
    )
    submit = SubmitField(_l("Elimina definitivamente il mio account"))
