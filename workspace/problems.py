"""The one exception services raise for a refusal a person must read.

``Problem(code, message, status)``: a stable machine code, an Italian message for people and the
HTTP status. Optional: the form ``field`` at fault, ``errors`` ({field: message}) when several
fields are at fault at once, and ``retry_after`` (seconds) for throttling. One application-level
handler (``workspace.errors``) turns it into an HTML page or JSON, ``workspace.web.transaction``
rolls back around views that write, and the live channel answers ``as_ack()``.
"""
from __future__ import annotations

from typing import Any


class Problem(Exception):
    def __init__(self, code: str, message: str, status: int = 400, *, field: str | None = None,
                 errors: dict[str, str] | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        self.retry_after = retry_after
        # Every field at fault when several are; ``field``/``message`` is then the first of them.
        self.errors: dict[str, str] = dict(errors) if errors else ({field: message} if field else {})
        if self.errors and self.field is None:
            self.field = next(iter(self.errors))

    def as_ack(self) -> dict[str, Any]:
        """The Socket.IO acknowledgement of a refused operation."""
        ack: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.errors:
            ack["errors"] = self.errors
        if self.retry_after is not None:
            ack["retry_after"] = self.retry_after
        return ack

    def as_json(self) -> dict[str, Any]:
        """The JSON body of a refused API or AJAX request: ``error`` is the HTTP status (as every
        error of the API documents it), ``code`` the stable machine code."""
        return {**self.as_ack(), "error": self.status, "code": self.code}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Problem({self.code!r}, {self.message!r}, {self.status})"


def not_found(message: str) -> Problem:
    return Problem("not_found", message, 404)


def forbidden(message: str) -> Problem:
    return Problem("forbidden", message, 403)


def invalid(message: str, field: str | None = None) -> Problem:
    return Problem("invalid", message, 422, field=field)


def invalid_fields(errors: dict[str, str], status: int = 422) -> Problem:
    """Several fields at fault at once: the message is the first one's."""
    return Problem("invalid", next(iter(errors.values())), status, errors=errors)


def conflict(message: str) -> Problem:
    return Problem("conflict", message, 409)


def throttled(message: str, retry_after: int | None, field: str | None = None) -> Problem:
    return Problem("throttled", message, 429, field=field, retry_after=retry_after)
