"""OpenTelemetry tracing, off by default (``VIDEOGEN_TRACING=true`` turns it on).

On, each process (``configure_tracing``: the API, the GPU worker, the webhook worker) gets a
tracer provider that exports over OTLP (``VIDEOGEN_TRACING_EXPORTER=otlp``; the SDK reads the
standard ``OTEL_EXPORTER_OTLP_*``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER`` and ``OTEL_BSP_*`` variables) or prints spans (``console``), and FastAPI,
SQLAlchemy, Celery and httpx are instrumented.

A job's trace is carried in the database, not only in the broker's message: the API stores the
W3C ``traceparent`` of the request that created a video on its row (``current_traceparent``),
and the worker starts the job's span with that parent (``continued_span``). The broker's message
is a nudge that may be lost and re-sent by the reconciler, or claimed for another job; the row is
what the job is, so a job always joins the trace of its creation. The span the message arrived
with (Celery's), when it is another trace, is linked.

Off, nothing here imports OpenTelemetry and every function is a no-op: the packages are the
``tracing`` extra, not a dependency.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

    from videogen.settings import Settings

# Paths not traced by default (OTEL_PYTHON_FASTAPI_EXCLUDED_URLS overrides): probes and scrapes
# would otherwise make most of the traces.
DEFAULT_EXCLUDED_URLS = "/healthz,/readyz,/metrics"
# A W3C traceparent of version 00: what the videos table stores.
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
TRACEPARENT_LENGTH = 55


class TracingUnavailableError(RuntimeError):
    """``VIDEOGEN_TRACING`` is on but OpenTelemetry (or the chosen exporter) is not installed."""


@dataclass
class _Tracing:
    provider: TracerProvider
    tracer: Tracer
    instrumentors: list[BaseInstrumentor]


_state: _Tracing | None = None


def enabled() -> bool:
    return _state is not None


def configure_tracing(
    settings: Settings, service_name: str, *, exporter: SpanExporter | None = None, set_global: bool = True
) -> bool:
    """Start tracing this process if ``TRACING`` is on; whether it is on. Idempotent: a second call
    (a second app in one process) keeps the first's provider.

    ``exporter`` replaces the configured one and spans go to it as they end (tests use
    ``InMemorySpanExporter``); ``set_global=False`` leaves OpenTelemetry's global provider alone, so
    that a test process can start and stop tracing more than once (the global can be set only once).
    """
    global _state
    if _state is not None:
        return True
    if not settings.tracing:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        raise TracingUnavailableError(
            f"VIDEOGEN_TRACING is on but OpenTelemetry is not installed ({exc.name} is missing): "
            "pip install 'videogen[tracing]', or set VIDEOGEN_TRACING=false"
        ) from exc
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_configured_exporter(settings)))
    if set_global:
        trace.set_tracer_provider(provider)
    # The SQLAlchemy instrumentation declares support below 2.1 only; 2.1 keeps the event API it uses.
    instrumentors: list[BaseInstrumentor] = [
        SQLAlchemyInstrumentor(),
        CeleryInstrumentor(),  # type: ignore[no-untyped-call]
        HTTPXClientInstrumentor(),
    ]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider, skip_dep_check=True)
    _state = _Tracing(provider, provider.get_tracer("videogen"), instrumentors)
    return True


def _configured_exporter(settings: Settings) -> SpanExporter:
    if settings.tracing_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise TracingUnavailableError(
            "VIDEOGEN_TRACING_EXPORTER=otlp needs the OTLP exporter (opentelemetry-exporter-otlp-proto-http): "
            "pip install 'videogen[tracing]', or set VIDEOGEN_TRACING_EXPORTER=console"
        ) from exc
    return OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_[TRACES_]* (default localhost:4318)


def flush_tracing() -> None:
    """Export the spans still buffered: at a process's orderly end, before it exits (uvicorn ends a
    process it stopped on a signal by raising that signal again, which skips ``atexit``)."""
    if _state is not None:
        _state.provider.force_flush()


def shutdown_tracing() -> None:
    """Flush and stop: spans still buffered are exported, the instrumentations are removed."""
    global _state
    if _state is None:
        return
    state, _state = _state, None
    for instrumentor in state.instrumentors:
        instrumentor.uninstrument()
    state.provider.shutdown()


def instrument_app(app: FastAPI) -> None:
    """Trace the API's requests (a server span each, around every middleware of ours).

    Without the ASGI instrumentation's span per message sent or received: a download would get one
    per chunk and an event stream (``GET /v1/videos/{id}/events``) one per event and keep-alive,
    for hours; the server span keeps the status and the duration."""
    if _state is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_state.provider,
        excluded_urls=os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS),
        exclude_spans=["receive", "send"],
    )


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, to store with what it created; None when
    tracing is off or there is no span."""
    if _state is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    value = carrier.get("traceparent")
    return value if value is not None and TRACEPARENT.fullmatch(value) else None


def current_trace_ids() -> tuple[str, str] | None:
    """The current trace and span ids in hex (for log lines), or None."""
    if _state is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def annotate(attributes: Mapping[str, str | int | float | bool]) -> None:
    """Set ``attributes`` on the current span, if one is recording."""
    if _state is None:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(dict(attributes))


@contextmanager
def continued_span(
    name: str, traceparent: str | None, attributes: Mapping[str, str | int | float | bool]
) -> Iterator[None]:
    """A span for work that continues the trace ``traceparent`` names (a job, created by an API
    request), as the current span; without one it is a child of the current span. The current span
    (the message's, say), when it belongs to another trace, is linked."""
    if _state is None:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.trace import Link
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    current = trace.get_current_span().get_span_context()
    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent}) if traceparent else None
    parent_trace = trace.get_current_span(parent).get_span_context().trace_id if parent is not None else None
    links = [Link(current)] if current.is_valid and parent_trace not in (None, current.trace_id) else []
    with _state.tracer.start_as_current_span(name, context=parent, links=links, attributes=dict(attributes)):
        yield


@contextmanager
def span(name: str, attributes: Mapping[str, str | int | float | bool] | None = None) -> Iterator[None]:
    """A span around some work of ours (a reconcile round), as the current span."""
    if _state is None:
        yield
        return
    with _state.tracer.start_as_current_span(name, attributes=dict(attributes or {})):
        yield


@contextmanager
def untraced() -> Iterator[None]:
    """No instrumentation inside: for periodic bookkeeping (a job's heartbeat, once a second) that
    would otherwise bury a trace's real work under its statements."""
    if _state is None:
        yield
        return
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield
