"""Every error answers in Italian (or English when chosen): an HTML page, or JSON under /api/.

A ``Problem`` raised anywhere in a request (service, view, permission check) reaches the one
handler here: the request's transaction is rolled back — nothing half-written survives a
refusal — and the person reads the Problem's message with its status.
"""
from __future__ import annotations

from flask import Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from workspace.i18n import gettext as _
from workspace.problems import Problem


def _messages() -> dict[int, str]:
    return {
        400: _("La richiesta non è valida."),
        401: _("Per continuare occorre accedere."),
        403: _("Non hai i permessi per questa operazione."),
        404: _("La pagina richiesta non esiste."),
        405: _("Operazione non consentita su questa pagina."),
        409: _("L'operazione è in conflitto con lo stato attuale."),
        413: _("Il file o il testo inviato è troppo grande."),
        422: _("I dati inviati non sono validi."),
        429: _("Troppi tentativi: riprova fra qualche minuto."),
        500: _("Si è verificato un errore interno. Riprova più tardi."),
    }


def wants_json() -> bool:
    """API paths, and scripts that ask for JSON rather than a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(code: int, message: str | None = None, problem: Problem | None = None) -> Response:
    message = message or _messages().get(code, _("Errore."))
    if wants_json():
        body = problem.as_json() if problem is not None else {"error": code, "message": message}
        response = jsonify(body)
    else:
        response = make_response(render_template("errors/error.html", code=code, message=message))
    response.status_code = code
    if problem is not None and problem.retry_after is not None:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response


def problem_response(problem: Problem):
    """The page or JSON for a refusal; the caller has already rolled back."""
    return error_response(problem.status, problem.message, problem)


def _rollback() -> None:
    from workspace.db import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 — the refusal must still be answered
        pass


def init_app(app) -> None:
    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        _rollback()
        return problem_response(problem)

    @app.errorhandler(CSRFError)
    def _csrf(_e):
        return error_response(
            400, _("Il modulo è scaduto o non è valido (controllo CSRF). Ricarica la pagina e riprova.")
        )

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        # An explicit description (abort(404, "...")) is ours and already translated.
        own = e.description if e.description and e.description != type(e).description else None
        result = error_response(e.code or 500, own)
        # Keep the protocol headers werkzeug computed (Allow on 405, WWW-Authenticate on 401).
        original = e.get_response()
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in original.headers:
                result.headers[header] = original.headers[header]
        return result

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        _rollback()
        app.logger.exception("Errore non gestito", exc_info=e)
        return error_response(500)

    app.register_error_handler(InternalServerError, lambda e: error_response(500))
