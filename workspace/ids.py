"""Row ids, parsed once: in URLs (the ``int`` converter every ``<int:...>`` route uses) and in
forms, query strings and JSON (``parse_id`` / ``parse_ids`` / ``IdField``).

An id is 1 to 2³¹−1 written with the ASCII digits 0–9: the range of the database's integer
columns. Anything else cannot name a row: in a URL the route does not match (404); in a field it
is refused with an Italian message (422). ``str.isdigit`` must not be used for this — it accepts
``²`` and other Unicode digits, and ``int()`` of a 23-digit value overflows the database driver.
"""
from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from typing import Any

from werkzeug.routing import IntegerConverter
from wtforms import Field
from wtforms.widgets import TextInput

from workspace.i18n import lazy_gettext as _l
from workspace.problems import invalid

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")
BAD_ID = _l("Identificativo non valido: deve essere un numero intero positivo.")


def parse_id(raw: Any, minimum: int = 1) -> int | None:
    """The id written in ``raw`` (an int or a text of ASCII digits in range), or None.
    ``minimum=0`` for a counter that starts at 0 (a version)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if minimum <= raw <= MAX_ID else None
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if minimum <= value <= MAX_ID else None


def require_id(raw: Any, message: str | None = None, field: str | None = None) -> int:
    """``parse_id`` or a 422 Problem with an Italian message."""
    value = parse_id(raw)
    if value is None:
        raise invalid(message or str(BAD_ID), field=field)
    return value


def optional_id(raw: Any, message: str | None = None, field: str | None = None) -> int | None:
    """None for an empty value, else ``require_id``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return require_id(raw, message, field)


def parse_ids(raws: Iterable[Any] | None, message: str | None = None, field: str | None = None) -> list[int]:
    """Every value an id, or a 422 Problem (a list is never silently shortened)."""
    if raws is None:
        return []
    if isinstance(raws, (str, bytes, int)):
        raws = [raws]
    return [require_id(raw, message, field) for raw in raws]


class IdConverter(IntegerConverter):
    """``<int:...>`` for row ids: ASCII digits, 1 … 2³¹−1; anything else does not match (404)."""

    regex = r"[0-9]{1,10}"
    part_isolating = True

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=0 if min is None else min,
                         max=MAX_ID if max is None else builtins.min(max, MAX_ID), signed=signed)
        if signed:
            self.regex = r"-?[0-9]{1,10}"


def register(app) -> None:
    """Make ``IdConverter`` the app's ``int`` converter; before any route is added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter


class IdField(Field):
    """A form field holding one optional row id: ``data`` is the int or None; a value that is not
    an id fails validation with the Italian message (never an exception in the view)."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        self.data = None
        self._bad = False
        if valuelist and valuelist[0].strip():
            self.data = parse_id(valuelist[0])
            self._bad = self.data is None

    def pre_validate(self, form):
        from wtforms.validators import StopValidation

        if getattr(self, "_bad", False):
            raise StopValidation(str(BAD_ID))

    def _value(self):
        return "" if self.data is None else str(self.data)
