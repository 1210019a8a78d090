"""Helpers and constants shared by the test modules.

Test modules import these from here (or from ``tests.stack`` and ``tests.webhook_receiver``), never
from one another, so any test file can be read, moved or run on its own. ``conftest`` imports the
constants it configures the service with from here too, so a test and the service it runs against
can never disagree about them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from PIL import Image

from model.generation import GenerationRequest
from tests.stack import ServiceStack, wait_until

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
    assert set(body["error"]) == {"message", "type", "param", "code"}
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
