"""The one place where exceptions become HTTP responses, all in OpenAI's error format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from videogen.errors import InvalidRequestError, RequestTooLargeError, ServiceUnavailableError, VideogenError
from videogen.logs import current_request_id
from videogen.outages import outage_of

_STATUS_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
_VALIDATION_CODES = {
    "missing": "missing_required_parameter",
    "extra_forbidden": "unknown_parameter",
    "json_invalid": "invalid_json",
}


def error_body(error: VideogenError) -> dict[str, dict[str, str | None]]:
    """OpenAI's error object, plus the request's id (``api.request_ids``) inside ``error``: the
    SDK hands that object to its exceptions as ``body`` (``exc.body["request_id"]``), and a client
    that logs the body logs the id a server operator can grep the logs for."""
    body = error.to_body()
    request_id = current_request_id()
    if request_id is not None:
        body["error"]["request_id"] = request_id
    return body


def error_response(error: VideogenError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status_code, headers={**error.headers, **(headers or {})})


def validation_error(errors: Sequence[Mapping[str, Any]]) -> InvalidRequestError:
    """Turn pydantic's error list into one error naming the first offending parameter."""
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    param = ".".join(loc) or None
    kind = first.get("type", "")
    code = _VALIDATION_CODES.get(
        kind, "invalid_type" if kind.endswith("_type") or "parsing" in kind else "invalid_value"
    )
    message = first.get("msg", "invalid value")
    if kind == "missing":
        message = f"Missing required parameter: '{param}'."
    elif kind == "extra_forbidden":
        message = f"Unknown parameter: '{param}'."
    elif param:
        message = f"Invalid value for '{param}': {message}."
    return InvalidRequestError(message, param=param, code=code)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VideogenError)
    async def _videogen_error(_: Request, exc: VideogenError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _pydantic_validation(_: Request, exc: ValidationError) -> JSONResponse:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = VideogenError(str(exc.detail))
        error.status_code = exc.status_code
        error.type = _STATUS_TYPES.get(exc.status_code, "invalid_request_error")
        if exc.status_code == 404:
            error.message, error.code = f"Unknown request URL: {request.method} {request.url.path}.", "unknown_url"
        elif exc.status_code == 405:
            error.message = f"Method {request.method} is not allowed on {request.url.path}."
            error.code = "method_not_allowed"
        elif exc.status_code == 413:
            error.code = RequestTooLargeError.code
        elif exc.status_code == 400:
            error.code = "invalid_body"  # FastAPI could not read the body (not JSON it can parse)
        return error_response(error, headers=getattr(exc, "headers", None))

    # Everything else (a dependency's outage, a bug) is answered by ``api.limits.LastResort`` with
    # ``unexpected_error``: unlike a handler for ``Exception``, it keeps the client's connection.


def unexpected_error(exc: BaseException) -> VideogenError:
    """What the client is told about an exception nothing else mapped: a 503 with Retry-After if a
    dependency is down (the request may simply be retried), else a 500. Neither names a host,
    bucket or path: the details are in the server log."""
    if isinstance(exc, VideogenError):
        return exc
    if isinstance(exc, RecursionError):
        return InvalidRequestError("The request is nested too deeply.", code="invalid_json")
    dependency = outage_of(exc)
    if dependency is not None:
        return ServiceUnavailableError(
            f"The {dependency} is unavailable at the moment; try again shortly.", code=f"{dependency}_unavailable"
        )
    return VideogenError("The server had an error while processing your request.")
