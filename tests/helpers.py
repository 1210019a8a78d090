"""Helpers and constants shared by the test modules.

Test modules import these from here (or from ``tests.stack`` and ``tests.webhook_receiver``), never
from one another, so any test file can be read, moved or run on its own. ``conftest`` imports the
constants it configures the service with from here too, so a test and the service it runs against
can never disagree about them.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from cryptography.fernet import Fernet
from PIL import Image

from model.generation import GenerationRequest
from tests.stack import ServiceStack, free_port, wait_until
from tests.webhook_receiver import HOST as RECEIVER_HOST

# --- the operator's configuration for the test run (conftest hands it to the service) -----------

# The token conftest gives the service for its admin API.
ADMIN_TOKEN = "test-admin-token"
# Two ways an operator's model can go wrong, declared the way operators declare models:
# weights that do not load, and a size preset the pipeline rejects once it runs.
BROKEN_MODEL = "tiny-broken"
MISFIT_MODEL = "tiny-misfit"
# The tiny twins the test service serves: each pipeline kind's real classes at toy sizes.
TEXT_TO_VIDEO_TWINS = ["hunyuanvideo-tiny", "hunyuanvideo-1.5-tiny"]
IMAGE_TO_VIDEO_TWINS = ["hunyuanvideo-i2v-tiny", "hunyuanvideo-i2v-33ch-tiny", "hunyuanvideo-1.5-i2v-tiny"]
SERVED_TINY_TWINS = [*TEXT_TO_VIDEO_TWINS, *IMAGE_TO_VIDEO_TWINS]
# The largest input image the test service accepts (small, so "too large" is cheap to send).
INPUT_IMAGE_MAX_BYTES = 512 * 1024
# A webhook endpoint failing for this long is disabled (days in production, seconds here).
WEBHOOK_DISABLE_AFTER_SECONDS = 6

# Days of webhook retries, compressed into seconds, and the delivery timeouts (which fix a claim's lease).
WEBHOOK_RETRY_SCHEDULE = [0.5, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
WEBHOOK_CONNECT_TIMEOUT_SECONDS = 1.0
WEBHOOK_TIMEOUT_SECONDS = 2.0


def service_env(models_dir: Path, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a test service's processes: this process's own without any ``VIDEOGEN_*``
    (a developer's settings must not leak into a test stack), what every test stack shares, then
    ``settings`` (``VIDEOGEN_`` names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOGEN_")}
    env.update(
        VIDEOGEN_DATA_DIR=str(data_dir),
        VIDEOGEN_MODELS_DIR=str(models_dir),
        VIDEOGEN_MODELS_FILE=str(models_dir / "models.toml"),
        VIDEOGEN_DEVICE="cpu",
        VIDEOGEN_TIERS_FILE=str(models_dir / "tiers.toml"),
        VIDEOGEN_DEFAULT_TIER="enterprise",
        VIDEOGEN_ADMIN_TOKEN=ADMIN_TOKEN,
        VIDEOGEN_HEARTBEAT_INTERVAL_SECONDS="0.2",
        VIDEOGEN_RECONCILE_INTERVAL_SECONDS="1",
        VIDEOGEN_LOG_LEVEL="INFO",
        # Webhooks reach the test receiver on 127.0.0.2 over http; 127.0.0.1 stays forbidden.
        VIDEOGEN_WEBHOOK_ALLOW_HTTP="true",
        VIDEOGEN_WEBHOOK_ALLOWED_HOSTS=json.dumps([RECEIVER_HOST]),
        VIDEOGEN_WEBHOOK_CONNECT_TIMEOUT_SECONDS=str(WEBHOOK_CONNECT_TIMEOUT_SECONDS),
        VIDEOGEN_WEBHOOK_TIMEOUT_SECONDS=str(WEBHOOK_TIMEOUT_SECONDS),
        VIDEOGEN_WEBHOOK_RETRY_SCHEDULE=json.dumps(WEBHOOK_RETRY_SCHEDULE),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def production_env(database_url: str, broker_url: str, s3_endpoint_url: str, bucket: str) -> dict[str, str]:
    """The production configuration's settings: PostgreSQL, Redis, S3 over HTTP, a secret key and
    worker metrics, as an operator sets them."""
    return dict(
        VIDEOGEN_DATABASE_URL=database_url,
        VIDEOGEN_BROKER_URL=broker_url,
        VIDEOGEN_STORAGE_BACKEND="s3",
        VIDEOGEN_S3_ENDPOINT_URL=s3_endpoint_url,
        VIDEOGEN_S3_BUCKET=bucket,
        VIDEOGEN_S3_ACCESS_KEY_ID="test",
        VIDEOGEN_S3_SECRET_ACCESS_KEY="test",
        VIDEOGEN_S3_CREATE_BUCKET="true",
        VIDEOGEN_WORKER_METRICS_PORT=str(free_port()),
        VIDEOGEN_WEBHOOK_METRICS_PORT=str(free_port()),
        VIDEOGEN_SECRET_KEY=Fernet.generate_key().decode(),
    )


# The PostgreSQL server the tests make their databases on: a URL allowed to create databases.
POSTGRES_ADMIN_URL = os.environ.get(
    "VIDEOGEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own (``prefix`` and a random suffix) on the test server, for a
    run or a module; dropped afterwards, connections still open or not. Yields its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- deadlines ----------------------------------------------------------------------------------

# How long a test waits for a job, or anything behind one (a reconcile cycle, a webhook delivery),
# before calling it a failure. A job takes seconds on the tiny model, but a loaded 2-core machine is
# 3-5x slower and some waits include a worker restart, stale-heartbeat detection (5 s) and a
# redispatch (5 s). A wait returns as soon as its condition holds: the deadline only bounds failure.
JOB_DEADLINE = 240.0

# --- requests -----------------------------------------------------------------------------------

# The slowest request hunyuanvideo-tiny accepts: ~10 s on a 2-core CPU, long enough to cancel mid-run.
LONG_JOB: dict[str, Any] = {"size": "256x256", "seconds": "4", "fps": 16, "num_inference_steps": 200}
# The cheapest complete request, for tests about something other than generation.
QUICK: dict[str, Any] = {"prompt": "quick", "num_inference_steps": 1, "seconds": "1"}


def noise_picture(seed: int = 0, width: int = 128, height: int = 128) -> Image.Image:
    """An RGB image of seeded noise: different seeds are different images, for image-to-video."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def generation_request(**overrides: Any) -> GenerationRequest:
    """A small request for the model layer (a tiny twin runs it in a second or two)."""
    values: dict[str, Any] = dict(
        prompt="a dog runs on the beach",
        width=128,
        height=128,
        num_frames=5,
        num_inference_steps=2,
        guidance_scale=6.0,
        seed=7,
    )
    values.update(overrides)
    return GenerationRequest(**values)


def assert_error(response: httpx.Response, status: int, type_: str, code: str | None = None) -> dict[str, Any]:
    """Check that ``response`` is an error in OpenAI's format (so the SDKs can parse it) with this
    status, type and, if given, code; returns the ``error`` object for further checks."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    # request_id: the x-request-id of the answer (api.request_ids), on every error
    assert set(body["error"]) == {"message", "type", "param", "code", "request_id"}
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    assert body["error"]["type"] == type_
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]  # type: ignore[no-any-return]


def status_of(http: httpx.Client, video_id: str) -> dict[str, Any]:
    """The video object as its owner sees it now: the only view of a job a client has."""
    return http.get(f"/videos/{video_id}").json()  # type: ignore[no-any-return]


def wait_for(
    http: httpx.Client,
    video_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = JOB_DEADLINE,
) -> dict[str, Any]:
    """Poll the video until ``predicate`` holds and return it, as a client would: jobs run in
    another process, so tests wait on what the API reports, never for a fixed time."""

    def check() -> dict[str, Any] | None:
        video = status_of(http, video_id)
        return video if predicate(video) else None

    return wait_until(check, timeout, message=f"{video_id} to reach the expected state")  # type: ignore[no-any-return]


def finished(video: dict[str, Any]) -> bool:
    """Whether the job has reached a terminal status, so nothing about it changes any more."""
    return video["status"] in ("completed", "failed", "cancelled")


def keyed_client(stack: ServiceStack, tier: str, base_url: str | None = None) -> httpx.Client:
    """An HTTP client for a brand-new organization on ``tier``: limits and usage are counted per
    organization, so each test gets its own and cannot use up another's."""
    key = stack.create_key(f"{tier}-{secrets.token_hex(3)}", tier=tier)
    return httpx.Client(base_url=base_url or stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def cancel_all(http: httpx.Client, ids: list[str]) -> None:
    """Delete these videos, so long jobs a test only needed admitted do not hold the one worker
    up for the tests after it."""
    for video_id in ids:
        http.delete(f"/videos/{video_id}")
