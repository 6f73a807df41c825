"""Text a person typed: one rule for every area, applied where every request passes.

Accepted: any Unicode text except NUL, the C0 control characters other than tab, newline and
carriage return (and DEL), and lone surrogates (halves of a UTF-16 pair, which no keyboard
produces and no database column can store). Accepted text is normalised to NFC, so "è" typed as
"e" + combining accent and "è" typed as one character are the same text for search, comparison
and export.

Where it is applied:
- HTML forms and query strings: ``init_app`` checks every submitted value before the view runs
  (invalid form encoding → 400, forbidden characters → 422, with an Italian message) and replaces
  the form by its NFC form; a person whose text changed is told after saving.
- JSON bodies (the API) and live messages (``workspace.realtime.check``): ``find_problem`` /
  ``normalise`` on the decoded data.
- Services: ``clean(value, label)`` for text that reaches them by another path (CLI, imports).
"""
from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Request, flash, g, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from workspace import markdown
from workspace.i18n import gettext as _
from workspace.problems import Problem

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def bad_character(value: str) -> str | None:
    """A description (Italian) of the first forbidden character in ``value``, or None."""
    for ch in value:
        code = ord(ch)
        if code < 0x20 and ch not in _ALLOWED_CONTROLS:
            return _("carattere di controllo U+%(c)04X", c=code) if code else _("carattere nullo (NUL)")
        if code == 0x7F:
            return _("carattere di controllo U+007F")
        if 0xD800 <= code <= 0xDFFF:
            return _("carattere Unicode non valido (surrogato isolato)")
    return None


def _refusal(reason: str, label: object | None = None, field: str | None = None) -> Problem:
    if label:
        message = _("Il campo «%(f)s» contiene un carattere non ammesso (%(r)s): "
                    "correggere il testo e riprovare.", f=label, r=reason)
    else:
        message = _("Il testo inviato contiene un carattere non ammesso (%(r)s): correggere e riprovare.", r=reason)
    return Problem("invalid_text", message, 422, field=field)


def clean(value: str, label: object | None = None, field: str | None = None) -> str:
    """``value`` in NFC, or a 422 Problem naming the forbidden character."""
    reason = bad_character(value)
    if reason is not None:
        raise _refusal(reason, label, field)
    return unicodedata.normalize("NFC", value)


def find_problem(data: Any, path: str = "") -> Problem | None:
    """The refusal for the first forbidden text anywhere in decoded JSON ``data`` (keys included)."""
    if isinstance(data, str):
        reason = bad_character(data)
        return _refusal(reason, path or None, path or None) if reason else None
    if isinstance(data, dict):
        for key, value in data.items():
            found = find_problem(key, path) if isinstance(key, str) else None
            found = found or find_problem(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(data, (list, tuple)):
        for value in data:
            found = find_problem(value, path)
            if found:
                return found
    return None


def normalise(data: Any) -> Any:
    """Decoded JSON with every text in NFC (checked first with ``find_problem``)."""
    if isinstance(data, str):
        return unicodedata.normalize("NFC", data)
    if isinstance(data, dict):
        return {normalise(k): normalise(v) for k, v in data.items()}
    if isinstance(data, list):
        return [normalise(v) for v in data]
    return data


# --------------------------------------------------------------------------- HTTP


def _invalid_encoding() -> Problem:
    return Problem("invalid_encoding", _("Il modulo inviato contiene testo con una codifica non valida "
                                         "(non UTF-8): ricaricare la pagina e riprovare."), 400)


def _check_urlencoded(raw: bytes) -> None:
    """The form body as the browser sent it: every value must decode as UTF-8 (werkzeug would
    replace bad bytes silently)."""
    for pair in raw.split(b"&"):
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid_encoding() from None


def _check_multidict(values: MultiDict, where: str) -> ImmutableMultiDict | None:
    """Refuse forbidden characters; the NFC copy when any value changed (else None)."""
    changed = False
    items = []
    for key, value in values.items(multi=True):
        if "\ufffd" in key or "\ufffd" in value and where == "multipart":
            raise _invalid_encoding()
        reason = bad_character(key) or bad_character(value)
        if reason is not None:
            raise _refusal(reason)
        normal = unicodedata.normalize("NFC", value)
        changed = changed or normal != value
        items.append((key, normal))
    return ImmutableMultiDict(items) if changed else None


class TextRequest(Request):
    """Keeps the raw body of an url-encoded form so its encoding can be checked (werkzeug decodes
    with ``errors="replace"`` and the original bytes are gone once the form is parsed)."""

    def _load_form_data(self) -> None:
        if "form" not in self.__dict__ and self.mimetype == "application/x-www-form-urlencoded":
            self.get_data(cache=True, parse_form_data=False)
        super()._load_form_data()


def check_request() -> None:
    """Every submitted text of this request, before the view: refused or normalised."""
    query = _check_multidict(request.args, "query")
    if query is not None:
        request.args = query
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        request.form  # noqa: B018 — parsed through TextRequest, which keeps the raw body
        _check_urlencoded(getattr(request, "_cached_data", None) or b"")
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = _check_multidict(request.form, "multipart" if mimetype == "multipart/form-data" else "form")
        if form is not None:
            request.form = form
            request.__dict__.pop("values", None)
            g.text_normalised = True
        if any(markdown.altered(value) for key, value in request.form.items(multi=True) if key != "csrf_token"):
            g.markdown_altered = True
    elif request.is_json:
        data = request.get_json(silent=True)
        problem = find_problem(data)
        if problem is not None:
            raise problem


def tell_if_changed(response):
    """After a successful save: a person whose text was stored differently from what they typed
    (NFC normalisation, or Markdown the sanitiser could not keep) reads why."""
    if response.status_code < 400 and request.method == "POST":
        if g.pop("text_normalised", False):
            flash(_("Il testo è stato salvato in forma Unicode normalizzata (NFC): alcuni caratteri "
                    "composti sono stati uniti, l'aspetto non cambia."), "info")
        if g.pop("markdown_altered", False):
            flash(_("Parte del testo formattato non può essere mostrata come tale (ad esempio un "
                    "collegamento non sicuro): il testo è stato salvato, quella parte appare come "
                    "testo semplice."), "warning")
    return response


def init_app(app) -> None:
    app.request_class = TextRequest
    app.before_request(check_request)
    app.after_request(tell_if_changed)


