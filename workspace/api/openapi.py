"""The OpenAPI 3.1 document, assembled from what each module declares."""
from __future__ import annotations

import copy

_paths: dict[str, dict] = {}
_schemas: dict[str, dict] = {}


def add_path(path: str, operations: dict) -> None:
    _paths.setdefault(path, {}).update(operations)


def add_schema(name: str, schema: dict) -> None:
    _schemas[name] = schema


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_array_response(description: str, item_schema: str) -> dict:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": {"type": "array", "items": ref(item_schema)}}},
        }
    }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "integer"}, "message": {"type": "string"}},
}


def document() -> dict:
    schemas = {"Error": ERROR_SCHEMA, **_schemas}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tavoli API",
            "version": "1.0.0",
            "description": "API in sola lettura di Tavoli: dati di riferimento dei Piani di Zona 2025-2027 "
            "(DGR XII/2167 del 15/04/2024) e, per le procedure pubblicate, i loro contenuti.",
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": "/api/v1"}],
        "paths": copy.deepcopy(
            {p.removeprefix("/api/v1") or "/": ops for p, ops in sorted(_paths.items())}
        ),
        "components": {"schemas": copy.deepcopy(schemas)},
    }
