"""Reference pages: content from the real data, Italian errors, accessible markup, CSP-safe HTML."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest


class Page(HTMLParser):
    """Collects what the accessibility checks need from a rendered page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.headings: list[int] = []
        self.h1_texts: list[str] = []
        self.tables = 0
        self.captions = 0
        self.th_without_scope = 0
        self.inline_scripts = 0
        self.style_attrs = 0
        self.inline_styles = 0
        self.handlers = 0
        self.ids: list[str] = []
        self.labels_for: set[str] = set()
        self.inputs: list[dict] = []
        self.status_texts: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._capture: list[list] = []  # [kind, depth, text parts]
        self._tags: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "style" in a:
            self.style_attrs += 1
        self.handlers += sum(1 for k in a if k.startswith("on"))
        if "id" in a:
            self.ids.append(a["id"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th" and a.get("scope") not in ("col", "row", "colgroup", "rowgroup"):
            self.th_without_scope += 1
        elif tag == "script" and not a.get("src"):
            self.inline_scripts += 1
        elif tag == "style":
            self.inline_styles += 1
        elif tag == "label" and a.get("for"):
            self.labels_for.add(a["for"])
        elif tag == "input":
            self.inputs.append(a)
        if tag in ("input", "br", "img", "meta", "link", "hr"):
            return
        self._tags.append(tag)
        for cap in self._capture:
            cap[1] += 1
        if tag == "h1":
            self._capture.append(["h1", 1, []])
        if a.get("role") == "status":
            self._capture.append(["status", 1, []])
        if tag == "a":
            self._capture.append(["a:" + a.get("href", ""), 1, []])

    def handle_endtag(self, tag):
        if tag in ("input", "br", "img", "meta", "link", "hr"):
            return
        if self._tags:
            self._tags.pop()
        for cap in list(self._capture):
            cap[1] -= 1
            if cap[1] == 0:
                self._capture.remove(cap)
                text = " ".join("".join(cap[2]).split())
                if cap[0] == "h1":
                    self.h1_texts.append(text)
                elif cap[0] == "status":
                    self.status_texts.append(text)
                else:
                    self.links.append((cap[0][2:], text))

    def handle_data(self, data):
        for cap in self._capture:
            cap[2].append(data)


def get(client, url: str, status: int = 200) -> tuple[str, Page]:
    """The page's visible text (tags stripped, entities decoded, spaces collapsed) and its parse."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    html = response.get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S))
    return " ".join(unescape(text).split()), Page(html)


def assert_accessible(page: Page) -> None:
    assert len(page.h1_texts) == 1, page.h1_texts
    assert page.headings[0] == 1 or page.headings.count(1) == 1
    previous = 0
    for level in page.headings:
        assert level <= previous + 1, page.headings  # never skip a level going down
        previous = level
    assert page.captions == page.tables
    assert page.th_without_scope == 0
    assert page.inline_scripts == 0 and page.inline_styles == 0
    assert page.style_attrs == 0 and page.handlers == 0
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"


PAGES = ["/macroaree", "/macroaree/A", "/macroaree/C", "/macroaree/F", "/macroaree/L", "/leps", "/ambiti",
         "/ambiti?q=pavia", "/ambiti?q=nulla+di+simile"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_are_accessible_and_csp_safe(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert_accessible(Page(response.get_data(as_text=True)))


def test_macroaree_list(client):
    text, page = get(client, "/macroaree")
    assert page.h1_texts == ["Macroaree di policy 2025-2027"]
    assert "Working poors e lavoratori precari" in text
    assert "Contrasto alla povertà e all'emarginazione sociale e promozione dell'inclusione attiva" in text
    hrefs = {href for href, _ in page.links}
    for code in "ABCDEFGHIJKL":
        assert f"/macroaree/{code}" in hrefs
    assert "storica, confluita in A" in text
    assert "/leps#leps-adi" in hrefs


def test_macroarea_detail(client):
    text, page = get(client, "/macroaree/A")
    assert page.h1_texts == ["A Contrasto alla povertà e all'emarginazione sociale e promozione dell'inclusione attiva"]
    assert "attiva" in text and "storica" not in text
    for expected in (
        "Working poors e lavoratori precari",  # key point
        "Pronto intervento sociale",  # LEPS
        "Definizione di linee guida di Ambito per la presa in carico di persone senza fissa dimora",  # intervention
        "Interventi e servizi volti a contrastare la grave emarginazione",  # regional measure
        "Risorse statali – Fondo Povertà",
        "Possibili interventi", "Misure regionali", "Punti chiave",
    ):
        assert expected in text, expected
    assert page.tables == 1


def test_historic_macroarea_c(client):
    text, page = get(client, "/macroaree/C")
    assert page.h1_texts == ["C Promozione dell'inclusione attiva"]
    assert "storica, confluita in A" in text
    assert ("/macroaree/A", "A") in page.links


def test_lowercase_code_redirects(client):
    response = client.get("/macroaree/d")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/macroaree/D")


@pytest.mark.parametrize("code", ["Z", "c1", "%C3%A0"])
def test_unknown_macroarea_is_an_italian_404(client, code):
    text, page = get(client, f"/macroaree/{code}", status=404)
    assert len(page.h1_texts) == 1
    assert "non esiste" in text and "Le macroaree 2025-2027 sono A, B e da D a L." in text


def test_leps_page(client):
    text, page = get(client, "/leps")
    assert page.h1_texts == ["Livelli essenziali delle prestazioni sociali (LEPS)"]
    assert "16 LEPS, nell'ordine della DGR" in text
    assert "Incremento SAD" in text and "Servizi per la residenza fittizia" in text
    assert "leps-incremento_sad" in page.ids
    assert page.tables == 1 + 5  # the list plus one indicator table per strategic LEPS
    assert ("/macroaree/K", "K") in page.links


def test_ambiti_search_form_is_labelled(client):
    text, page = get(client, "/ambiti")
    search = [i for i in page.inputs if i.get("name") == "q"]
    assert len(search) == 1 and search[0]["type"] == "search"
    assert search[0]["id"] in page.labels_for
    assert page.status_texts == ["91 Ambiti"]


def test_ambiti_search_pavia(client):
    text, page = get(client, "/ambiti?q=pavia")
    assert page.status_texts == ["5 Ambiti trovati per «pavia»"]
    assert "50008" in text and "lom_72" in text and "ATS DI PAVIA" in text
    assert "PAVIA (22076) — ASST DI PAVIA" in text
    assert "Milano Città" not in text
    assert [i.get("value") for i in page.inputs if i.get("name") == "q"] == ["pavia"]


def test_ambiti_search_accents_and_single_result(client):
    _, page = get(client, "/ambiti?q=lom_72")
    assert page.status_texts == ["1 Ambito trovato per «lom_72»"]
    text, page = get(client, "/ambiti?q=Cant%C3%B9")
    assert "Cantù" in text and page.status_texts[0].endswith("trovati per «Cantù»")


def test_ambiti_search_no_results_and_escaping(client):
    response = client.get("/ambiti?q=%3Cscript%3Ealert(1)%3C/script%3E")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in html
    page = Page(html)
    assert page.status_texts == ["0 Ambiti trovati per «<script>alert(1)</script>»"]
    assert page.tables == 0 and page.inline_scripts == 0
