"""Logging for every process: one handler on the root logger, text or JSON, with the context of
the work being done (the request id in the API, the job in a GPU worker) on every line.

The context lives in a ``ContextVar`` that the code doing the work binds (``log_context``:
``api.request_ids`` per request, ``worker.runner`` per job), and a ``logging.Filter`` on the
handler copies it onto each record as it is written. A filter on the handler, not on our loggers,
because a record propagated from a child logger skips its ancestors' filters but not the handlers'
ones: uvicorn's access lines, SQLAlchemy's, botocore's and Celery's get the context too. A context
variable, because asyncio tasks and the threads Starlette runs sync routes in (``copy_context``)
each see their own request's.

JSON lines come from python-json-logger rather than a formatter of our own: it already turns an
exception into a field, merges ``extra=`` fields, and serializes what ``json`` cannot (datetimes,
paths) instead of failing a log call.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import IO, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from videogen import tracing
from videogen.settings import Settings

# What a line may carry about the work it was written for: always the request id (None outside a
# request), the job's fields only when they are set.
REQUEST_FIELD = "request_id"
JOB_FIELDS = ("video_id", "organization_id", "attempt")
CONTEXT_FIELDS = (REQUEST_FIELD, *JOB_FIELDS)

# The loggers of ours whose level LOG_LEVEL sets (the root's is set too; these are named so that a
# process whose root logger someone else configured still logs ours at LOG_LEVEL).
OWN_LOGGERS = ("api", "videogen", "model", "worker", "cli")
# uvicorn gives its loggers handlers of their own that do not propagate; ours takes them over.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"

_context: ContextVar[Mapping[str, object]] = ContextVar("videogen_log_context", default=MappingProxyType({}))


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Every line logged inside (in this task or thread, and in threads started with its context)
    carries ``fields``, on top of those bound outside."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, object]:
    return _context.get()


def current_request_id() -> str | None:
    value = _context.get().get(REQUEST_FIELD)
    return value if isinstance(value, str) else None


class ContextFilter(logging.Filter):
    """Copies the bound context (and the current trace, when tracing is on) onto each record:
    ``request_id``, ``video_id``, ``organization_id``, ``attempt``, ``trace_id``, ``span_id``
    (None when unset), so a format can name them, and whatever else was bound. A field the call
    itself gave (``extra=``) wins. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, context.get(name))
        for name, value in context.items():  # whatever else was bound (a webhook delivery's id)
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        record.context_fields = tuple(context)
        ids = tracing.current_trace_ids()
        record.trace_id, record.span_id = ids if ids is not None else (None, None)
        _structure_access_line(record)
        return True


def _structure_access_line(record: logging.LogRecord) -> None:
    """uvicorn's access line as fields too (its arguments: client, method, path, HTTP version,
    status), so a JSON line can be queried without parsing its message."""
    if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, _version, status = record.args
        record.http = {"client": client, "method": method, "path": path, "status": status}


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request_id=... video_id=...]: message``; the brackets only when the
    line has a context."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        names = dict.fromkeys((*CONTEXT_FIELDS, *getattr(record, "context_fields", ())))
        pairs = [f"{name}={value}" for name in names if (value := getattr(record, name, None)) is not None]
        record.context = f" [{' '.join(pairs)}]" if pairs else ""
        return super().formatMessage(record)


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
    ``request_id``; ``video_id``, ``organization_id`` and ``attempt`` on a job's lines,
    ``trace_id`` and ``span_id`` inside a trace, ``exception`` (the formatted traceback) when there
    is one, and any ``extra=`` fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            timestamp="time",
            # Internals of the text formatter and of colouring loggers (uvicorn's), not information.
            reserved_attrs=[*RESERVED_ATTRS, "context", "context_fields", "color_message", "taskName"],
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered: dict[str, Any] = {
            key: log_data.pop(key) for key in ("time", "level", "logger", "message") if key in log_data
        }
        ordered[REQUEST_FIELD] = log_data.pop(REQUEST_FIELD, None)
        for name in (*JOB_FIELDS, "trace_id", "span_id"):
            if (value := log_data.pop(name, None)) is not None:
                ordered[name] = value
        ordered.update(log_data)
        return ordered


def log_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """The handler every process logs through: ``stream`` (stderr by default), in
    ``LOG_FORMAT``, with the context filter."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLineFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.set_name(_HANDLER_NAME)
    return handler


_HANDLER_NAME = "videogen"


def configure_logging(settings: Settings) -> None:
    """Log through ``log_handler`` at ``LOG_LEVEL``: the API (at ``create_app``), the GPU and
    webhook workers (from Celery's ``setup_logging`` signal, which keeps Celery off the root
    logger) and the CLI's long-running commands call it. uvicorn's loggers, access log included,
    are routed through it too.

    A process whose root logger was configured by someone else (an application embedding ours, a
    test runner) keeps that configuration; only our loggers' levels are set. Called again (a second
    ``create_app`` in one process), it replaces its own handler."""
    level = settings.log_level.upper()
    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == _HANDLER_NAME]
    if ours or not root.handlers:
        for handler in ours:
            root.removeHandler(handler)
        root.addHandler(log_handler(settings))
        root.setLevel(level)
        for name in UVICORN_LOGGERS:
            uvicorn_logger = logging.getLogger(name)
            if uvicorn_logger.handlers:  # without any, uvicorn was told not to log there (--no-access-log)
                uvicorn_logger.handlers.clear()
                uvicorn_logger.propagate = True
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
