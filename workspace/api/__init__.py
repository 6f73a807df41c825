"""Read-only JSON API under /api/v1, described by one OpenAPI 3 document.

Each domain area adds its endpoints to ``bp`` (in its ``api.py``, imported by the area's
``register``) and describes them with ``openapi.add_path`` / ``openapi.add_schema`` in the same
file, so the document cannot drift from the routes silently (a test checks every /api/v1 route is
documented). ``register`` runs after every area's: the blueprint then carries all their routes.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from workspace.api import openapi

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    return jsonify(openapi.document())


openapi.add_path("/api/v1/openapi.json", {
    "get": {
        "summary": "Questo documento OpenAPI",
        "description": "Descrizione completa dell'API in sola lettura, generata dalle rotte registrate.",
        "operationId": "openapi",
        "tags": ["meta"],
        "responses": {"200": {"description": "Il documento OpenAPI 3.1 dell'API",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }
})



def register(app) -> None:
    from workspace.extensions import csrf

    app.register_blueprint(bp)
    csrf.exempt(bp)  # read-only JSON, no cookies needed to read it
