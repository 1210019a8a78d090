"""Logs: JSON lines (``VIDEOGEN_LOG_FORMAT=json``) with the request's id, and on a worker's lines
the job's video, organization and attempt; the text format names the same context in brackets."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from model import ModelRegistry
from tests.helpers import QUICK
from tests.in_process import in_process_api
from tests.stack import ServiceStack
from videogen.database import session_scope
from videogen.logs import log_handler
from videogen.settings import Settings
from videogen.storage import storage_from_settings
from videogen.videos.tables import Video
from worker.pipelines import PipelineCache
from worker.runner import JobRunner, run_message


@contextmanager
def json_lines() -> Iterator[io.StringIO]:
    """What the process's handler writes with LOG_FORMAT=json, meanwhile, at INFO."""
    stream = io.StringIO()
    handler = log_handler(Settings(_env_file=None, log_format="json"), stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    """Each line one JSON object, with the fields every line has."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "nothing was logged"
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line), line
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
    return lines


def test_an_api_request_and_a_workers_job_log_json_lines_with_their_context(tmp_path: Path) -> None:
    """The API's lines carry the request's id; the worker's (its job code run in-process, as
    Celery runs it) the video, organization and attempt, and a failure's traceback as a field.
    Here the model's weights are missing, so the job fails at once, without a model to load."""
    with in_process_api(tmp_path / "api", models_dir=tmp_path / "no-models") as api, json_lines() as stream:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
        try:
            created = api.client().post("/v1/videos", json=QUICK, headers={"X-Request-Id": "json-1"})
        finally:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        assert created.status_code == 200, created.text
        video = created.json()
        runner = JobRunner(
            api.settings,
            storage_from_settings(api.settings),
            ModelRegistry.from_file(None),
            PipelineCache(tmp_path / "no-models", "cpu"),
        )
        assert run_message(runner, video["id"]) == "failed"
        with session_scope(api.settings.database_url) as session:
            organization_id = session.scalars(select(Video.organization_id).where(Video.id == video["id"])).one()
    lines = parsed(stream)

    during_request = [line for line in lines if line["request_id"] == "json-1"]
    assert {line["logger"] for line in during_request} >= {"sqlalchemy.engine.Engine"}
    assert all("video_id" not in line for line in during_request)

    job = [line for line in lines if line.get("video_id") == video["id"]]
    assert job, lines
    assert all(line["attempt"] == 1 and line["organization_id"] == organization_id for line in job), job
    assert all(line["request_id"] is None for line in job)
    assert any(line["message"].startswith(f"running {video['id']}") for line in job)
    [failure] = [line for line in job if line["message"] == f"{video['id']} failed"]
    assert failure["level"] == "ERROR" and failure["logger"] == "worker.runner"
    assert failure["exception"].startswith("Traceback") and "ModelLoadError" in failure["exception"]
    # Lines outside the job and the request carry neither.
    assert all("video_id" not in line for line in lines if line["request_id"] is None and line not in job)


@pytest.mark.parametrize("role", ["worker", "webhooks"])
def test_the_workers_hand_celerys_logging_to_ours(embedded_stack: ServiceStack, role: str) -> None:
    """Real GPU and webhook workers: Celery's setup_logging signal has our receiver, so Celery's
    own lines ("... ready.") come out in our format (time, level, logger: message), not Celery's."""
    log = (embedded_stack.log_dir / f"{embedded_stack.name}-{role}.log").read_text(errors="replace")
    ready = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO celery(\.\w+)+: \S+@\S+ ready\.$", re.MULTILINE)
    assert ready.search(log), log[-3000:]
