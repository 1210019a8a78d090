"""Tracing (``VIDEOGEN_TRACING``): off by default; on, a video's job joins the trace of the API
request that created it, through the database rather than the broker's message.

Spans go to OpenTelemetry's in-memory exporter, and OpenTelemetry's global provider is left
alone (``set_global=False``): it can be set once per process, and the rest of the suite runs untraced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select
from starlette.testclient import TestClient

from api.app import create_app
from model import ModelRegistry
from tests.in_process import in_process_api
from videogen import tracing
from videogen.database import session_scope
from videogen.settings import Settings
from videogen.storage import storage_from_settings
from videogen.videos.tables import Video
from worker.pipelines import PipelineCache
from worker.runner import JobRunner, run_message

# One frame, one step: the cheapest job there is.
TINY = {"prompt": "a traced fox", "seconds": "0.05", "fps": 8, "size": "128x128", "num_inference_steps": 1}
SQLALCHEMY = "opentelemetry.instrumentation.sqlalchemy"
CELERY = "opentelemetry.instrumentation.celery"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    settings = Settings(_env_file=None, tracing=True)
    assert tracing.configure_tracing(settings, "videogen-test", exporter=exporter, set_global=False)
    try:
        yield exporter
    finally:
        tracing.shutdown_tracing()


def stored_traceparent(database_url: str, video_id: str) -> str | None:
    with session_scope(database_url) as session:
        return session.scalars(select(Video.traceparent).where(Video.id == video_id)).one()


def in_trace(spans: tuple[ReadableSpan, ...], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


def scope_of(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope is not None else ""


def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, rate_limit_url="memory://", reconcile_interval_seconds=0)
    assert settings.tracing is False
    with TestClient(create_app(settings)) as http:
        assert http.get("/healthz").status_code == 200
    assert not tracing.enabled()
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # OpenTelemetry's no-op proxy
    assert tracing.current_traceparent() is None  # what a new video's row gets


def test_a_job_joins_the_trace_of_the_request_that_created_it(
    tmp_path: Path, models_dir: Path, spans: InMemorySpanExporter
) -> None:
    """The create request's server span (FastAPI), its statements (SQLAlchemy) and its nudge
    (Celery's publish) are one trace; the worker's job span, run later from nothing but the
    video's id (as a nudge re-sent by the reconciler would be), continues that same trace."""
    with in_process_api(tmp_path, tracing=True, models_dir=models_dir) as api:
        created = api.client().post("/v1/videos", json=TINY)
        assert created.status_code == 200, created.text
        video_id = created.json()["id"]
        traceparent = stored_traceparent(api.settings.database_url, video_id)
        assert traceparent is not None and tracing.TRACEPARENT.fullmatch(traceparent), traceparent

        request_spans = spans.get_finished_spans()
        [server] = [s for s in request_spans if s.kind == SpanKind.SERVER and s.name == "POST /v1/videos"]
        assert server.context is not None
        trace_id = server.context.trace_id
        assert traceparent.split("-")[1] == f"{trace_id:032x}"
        assert (
            server.attributes is not None
            and server.attributes["videogen.request_id"] == created.headers["x-request-id"]
        )
        request_trace = in_trace(request_spans, trace_id)
        # No span per ASGI message (a download's chunks, an event stream's events): the server span says it all.
        assert not [s.name for s in request_trace if s.name.endswith((" http send", " http receive"))]
        assert any(scope_of(s) == SQLALCHEMY and "INSERT" in s.name for s in request_trace), request_trace
        assert any(scope_of(s) == CELERY and s.kind == SpanKind.PRODUCER for s in request_trace), request_trace
        spans.clear()

        runner = JobRunner(
            api.settings,
            storage_from_settings(api.settings),
            ModelRegistry.from_file(None),
            PipelineCache(models_dir, "cpu"),
        )
        # As a nudge the reconciler re-sent arrives: in a trace of its own (Celery's span of it).
        with tracing.span("a re-sent nudge"):
            assert run_message(runner, video_id) == "completed"

    job_spans = spans.get_finished_spans()
    [job] = [s for s in job_spans if s.name == "videogen.job"]
    [nudge] = [s for s in job_spans if s.name == "a re-sent nudge"]
    assert job.context is not None and job.context.trace_id == trace_id
    assert job.parent is not None and f"{job.parent.span_id:016x}" == traceparent.split("-")[2]
    assert nudge.context is not None and nudge.context.trace_id != trace_id
    assert [link.context.span_id for link in job.links] == [nudge.context.span_id]
    assert job.attributes is not None
    assert job.attributes["videogen.video_id"] == video_id
    assert job.attributes["videogen.attempt"] == 1
    assert job.attributes["videogen.outcome"] == "completed"
    # The job's own statements (its completion) are in the trace, under the job's span; its
    # heartbeat's are not traced at all.
    job_statements = [s for s in in_trace(job_spans, trace_id) if scope_of(s) == SQLALCHEMY]
    assert any(s.parent is not None and s.parent.span_id == job.context.span_id for s in job_statements)
    assert len(job_statements) < 30, [s.name for s in job_statements]
