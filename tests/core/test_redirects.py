"""``next=`` never leads off the site (an open redirect would make our links phishing links)."""
from __future__ import annotations

import pytest

from workspace.web import safe_next

OFF_SITE = [
    "//evil.example",
    "//evil.example/path",
    "https://evil.example",
    "http://evil.example/",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "///evil.example",
    "evil.example",
    "https:evil.example",
    " //evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_refuses_off_site_targets(target):
    assert safe_next(target, "/") == "/"


@pytest.mark.parametrize("target", ["/", "/accessibilita", "/macroaree?x=1", "/a/b#frammento"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target, "/home") == target


@pytest.mark.parametrize("target", [None, ""])
def test_safe_next_empty(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_language_switch_refuses_open_redirect(client, target):
    response = client.get("/lingua/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # The language is still switched: only the destination is refused.
    assert client.get_cookie("tavoli_lang").value == "en"
