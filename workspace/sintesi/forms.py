"""Forms of the documento di sintesi (every form carries the CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Optional

from workspace.i18n import lazy_gettext as _l
from workspace.ids import parse_id


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (generate, recalculate, send, approve)."""


class IntroductionForm(FlaskForm):
    text = TextAreaField(_l("Introduzione (Markdown)"), validators=[Optional()])
    # The documento's version the text started from (optimistic locking).
    version = HiddenField()

    def base_version(self) -> int | None:
        return parse_id(self.version.data, minimum=0)
