"""The English catalogue: complete, without fuzzy or empty entries, placeholders intact, and used.

The msgids in the sources are the Italian texts; ``workspace/translations/en`` holds the English.
``make translations`` extracts the messages and updates the catalogue; ``make`` compiles the .mo.
Here the .mo is compiled by the tests themselves when it is missing or older than the .po, so
these tests never depend on make having run.
"""
from __future__ import annotations

import html
import os
import re
import shlex
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from workspace.config import PROJECT_ROOT
from workspace.i18n import LANG_COOKIE

TRANSLATIONS = PROJECT_ROOT / "workspace" / "translations"
PO_FILE = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
BABEL_CFG = PROJECT_ROOT / "babel.cfg"
MAKEFILE = PROJECT_ROOT / "Makefile"

# The keywords of `make translations` (pybabel extract -k _l -k lazy_gettext) on top of Babel's
# defaults (_, gettext, ngettext, pgettext, ...). test_makefile_extracts_with_the_same_keywords
# keeps the two in step.
EXTRA_KEYWORDS = ("_l", "lazy_gettext")
KEYWORDS = {**DEFAULT_KEYWORDS, **dict.fromkeys(EXTRA_KEYWORDS)}

# %(name)s, %(num)d, %(day)02d, %s, %d ... and the escaped percent sign %%.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def _compile_mo() -> None:
    """Compile the English .mo (like the Makefile's %.mo rule) if missing or older than the .po."""
    if MO_FILE.exists() and MO_FILE.stat().st_mtime >= PO_FILE.stat().st_mtime:
        return
    catalog = _read_catalog(PO_FILE)
    # Write next to the target and rename: a parallel test run never reads a half-written file.
    fd, tmp = tempfile.mkstemp(dir=MO_FILE.parent, suffix=".mo.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog, use_fuzzy=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, MO_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # Flask-Babel caches the loaded translations on the shared Babel object: forget anything
    # loaded before the .mo existed.
    from workspace.extensions import babel

    domain = babel.__dict__.get("domain_instance")
    if domain is not None:
        domain.cache.clear()


@pytest.fixture(scope="session")
def compiled_catalogue():
    assert PO_FILE.exists(), f"{PO_FILE} is missing: run `make translations` and translate the strings"
    _compile_mo()
    return MO_FILE


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    return _read_catalog(PO_FILE)


def _forms(message) -> list[tuple[str, str]]:
    """(source, translation) pairs: one for a simple message, one per plural form otherwise."""
    if isinstance(message.id, str):
        return [(message.id, message.string)]
    singular, plural = message.id[0], message.id[1]
    strings = list(message.string)
    return [(singular, strings[0])] + [(plural, s) for s in strings[1:]]


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def _describe(message) -> str:
    return repr(message.id if isinstance(message.id, str) else message.id[0])


# ---------------------------------------------------------------------------------------------
# (a) The catalogue itself


def test_catalogue_header_is_english_with_two_plural_forms(catalogue):
    assert str(catalogue.locale) == "en"
    assert catalogue.num_plurals == 2
    assert catalogue.plural_expr.replace(" ", "") == "(n!=1)"


def test_no_empty_or_fuzzy_translations(catalogue):
    fuzzy = [_describe(m) for m in catalogue if m.id and m.fuzzy]
    empty = [_describe(m) for m in catalogue
             if m.id and not all(s for _, s in _forms(m))]
    assert not fuzzy, "Fuzzy translations (check and remove the flag):\n" + "\n".join(fuzzy)
    assert not empty, "Untranslated messages:\n" + "\n".join(empty)


def test_plural_messages_have_every_form(catalogue):
    wrong = [_describe(m) for m in catalogue
             if m.id and m.pluralizable and len(m.string) != catalogue.num_plurals]
    assert not wrong, "Plural messages without exactly two forms:\n" + "\n".join(wrong)


def test_translations_keep_the_placeholders(catalogue):
    wrong = []
    for message in catalogue:
        if not message.id:
            continue
        for source, translation in _forms(message):
            if translation and _placeholders(source) != _placeholders(translation):
                wrong.append(f"{source!r}\n    -> {translation!r}")
    assert not wrong, "Placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_babel_checks_pass(catalogue):
    problems = [f"{_describe(m)}: {'; '.join(str(e) for e in errors)}"
                for m, errors in catalogue.check()]
    assert not problems, "\n".join(problems)


def test_no_italian_left_in_the_translations(catalogue):
    """A few words that only appear in the Italian texts: a sign of a msgstr copied, not translated."""
    italian = re.compile(r"\b(?:della|delle|degli|sono|anche|questo|questa|seduta|bisogno|verbale|"
                         r"votazione|candidatura|organizzazione)\b", re.IGNORECASE)
    left = [f"{m.id!r} -> {s!r}" for m in catalogue if m.id
            for _, s in _forms(m) if italian.search(s)]
    assert not left, "Italian words in English translations:\n" + "\n".join(left)


# ---------------------------------------------------------------------------------------------
# (b) The catalogue covers the current sources


def _extract_current_sources(target: Path) -> Catalog:
    """What `make translations` extracts from the sources, written to and read back from ``target``."""
    with BABEL_CFG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename=str(BABEL_CFG))
    # Walk only the top-level folders the mapping names (not .venv, node_modules, ...).
    roots = {pattern.split("/", 1)[0] for pattern, _ in method_map}

    def directory_filter(dirpath: str) -> bool:
        relative = Path(os.path.relpath(dirpath, PROJECT_ROOT)).parts
        return bool(relative) and relative[0] in roots and not any(
            part.startswith((".", "_")) for part in relative)

    catalog = Catalog(locale=None, project="Tavoli")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=directory_filter):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    with target.open("wb") as f:
        write_po(f, catalog)
    return _read_catalog(target)


def test_makefile_extracts_with_the_same_keywords():
    recipe = [line for line in MAKEFILE.read_text(encoding="utf-8").splitlines()
              if "pybabel extract" in line]
    assert len(recipe) == 1, "the Makefile should have one `pybabel extract` line (target translations)"
    args = shlex.split(recipe[0])
    keywords = {args[i + 1] for i, arg in enumerate(args) if arg in ("-k", "--keyword", "--keywords")}
    assert keywords == set(EXTRA_KEYWORDS)
    assert "-F" in args and args[args.index("-F") + 1] == "babel.cfg"


def test_extraction_finds_python_and_templates(tmp_path):
    extracted = _extract_current_sources(tmp_path / "messages.pot")
    files = {path for m in extracted for path, _ in m.locations}
    assert any(f.startswith("workspace/") and f.endswith(".py") for f in files)
    assert any(f.startswith("templates/") and f.endswith(".html") for f in files)
    assert any(m.pluralizable for m in extracted), "ngettext messages were not extracted"


def test_every_message_in_the_sources_is_in_the_english_catalogue(tmp_path, catalogue):
    extracted = _extract_current_sources(tmp_path / "messages.pot")
    missing, not_plural = [], []
    for message in extracted:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        entry = catalogue.get(key, context=message.context)
        where = ", ".join(f"{path}:{line}" for path, line in message.locations[:3])
        if entry is None:
            missing.append(f"{key!r}  ({where})")
        elif message.pluralizable and not entry.pluralizable:
            not_plural.append(f"{key!r}  ({where})")
    problems = []
    if missing:
        problems.append(f"{len(missing)} message(s) in the sources are not in the English catalogue:\n"
                        + "\n".join(missing))
    if not_plural:
        problems.append("message(s) now use ngettext but the catalogue has no plural forms:\n"
                        + "\n".join(not_plural))
    assert not problems, ("\n\n".join(problems)
                          + f"\n\nRun `make translations`, then translate the strings listed above in {PO_FILE}"
                          " (no fuzzy or empty entries).")


# ---------------------------------------------------------------------------------------------
# (c) Pages render in English with the language cookie

PAGES = {
    "/": {
        "Skip to content": "Vai al contenuto",
        "Co-programming tables of the Piano di Zona": "Tavoli di co-programmazione del Piano di Zona",
        "Explore the macro-areas": "Esplora le macroaree",
        "How it works": "Come funziona",
    },
    "/macroaree": {
        "Policy macro-areas 2025-2027": "Macroaree di policy 2025-2027",
        "Active macro-areas": "Macroaree attive",
        "List of LEPS": "Elenco dei LEPS",
    },
    "/accedi": {
        "Forgotten your password?": "Password dimenticata?",
        "Remember me on this device": "Ricordami su questo dispositivo",
        "Sign in without a password, with a link by email": "Accedi senza password, con un link via e-mail",
    },
    "/procedure": {
        "Co-programming procedures": "Procedure di co-programmazione",
        "No published procedures.": "Nessuna procedura pubblicata.",
    },
}


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_render_in_english_with_the_cookie(client, compiled_catalogue, path):
    italian = _text(client.get(path))
    for english, original in PAGES[path].items():
        assert original in italian, f"{path}: the Italian page no longer says {original!r}: update this test"
        assert english not in italian

    client.set_cookie(LANG_COOKIE, "en")
    response = client.get(path)
    assert response.status_code == 200
    page = _text(response)
    assert '<html lang="en"' in page
    for english, original in PAGES[path].items():
        assert english in page, f"{path}: {english!r} missing from the English page"
        assert original not in page, f"{path}: {original!r} still in Italian on the English page"


@pytest.mark.parametrize("path", list(PAGES))
def test_no_catalogue_text_left_in_italian(client, compiled_catalogue, catalogue, path):
    """Every translated text that the Italian page shows is gone from the English page."""
    candidates = [m.id for m in catalogue
                  if isinstance(m.id, str) and len(m.id) >= 15 and " " in m.id
                  and not PLACEHOLDER.search(m.id) and m.string and m.string != m.id]
    italian = _text(client.get(path))
    shown = [text for text in candidates if text in italian]
    assert shown, f"{path}: no catalogue text found on the Italian page"
    client.set_cookie(LANG_COOKIE, "en")
    english = _text(client.get(path))
    left = [text for text in shown if text in english]
    assert not left, f"{path}: still in Italian on the English page:\n" + "\n".join(left)
