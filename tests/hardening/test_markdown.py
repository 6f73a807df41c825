"""Fault 4 of issue 12: raw HTML in user text is escaped and shown as typed (never stripped);
Markdown — fenced code and tables included — is rendered from it, then sanitised; tables and code
are styled on every page; a person whose text the sanitiser had to change is told."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.needs.support import form_data, post, text
from tests.world import login_client
from workspace.markdown import altered, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("source", "shown"), [
    ("Rapporto a<b e c>d; soglia ISEE < 10.000 €", "Rapporto a&lt;b e c&gt;d; soglia ISEE &lt; 10.000 €"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<img src=x onerror=alert(1)>1>", "&lt;img src=x onerror=alert(1)&gt;1&gt;"),
    ("<b>grassetto?</b>", "&lt;b&gt;grassetto?&lt;/b&gt;"),
    ("<!-- nascosto -->", "&lt;!-- nascosto --&gt;"),
])
def test_raw_html_is_shown_as_text_not_stripped(source, shown):
    html = str(render(source))
    assert shown in html
    assert "<script" not in html and "<img" not in html and "<b>" not in html


def test_fenced_code_keeps_its_content():
    html = str(render("Esempio:\n\n```\nif a < b:\n    print('<ok>')\n```\n"))
    assert '<pre class="tavoli-md-code"><code>' in html
    assert "if a &lt; b:" in html and "print('&lt;ok&gt;')" in html
    assert "```" not in html


def test_tables_are_rendered_and_wrapped_for_styling():
    html = str(render("| Comune | Anziani |\n|---|---|\n| Pavia | 2.340 |\n| <i>x</i> | 1 |"))
    assert '<div class="tavoli-md-table"><table>' in html and "<th>Comune</th>" in html
    assert "<td>2.340</td>" in html and "&lt;i&gt;x&lt;/i&gt;" in html


def test_unsafe_links_lose_their_target_and_say_so():
    html = str(render("[clicca](javascript:alert(1)) e [sito](https://example.org)"))
    assert "javascript" not in html and 'href="https://example.org"' in html and "clicca" in html
    assert altered("[clicca](javascript:alert(1))")
    assert not altered("[sito](https://example.org) e a<b")


@pytest.mark.parametrize("css", ["static/css/tavoli.css", "static/css/live.css", "static/css/bigscreen.css"])
def test_tables_and_code_are_styled_everywhere(css):
    sheet = (ROOT / css).read_text()
    assert "tavoli-md-code" in sheet and "tavoli-md-table" in sheet


def test_the_page_shows_the_text_as_typed_and_tells_about_a_dropped_link(app, world):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    description = "Rapporto a<b e c>d; soglia ISEE < 10.000 €\n\n[modulo](javascript:alert(1))"
    response = post(client, token, new, form_data(description=description), follow_redirects=True)
    assert response.status_code == 200
    page = text(response)
    assert "Rapporto a<b e c>d; soglia ISEE < 10.000 €" in page
    assert "collegamento non sicuro" in page
    assert 'href="javascript' not in response.get_data(as_text=True)


def test_a_reused_parser_carries_nothing_from_one_text_to_the_next():
    """Parsers are kept and reused (workspace/markdown.py): a link reference defined in one person's
    text must not resolve in the next text, and each text renders as a fresh parser renders it."""
    import markdown as md

    from workspace import markdown as tavoli_md

    first = "Vedi [il sito][rif].\n\n[rif]: https://example.org/a"
    second = "E qui [il sito][rif]: nessun riferimento in questo testo."
    tavoli_md._markdown(first)
    again = tavoli_md._markdown(second)
    fresh = md.markdown(second, extensions=[*tavoli_md.EXTENSIONS, tavoli_md._HtmlAsText()], output_format="html")
    assert "example.org" not in again and again == fresh
    assert 'href="https://example.org/a"' in tavoli_md._markdown(first)
