"""Rendered pages respect the CSP (no inline code or styles) and carry the layout's landmarks."""
from __future__ import annotations

import pytest

from tests.core.html_check import csp_violations, scan

PAGES = [("/", 200), ("/accessibilita", 200), ("/pagina-che-non-esiste", 404), ("/lingua/xx", 404)]


@pytest.mark.parametrize(("path", "status"), PAGES)
def test_no_inline_scripts_or_styles(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert csp_violations(response.data) == []


@pytest.mark.parametrize(("path", "status"), PAGES)
def test_no_inline_code_in_english_either(client, path, status):
    client.get("/lingua/en")
    response = client.get(path)
    assert response.status_code == status
    assert csp_violations(response.data) == []


def test_the_checker_catches_what_the_csp_refuses():
    html = (
        '<script>alert(1)</script><script src="/a.js"> x() </script><style>p{}</style>'
        '<p style="color:red" onclick="x()"><a href="javascript:x()">x</a></p>'
    )
    problems = csp_violations(html)
    assert len(problems) == 6, problems


@pytest.mark.parametrize(("path", "status"), PAGES)
def test_layout_landmarks_and_skip_links(client, path, status):
    page = scan(client.get(path).data)
    html = page.find_all("html")[0]
    assert html.attrs["lang"] == "it"
    assert len(page.find_all("main")) == 1
    main = page.by_id("contenuto")
    assert main is not None and main.tag == "main" and main.attrs.get("tabindex") == "-1"
    assert len(page.find_all("header")) == 1 and len(page.find_all("footer")) == 1
    assert len(page.find_all("h1")) == 1
    # The first link of the page is the skip link to the content, and every skip link has a target.
    links = page.find_all("a")
    assert links[0].attrs["href"] == "#contenuto"
    for link in links:
        href = link.attrs.get("href") or ""
        if href.startswith("#"):
            assert page.by_id(href[1:]) is not None, f"manca il bersaglio di {href}"
    # The layout's scripts: Bootstrap Italia's bundle, from our own server.
    scripts = [s.attrs["src"] for s in page.find_all("script")]
    assert "/static/vendor/bootstrap-italia/js/bootstrap-italia.bundle.min.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)
    sheets = [x.attrs["href"] for x in page.find_all("link") if x.attrs.get("rel") == "stylesheet"]
    assert sheets == [
        "/static/css/fonts.css",
        "/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css",
        "/static/css/tavoli.css",
    ]


def test_decorative_icons_are_hidden_from_screen_readers(client):
    page = scan(client.get("/").data)
    icons = page.find_all("svg")
    assert icons
    for svg in icons:
        assert svg.attrs.get("aria-hidden") == "true" or (svg.attrs.get("role") == "img" and svg.attrs.get("aria-label"))
    for use in page.find_all("use"):
        assert use.attrs["href"].startswith("/static/vendor/bootstrap-italia/svg/sprites.svg#it-")


def test_footer_links(client, app):
    page = scan(client.get("/").data)
    hrefs = {a.attrs.get("href") for a in page.find_all("a")}
    assert "/accessibilita" in hrefs
    assert app.config["SOURCE_CODE_URL"] in hrefs
    assert "/api/v1/openapi.json" in hrefs


def test_navigation_marks_the_current_page(client):
    page = scan(client.get("/").data)
    current = [a for a in page.find_all("a") if a.attrs.get("aria-current") == "page"]
    assert [a.attrs["href"] for a in current] == ["/"]
    page = scan(client.get("/accessibilita").data)
    assert not [a for a in page.find_all("a") if a.attrs.get("aria-current") == "page" and a.attrs["href"] == "/"]


def test_static_assets_referenced_by_fonts_css_exist():
    """fonts.css points at the files `make setup` copies from bootstrap-italia/dist/fonts."""
    import re

    from workspace.config import PROJECT_ROOT

    css_dir = PROJECT_ROOT / "static" / "css"
    urls = re.findall(r'url\("([^"]+)"\)', (css_dir / "fonts.css").read_text())
    assert len(urls) >= 16 * 2
    source = PROJECT_ROOT / "node_modules" / "bootstrap-italia" / "dist" / "fonts"
    for url in urls:
        assert url.startswith("../vendor/bootstrap-italia/fonts/")
        relative = url.removeprefix("../vendor/bootstrap-italia/fonts/")
        vendored = (css_dir / url).resolve()
        assert vendored.exists() or (source / relative).exists(), f"font mancante: {url}"
