"""The one exception services raise for a refusal the user must read: a stable code, an Italian
message and the HTTP status. Views turn it into a page or JSON, socket handlers into an ack."""
from __future__ import annotations


class Problem(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def as_ack(self) -> dict:
        return {"error": self.code, "message": self.message}


def not_found(message: str) -> Problem:
    return Problem("not_found", message, 404)


def forbidden(message: str) -> Problem:
    return Problem("forbidden", message, 403)


def invalid(message: str) -> Problem:
    return Problem("invalid", message, 422)


def conflict(message: str) -> Problem:
    return Problem("conflict", message, 409)
