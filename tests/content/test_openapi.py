"""The content API's OpenAPI 3.1 description (issue 19): valid by a real validator, true to the
JSON Schema the API already published, and honoured by the API itself: a property-based test
(schemathesis) generates requests from the description and checks every answer against it."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.get_json()


def test_the_description_is_valid_openapi_3_1(document):
    validate(document)  # raises on anything the specification forbids
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/api/v1/pages", "/api/v1/pages/{slug}", "/api/v1/faq", "/api/v1/menus",
                                      "/api/v1/search"}


def test_the_validator_refuses_a_broken_description(document):
    document["paths"]["/api/v1/pages/{slug}"]["get"]["parameters"] = [
        p for p in document["paths"]["/api/v1/pages/{slug}"]["get"]["parameters"] if p["name"] != "slug"]
    with pytest.raises(OpenAPIValidationError):
        validate(document)


def test_its_components_are_the_published_json_schema(client, document):
    published = client.get("/api/v1/schema.json").get_json()["$defs"]
    assert set(document["components"]["schemas"]) == set(published)
    assert document["components"]["schemas"]["PageDetail"]["required"] == published["PageDetail"]["required"]


OPERATIONS = ["/api/v1/pages", "/api/v1/pages/{slug}", "/api/v1/faq", "/api/v1/menus", "/api/v1/search"]


@pytest.mark.parametrize("path", OPERATIONS)
def test_every_answer_matches_the_description(app, path):
    """Requests generated from the description (valid ones, by it) get answers of a described
    status, with the described headers and shape: schemathesis's own checks, for each operation."""
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path]["GET"]
    tried, failures = [], []

    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def answers(case):
        tried.append(case.path_parameters or case.query)
        try:
            case.call_and_validate()
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - named in the assertion below
            failures.append(f"{case.path_parameters or ''} {case.query or ''}: {failure}")

    answers()
    assert len(tried) >= 5, tried          # the description gave schemathesis requests to make
    assert not failures, failures[:3]
