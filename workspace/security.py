"""HTTP security headers. No inline scripts anywhere: the CSP allows only our own files.

Two places add them, so no response goes out without: Flask's ``after_request`` for every page,
file and error Flask answers, and a WSGI middleware around the whole application for what Flask
never sees (the Engine.IO endpoint ``/socket.io/``: its polling answers and its own 405s, which
also get the ``Allow`` header). Pages answered to a logged-in person are ``Cache-Control:
no-store``: a shared computer's back button or cache must not show them to the next person.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import request, session

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        # Bootstrap Italia's CSS embeds the video.js icon font as a data: URL.
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def headers(https: bool) -> list[tuple[str, str]]:
    """The headers every response carries (HSTS only over https)."""
    found = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if https:
        found.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return found


#: Methods the Engine.IO endpoint answers (its 405s name them in ``Allow``).
ENGINEIO_METHODS = "GET, POST, OPTIONS"


class SecurityHeaders:
    """WSGI middleware: the security headers on every response that lacks them (those Flask never
    sees, under ``/socket.io/``), and ``Allow`` on a 405 that has none."""

    def __init__(self, wsgi_app: Callable, https: bool):
        self.wsgi_app = wsgi_app
        self.headers = headers(https)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        def start(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None):
            present = {name.lower() for name, _value in response_headers}
            extra = [(name, value) for name, value in self.headers if name.lower() not in present]
            if status.startswith("405") and "allow" not in present:
                extra.append(("Allow", ENGINEIO_METHODS))
            if exc_info is not None:
                return start_response(status, [*response_headers, *extra], exc_info)
            return start_response(status, [*response_headers, *extra])

        return self.wsgi_app(environ, start)


def init_app(app) -> None:
    """Call after ``socketio.init_app``: the middleware must wrap the Engine.IO one."""
    https = bool(app.config["SESSION_COOKIE_SECURE"])

    @app.after_request
    def _headers(response):
        h = response.headers
        for name, value in headers(https):
            h.setdefault(name, value)
        if request.endpoint != "static" and session.get("_user_id"):
            # Personal pages: never stored by the browser or a proxy (the back button after logout).
            h["Cache-Control"] = "no-store"
            h.add("Vary", "Cookie")
        return response

    app.wsgi_app = SecurityHeaders(app.wsgi_app, https)
