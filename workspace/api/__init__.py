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

# Modules that add endpoints; imported here so registering the blueprint registers them all.
from workspace.reference import api as _reference_api  # noqa: E402,F401
