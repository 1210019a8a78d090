"""The whole API, fuzzed from its own OpenAPI document (schemathesis, property-based).

Every documented operation gets requests generated from its schema, valid and invalid ones
(schemathesis' positive and negative modes), with NUL bytes allowed in strings. Whatever a
client sends, the answer is never a server error, and its status, content type and body are
ones the document declares for that operation. That holds only if the document is complete:
every ``$ref`` resolves and every error a route returns is declared.

The run is the real application in this process (``tests.in_process``), on SQLite; derandomized,
so a run fails or passes the same way each time, with a fixed number of examples per operation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from tests.helpers import assert_error
from tests.in_process import ADMIN_TOKEN, InProcessApi, in_process_api

# Examples per operation and generation mode: about 25 s on two cores for the whole document. Set
# VIDEOGEN_TEST_FUZZ_EXAMPLES higher for a longer search.
EXAMPLES = int(os.environ.get("VIDEOGEN_TEST_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApi]:
    with in_process_api(Path(tmp_path_factory.mktemp("fuzz"))) as api:
        yield api


@pytest.fixture(scope="module")
def document(api: InProcessApi) -> dict[str, Any]:
    response = api.client().get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture(scope="module")
def api_schema(api: InProcessApi, document: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=True, deterministic=True
    )
    return schema


def test_the_openapi_document_is_valid_and_every_reference_resolves(document: dict[str, Any]) -> None:
    validate(document)  # OpenAPI 3.1, $refs included


def test_request_bodies_that_routes_read_themselves_are_defined(document: dict[str, Any]) -> None:
    create = document["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    assert set(create) == {"application/json", "multipart/form-data"}
    schemas = document["components"]["schemas"]
    assert {"VideoCreateRequest", "ImageReference", "AccessRequestCreate"} <= set(schemas)
    assert "HTTPValidationError" not in schemas  # validation errors are our 400, not FastAPI's 422


def test_the_document_declares_the_limits_and_enums_the_server_enforces(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    create = schemas["VideoCreateRequest"]["properties"]
    assert create["metadata"]["maxProperties"] == 16
    assert create["input_fit"]["anyOf"][0]["enum"] == ["exact", "crop", "pad"]
    listing = {p["name"]: p["schema"] for p in document["paths"]["/v1/videos"]["get"]["parameters"]}
    assert (listing["limit"]["minimum"], listing["limit"]["maximum"]) == (1, 100)
    assert listing["order"]["enum"] == ["asc", "desc"]
    content = {p["name"]: p["schema"] for p in document["paths"]["/v1/videos/{video_id}/content"]["get"]["parameters"]}
    assert content["variant"]["enum"] == ["video", "thumbnail", "spritesheet"]
    assert create["seed"]["anyOf"][0] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}


def _referenced(value: Any) -> Iterator[str]:
    """The component names ``value`` refers to, at any depth."""
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"].rsplit("/", 1)[-1]
        for item in value.values():
            yield from _referenced(item)
    elif isinstance(value, list):
        for item in value:
            yield from _referenced(item)


def test_every_request_body_declares_that_unknown_fields_are_refused(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    bodies = [op["requestBody"] for item in document["paths"].values() for op in item.values() if "requestBody" in op]
    pending, seen = list(_referenced(bodies)), set()
    while pending:
        name = pending.pop()
        if name not in seen and schemas[name].get("type") == "object":
            seen.add(name)
            assert schemas[name].get("additionalProperties") is False, f"{name} accepts unknown fields"
            pending += _referenced(schemas[name])
    assert {"VideoCreateRequest", "ImageReference", "WebhookEndpointCreate", "KeyCreate"} <= seen


# --- OPTIONS: what a path allows, asked of the API itself --------------------------------------


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/videos", "GET, OPTIONS, POST"),
        ("/v1/videos/video_x", "DELETE, GET, OPTIONS"),
        ("/v1/videos/video_x/content", "GET, HEAD, OPTIONS"),
        ("/v1/webhook_endpoints/whep_x", "DELETE, GET, OPTIONS, PATCH, POST"),
        ("/v1/admin/organizations/org_x", "GET, OPTIONS, PATCH"),
        ("/healthz", "GET, OPTIONS"),
    ],
)
def test_options_answers_204_with_the_methods_the_path_allows(api: InProcessApi, path: str, allow: str) -> None:
    response = TestClient(api.app).options(path)  # no credentials: a CORS preflight carries none
    assert response.status_code == 204, response.text
    assert response.headers["Allow"] == allow


def test_options_on_an_unknown_path_is_a_404_in_the_error_format(api: InProcessApi) -> None:
    response = TestClient(api.app).options("/v1/nothing-here")
    assert_error(response, 404, "invalid_request_error", "unknown_url")


def test_every_documented_method_is_in_its_paths_allow_header(api: InProcessApi, document: dict[str, Any]) -> None:
    http = TestClient(api.app)
    for template, operations in document["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        allowed = set(http.options(path).headers["Allow"].split(", "))
        assert {method.upper() for method in operations} <= allowed, template


# --- the fuzz run -----------------------------------------------------------------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz(operation: Any, mode: GenerationMode, credential: str) -> None:
    """``EXAMPLES`` requests to ``operation`` in ``mode``; raises on the first failed check."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {credential}"}, checks=CHECKS)

    run()


def test_no_request_gets_a_server_error_or_an_undocumented_response(api_schema: Any, api: InProcessApi) -> None:
    """Every operation, in both modes; the failures of all of them are reported together."""
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        credential = ADMIN_TOKEN if operation.path.startswith("/v1/admin") else api.api_key
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, credential)
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # nothing it takes can be invalid (no parameters, or any string)
            except (Exception, FailureGroup) as failure:  # noqa: BLE001 - collected, then reported all at once
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
