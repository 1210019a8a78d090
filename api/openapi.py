"""The OpenAPI document, completed where FastAPI cannot see what a route does.

Two routes read their bodies themselves (a create is JSON or multipart; an application is read
after its rate limit) and name their schemas by ``$ref``, which FastAPI does not know to define.
FastAPI documents a 422 for validation errors, which this API answers with a 400 in its one error
format (``api.errors``), and knows nothing of what the middleware answers (``api.limits``: 413 for
a body too large, 503 when the API is busy or a dependency is down). ``tests/test_openapi_fuzz.py``
validates the document and fuzzes the API from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from api.schemas import ErrorResponse, RequestBody

_REF_TEMPLATE = "#/components/schemas/{model}"
_ERROR = {"application/json": {"schema": {"$ref": _REF_TEMPLATE.format(model=ErrorResponse.__name__)}}}
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _request_models(base: type[RequestBody] = RequestBody) -> Iterator[type[RequestBody]]:
    for model in base.__subclasses__():
        yield model
        yield from _request_models(model)


def _define_request_bodies(schemas: dict[str, Any]) -> None:
    """Every request body model and the models it nests, under components, where routes that read
    their bodies themselves refer to them."""
    models = sorted(set(_request_models()), key=lambda m: m.__name__)
    _, definitions = models_json_schema([(m, "validation") for m in models], ref_template=_REF_TEMPLATE)
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)


def _errors_in_our_format(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if operation.get("parameters") or "requestBody" in operation:
        responses.setdefault("400", {"description": "Invalid request", "content": _ERROR})
    if "requestBody" in operation:  # every body is bounded as it arrives (api.limits)
        responses.setdefault("413", {"description": "Request body too large", "content": _ERROR})
    if path.startswith("/v1/"):  # queued too long, or a dependency is down (api.limits, api.errors)
        responses.setdefault(
            "503", {"description": "Busy or a dependency is down: retry after Retry-After", "content": _ERROR}
        )


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _define_request_bodies(schemas)
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            if method in _HTTP_METHODS:
                _errors_in_our_format(path, operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (and in ``/docs``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = complete_document(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
