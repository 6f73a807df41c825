"""The OpenAPI document: valid, complete (every /api/v1 route), and true (real responses validate)."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import validate

PREFIX = "/api/v1"
SELF = f"{PREFIX}/openapi.json"


@pytest.fixture
def document(client) -> dict:
    response = client.get(SELF)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def openapi_path(rule: str) -> str:
    """Flask rule -> OpenAPI path relative to the server URL: /api/v1/x/<int:id> -> /x/{id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(PREFIX))


def response_validator(document: dict, path: str, method: str = "get", status: str = "200"):
    schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    # Resolve #/components/... against the document itself.
    return Draft202012Validator({**schema, "components": document["components"]})


def test_document_is_valid_openapi(document):
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": PREFIX}]


def test_every_api_route_is_documented(app, document):
    routes = [r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX + "/")]
    assert routes, "no /api/v1 routes found"
    for rule in routes:
        path = openapi_path(rule.rule)
        assert path in document["paths"], f"{rule.rule} is not in the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path].get(method.lower())
            assert operation, f"{method} {rule.rule} is not documented"
            assert operation.get("summary") and operation.get("description")
            assert "200" in operation["responses"]


def test_documented_paths_exist(app, document):
    rules = {openapi_path(r.rule) for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX)}
    assert set(document["paths"]) <= rules


REFERENCE_SCHEMAS = ("Macroarea", "LepsRef", "Leps", "Ambito", "AtsRef", "AsstRef", "DistrettoLink")


@pytest.mark.parametrize("name", REFERENCE_SCHEMAS)
def test_reference_schemas_are_closed_and_fully_required(document, name):
    schema = document["components"]["schemas"][name]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert schema.get("description")
    for prop, spec in schema["properties"].items():
        assert spec.get("description") or "$ref" in spec, f"{name}.{prop} has no description"


REFERENCE_ENDPOINTS = [
    ("/riferimenti/macroaree", "", 12),
    ("/riferimenti/leps", "", 16),
    ("/riferimenti/ambiti", "", 91),
    ("/riferimenti/ambiti", "?q=pavia", 5),
    ("/riferimenti/ambiti", "?q=nessun%20risultato", 0),
]


@pytest.mark.parametrize(("path", "query", "expected"), REFERENCE_ENDPOINTS)
def test_real_responses_match_their_schema(client, document, path, query, expected):
    response = client.get(PREFIX + path + query)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert len(body) == expected
    response_validator(document, path).validate(body)


def test_schema_rejects_what_it_should(client, document):
    """The schemas are strict enough to catch drift: an extra or missing field fails."""
    validator = response_validator(document, "/riferimenti/ambiti")
    item = client.get(PREFIX + "/riferimenti/ambiti?q=lom_72").get_json()[0]
    with pytest.raises(ValidationError):
        validator.validate([{**item, "extra": 1}])
    with pytest.raises(ValidationError):
        validator.validate([{k: v for k, v in item.items() if k != "sioss_code"}])
    with pytest.raises(ValidationError):
        validator.validate([{**item, "distretti": [{"code": "22076", "name": "PAVIA"}]}])  # no asst


def test_query_parameter_is_documented(document):
    operation = document["paths"]["/riferimenti/ambiti"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [("q", "query", False)]
