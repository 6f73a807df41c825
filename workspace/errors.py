"""Every error answers in Italian (or English when chosen): an HTML page, or JSON under /api/."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


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


def error_response(code: int, message: str | None = None):
    message = message or _messages().get(code, _("Errore."))
    if request.path.startswith("/api/"):
        return jsonify({"error": code, "message": message}), code
    return render_template("errors/error.html", code=code, message=message), code


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_e):
        return error_response(
            400, _("Il modulo è scaduto o non è valido (controllo CSRF). Ricarica la pagina e riprova.")
        )

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        # An explicit description (abort(404, "...")) is ours and already translated.
        own = e.description if e.description and e.description != type(e).description else None
        return error_response(e.code or 500, own)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        app.logger.exception("Errore non gestito", exc_info=e)
        return error_response(500)

    app.register_error_handler(InternalServerError, lambda e: error_response(500))
