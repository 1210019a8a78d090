"""Typed errors of the domain. The API maps them, in one place, to OpenAI's error format::

{"error": {"message": "...", "type": "invalid_request_error", "param": "size", "code": "invalid_size"}}
"""

from __future__ import annotations


class VideogenError(Exception):
    """Base of every error a client may see. Subclasses fix the HTTP status and error type."""

    status_code: int = 500
    type: str = "server_error"
    code: str | None = None

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequestError(VideogenError):
    status_code = 400
    type = "invalid_request_error"
    code = "invalid_value"


class AuthenticationError(VideogenError):
    status_code = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDeniedError(VideogenError):
    status_code = 403
    type = "permission_error"
    code = "permission_denied"


class NotFoundError(VideogenError):
    status_code = 404
    type = "invalid_request_error"
    code = "not_found"


class MethodNotAllowedError(VideogenError):
    status_code = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class ConflictError(VideogenError):
    status_code = 409
    type = "invalid_request_error"
    code = "conflict"


class RateLimitError(VideogenError):
    """429. ``retry_after`` (seconds) becomes a ``Retry-After`` header."""

    status_code = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(
        self, message: str, *, retry_after: float, code: str | None = None, headers: dict[str, str] | None = None
    ):
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(message, code=code, headers={"Retry-After": str(seconds), **(headers or {})})
        self.retry_after = seconds


class QuotaExceededError(RateLimitError):
    type = "insufficient_quota"
    code = "quota_exceeded"


class RequestTooLargeError(VideogenError):
    status_code = 413
    type = "invalid_request_error"
    code = "request_too_large"


class UnsupportedMediaTypeError(VideogenError):
    status_code = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class ServiceUnavailableError(VideogenError):
    """503: a dependency (database, broker, storage) is down or the server is saturated; the work
    is not lost, so the client is told when to try again (``Retry-After``)."""

    status_code = 503
    type = "server_error"
    code = "service_unavailable"

    def __init__(
        self, message: str, *, retry_after: int = 5, code: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after), **(headers or {})})
        self.retry_after = retry_after
