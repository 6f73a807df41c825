"""Language choice: Italian unless the person chose English (a cookie, so it survives logout).

And the translation look-ups: ``gettext``/``ngettext``/``lazy_gettext`` with flask-babel's
behaviour but without its per-call overhead (four context-local look-ups and ``str(Locale)`` for
each string; a live page asks for ~250 strings). The Translations object is kept on flask-babel's
own request namespace, keyed by the Locale object, so ``force_locale`` and ``refresh`` still apply.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import flask_babel
from babel import support
from flask import current_app, request
from flask.globals import _cv_app
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

LANG_COOKIE = "tavoli_lang"
T = TypeVar("T")
_NULL = support.NullTranslations()


def select_locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE) if request else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def translations() -> support.NullTranslations:
    """flask-babel's ``get_translations()``, remembered for the request while its locale holds."""
    app_ctx = _cv_app.get(None)
    if app_ctx is None:
        return _NULL
    ns = app_ctx.g.__dict__.get("_flask_babel")
    if ns is not None:
        locale = ns.__dict__.get("babel_locale")
        cached = ns.__dict__.get("tavoli_translations")
        if locale is not None and cached is not None and cached[0] is locale:
            return cached[1]
    found = flask_babel.get_translations()  # selects the locale and fills the namespace
    ns = app_ctx.g.__dict__.get("_flask_babel")
    locale = getattr(ns, "babel_locale", None)
    if locale is not None and getattr(ns, "babel_domain", None) is flask_babel.get_babel().instance.domain_instance:
        ns.tavoli_translations = (locale, found)
    return found


def gettext(string: str, **variables: Any) -> str:
    s = translations().ugettext(string)
    return s % variables if variables else s


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    s = translations().ungettext(singular, plural, num)
    return s % variables if variables else s


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    return LazyString(gettext, string, **variables)


def install_jinja(app) -> None:
    """The templates' ``_``/``gettext``/``ngettext`` through the same cache (flask-babel installs
    callables that redo the whole look-up for every string)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    # ``_`` and ``gettext`` without the extension's two extra indirections (alias, then wrapper), with
    # the same newstyle behaviour: escaped variables, and always a format string.
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _template_gettext


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
    rv = translations().ugettext(string)
    if eval_ctx.autoescape:
        rv = Markup(rv)
    if not variables and "%" not in rv:
        return rv  # what ``rv % {}`` gives, without Markup's formatting machinery
    return rv % variables


def per_locale(name: str, build: Callable[[], T]) -> T:
    """``build()``, once per application and language: for the tables of translated strings the live
    pages embed (the same ~150 strings on every page). The result is shared: callers must not change it."""
    cache = current_app.extensions.setdefault("tavoli_per_locale", {})
    key = (name, translations())
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = build()
        return value
