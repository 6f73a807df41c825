"""The layout and the core pages in a real Chromium: accessibility (axe, WCAG 2.1 AA), keyboard,
language switch, phones. The page fixture fails any test that meets a JS error or a CSP violation."""
from __future__ import annotations

import json
from datetime import date

import pytest

from tests.e2e.conftest import assert_accessible
from workspace.config import PROJECT_ROOT

PHONE = {"width": 375, "height": 740}


def _fonts_ready(page) -> None:
    page.evaluate("() => document.fonts.ready")


def test_home_page(page):
    response = page.goto("/")
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.locator("h1").inner_text() == "Tavoli di co-programmazione del Piano di Zona"
    # The Bootstrap Italia header: owner line, language, access, brand, navigation.
    assert page.locator(".it-header-slim-wrapper").is_visible()
    assert page.locator(".it-brand-title").inner_text().strip()
    assert page.get_by_role("link", name="Accedi", exact=True).first.is_visible()
    nav = page.get_by_role("navigation", name="Navigazione principale")
    for label in ("Home", "Macroaree", "Ambiti"):
        assert nav.get_by_role("link", name=label, exact=True).is_visible()
    assert nav.get_by_role("link", name="Home", exact=True).get_attribute("aria-current") == "page"
    footer = page.locator("footer")
    assert footer.get_by_role("link", name="Dichiarazione di accessibilità").first.is_visible()
    assert footer.get_by_role("link", name="Codice sorgente").first.is_visible()
    assert footer.get_by_role("link", name="API (OpenAPI)").is_visible()
    assert_accessible(page)


def test_fonts_and_icons_load(page):
    """Titillium Web comes from static/css/fonts.css (no loadFonts, no inline <style>)."""
    page.goto("/")
    _fonts_ready(page)
    assert page.evaluate("() => document.fonts.check(\"600 16px 'Titillium Web'\")")
    loaded = page.evaluate(
        "() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family)"
    )
    assert any("Titillium Web" in family for family in loaded), loaded
    body_font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert body_font.startswith('"Titillium Web"'), body_font
    # No <style> element anywhere: the CSP would refuse it (the fixture would have failed the test).
    assert page.locator("style").count() == 0
    # The SVG sprite renders: the burger/brand icon has a size (a missing sprite fails the fixture).
    box = page.locator("header .it-brand-wrapper svg.icon").bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0


def test_accessibility_statement(page):
    response = page.goto("/accessibilita")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Dichiarazione di accessibilità"
    headings = page.locator("h2").all_inner_texts()
    for expected in ("Stato di conformità", "Contenuti non accessibili", "Meccanismo di feedback e recapiti",
                     "Procedura di attuazione"):
        assert expected in headings
    assert "WCAG" in page.locator("main").inner_text()
    assert page.get_by_role("navigation", name="Percorso di navigazione").is_visible()
    # The result and the date of the last automatic check, from the data file it was summarised into.
    check = json.loads((PROJECT_ROOT / "workspace" / "core" / "accessibility_check.json").read_text(encoding="utf-8"))
    day = date.fromisoformat(check["date"])
    months = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
              "ottobre", "novembre", "dicembre"]
    statement = page.locator("[data-accessibility-check]").inner_text()
    assert f"Verifica del {day.day} {months[day.month - 1]} {day.year}" in statement
    assert f"0 violazioni su {check['pages']} pagine diverse" in statement
    assert check["violations"] == 0 and check["pages"] >= 40
    assert_accessible(page)


def test_not_found_page(page):
    response = page.goto("/pagina-che-non-esiste")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Pagina non trovata"
    assert "La pagina richiesta non esiste." in page.locator("main").inner_text()
    page.get_by_role("link", name="Torna alla pagina iniziale").click()
    page.wait_for_url("**/")
    page.go_back()
    assert_accessible(page)


def test_unknown_language_page(page):
    response = page.goto("/lingua/xx")
    assert response.status == 404
    assert "Lingua non disponibile" in page.locator("main").inner_text()
    assert not [c for c in page.context.cookies() if c["name"] == "tavoli_lang"]
    assert_accessible(page)


def test_skip_link_is_first_and_moves_focus_to_main(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Vai al contenuto"
    skip = page.get_by_role("link", name="Vai al contenuto")
    assert skip.is_visible(), "il collegamento di salto deve comparire quando riceve il focus"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "contenuto"
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    # The next Tab continues from the content, not from the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('contenuto').contains(document.activeElement)")
    assert_accessible(page)


def test_language_switch_to_english(page):
    page.goto("/accessibilita")
    page.get_by_role("button", name="Lingua attiva: ITA").click()
    english = page.get_by_role("link", name="ENG – English")
    assert english.is_visible()
    with page.expect_navigation():
        english.click()
    # Back on the page we were reading, now in English.
    assert page.url.endswith("/accessibilita")
    assert page.locator("html").get_attribute("lang") == "en"
    cookie = {c["name"]: c for c in page.context.cookies()}["tavoli_lang"]
    assert cookie["value"] == "en"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert page.get_by_role("button", name="ENG").is_visible()
    assert_accessible(page)
    # And back to Italian.
    page.get_by_role("button", name="ENG").click()
    with page.expect_navigation():
        page.locator("#lingue a[lang=it]").click()
    assert page.locator("html").get_attribute("lang") == "it"


def test_phone_layout_and_burger_menu(page):
    page.set_viewport_size(PHONE)
    page.goto("/")
    _fonts_ready(page)
    # Nothing wider than the screen: no sideways scrolling on a phone.
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"la pagina deborda di {overflow}px su un telefono"
    nav_links = page.locator("#menu-principale .nav-link")
    assert not nav_links.first.is_visible()
    toggler = page.get_by_role("button", name="Mostra o nascondi la navigazione")
    assert toggler.is_visible()
    toggler.click()
    menu = page.locator("#menu-principale")
    menu.wait_for(state="visible")
    # Once open, focus is inside the menu (on its close button) and stays trapped there.
    page.wait_for_function("() => document.activeElement.classList.contains('close-menu')")
    assert menu.get_by_role("link", name="Macroaree", exact=True).is_visible()
    assert toggler.get_attribute("aria-expanded") == "true"
    assert_accessible(page)
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    assert toggler.get_attribute("aria-expanded") == "false"
    # Focus goes back to the burger button it came from.
    page.wait_for_function("() => document.activeElement.classList.contains('custom-navbar-toggler')")
    assert_accessible(page)


@pytest.mark.parametrize("path", ["/", "/accessibilita", "/pagina-che-non-esiste"])
def test_pages_accessible_on_phone(page, path):
    page.set_viewport_size(PHONE)
    page.goto(path)
    _fonts_ready(page)
    assert_accessible(page)
