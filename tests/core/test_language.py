"""The language switch: a cookie chosen by the person, Italian by default, English on request."""
from __future__ import annotations

import pytest

from tests.core.html_check import scan
from workspace.i18n import LANG_COOKIE


def _lang(response) -> str:
    return scan(response.data).find_all("html")[0].attrs["lang"]


def _set_cookie_headers(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_italian_by_default(client):
    assert _lang(client.get("/")) == "it"


def test_switch_to_english_sets_cookie_and_lang(client):
    response = client.get("/lingua/en?next=/accessibilita")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accessibilita"
    cookies = [c for c in _set_cookie_headers(response) if c.startswith(f"{LANG_COOKIE}=")]
    assert len(cookies) == 1
    cookie = cookies[0]
    assert cookie.startswith(f"{LANG_COOKIE}=en;")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie
    assert "Secure" not in cookie  # plain http in tests: a Secure cookie would never come back

    assert client.get_cookie(LANG_COOKIE).value == "en"
    assert _lang(client.get("/")) == "en"
    assert _lang(client.get("/accessibilita")) == "en"
    assert _lang(client.get("/pagina-che-non-esiste")) == "en"


def test_switch_back_to_italian(client):
    client.get("/lingua/en")
    assert _lang(client.get("/")) == "en"
    response = client.get("/lingua/it")
    assert response.headers["Location"] == "/"
    assert _lang(client.get("/")) == "it"


def test_without_next_goes_home(client):
    response = client.get("/lingua/en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_switch_links_return_to_the_same_page(client):
    page = scan(client.get("/accessibilita?sezione=1").data)
    links = {a.attrs.get("lang"): a.attrs["href"] for a in page.find_all("a") if a.attrs.get("hreflang")}
    assert links["en"] == "/lingua/en?next=/accessibilita?sezione%3D1"
    assert links["it"] == "/lingua/it?next=/accessibilita?sezione%3D1"
    response = client.get(links["en"])
    assert response.headers["Location"] == "/accessibilita?sezione=1"


@pytest.mark.parametrize("code", ["xx", "fr", "EN", "it-IT", "en "])
def test_unknown_language_is_404_in_italian_without_cookie(client, code):
    response = client.get(f"/lingua/{code}")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Lingua non disponibile: scegliere italiano (it) o inglese (en)." in text
    assert not [c for c in _set_cookie_headers(response) if c.startswith(f"{LANG_COOKIE}=")]
    assert client.get_cookie(LANG_COOKIE) is None
    assert _lang(response) == "it"


def test_a_forged_cookie_falls_back_to_italian(client):
    client.set_cookie(LANG_COOKIE, "xx")
    assert _lang(client.get("/")) == "it"
