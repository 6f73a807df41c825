"""Read-only JSON API under /api/v1, described by one OpenAPI 3 document.

Each domain module adds its endpoints to ``bp`` and describes them with ``openapi.add_path`` /
``openapi.add_schema`` in the same file, so the document cannot drift from the routes silently
(a test checks every /api/v1 route is documented).
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

# Modules that add endpoints; imported here so registering the blueprint registers them all.
from workspace.needs import api as _needs_api  # noqa: E402,F401
from workspace.reference import api as _reference_api  # noqa: E402,F401
from workspace.voting import api as _voting_api  # noqa: E402,F401
