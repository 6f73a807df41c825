"""Security headers on every kind of response the core serves: pages, errors, redirects."""
from __future__ import annotations

import pytest

PAGES = ["/", "/accessibilita", "/pagina-che-non-esiste", "/lingua/en", "/lingua/xx"]

# Directives that keep the page free of injected code: exact values, nothing looser.
STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def parse_csp(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            assert tokens[0] not in directives, f"direttiva ripetuta: {tokens[0]}"
            directives[tokens[0]] = tokens[1:]
    return directives


@pytest.mark.parametrize("path", PAGES)
def test_content_security_policy(client, path):
    response = client.get(path)
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{path}: manca Content-Security-Policy"
    csp = parse_csp(header)
    for directive, value in STRICT.items():
        assert csp.get(directive) == value, f"{path}: {directive} = {csp.get(directive)}"
    for token in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:"):
        assert token not in header.split(), f"{path}: la CSP contiene {token}"
    # Images and fonts: our own files, plus data: at most (SVG/fonts embedded by vendor CSS).
    assert set(csp["img-src"]) <= {"'self'", "data:"}
    assert set(csp["font-src"]) <= {"'self'", "data:"}


@pytest.mark.parametrize("path", PAGES)
def test_other_security_headers(client, path):
    headers = client.get(path).headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("Referrer-Policy") == "same-origin"
    assert "camera=()" in headers.get("Permissions-Policy", "")
    # Plain http (the default BASE_URL): no HSTS, which would be ignored or, worse, pin a test host.
    assert "Strict-Transport-Security" not in headers


def test_static_files_get_the_headers_too(client):
    response = client.get("/static/css/tavoli.css")
    assert response.status_code == 200
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.mimetype == "text/css"
    response.close()
