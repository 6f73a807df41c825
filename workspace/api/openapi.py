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


ID = {"type": "integer", "minimum": 1}


def obj(description: str, properties: dict, required: list[str] | None = None) -> dict:
    """A closed object schema: every property required unless ``required`` says otherwise,
    nothing else allowed."""
    return {"type": "object", "description": description,
            "required": list(properties) if required is None else required,
            "properties": properties, "additionalProperties": False}


def string(description: str, **extra) -> dict:
    return {"type": "string", "description": description, **extra}


def nullable(type_: str, description: str, **extra) -> dict:
    return {"type": [type_, "null"], "description": description, **extra}


def boolean(description: str) -> dict:
    return {"type": "boolean", "description": description}


def error(description: str) -> dict:
    """A documented error response (JSON body with the Italian message)."""
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def path_param(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": ID}


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
    "properties": {
        "error": {"type": "integer", "description": "Lo stato HTTP."},
        "message": {"type": "string", "description": "Il motivo, in italiano (o in inglese se scelto)."},
        "code": {"type": "string", "description": "Codice stabile del rifiuto (per i programmi)."},
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Per ogni campo errato, il suo messaggio."},
        "retry_after": {"type": "integer", "description": "Secondi da attendere prima di riprovare."},
    },
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
