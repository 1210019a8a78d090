"""Hostile input: whatever a client sends, the answer is a 4xx in the one error format, never a 500.

Strings that no database stores (NUL, which PostgreSQL refuses) or no encoder writes (a lone
surrogate, which JSON spells ``\\ud800``), numbers past any float, JSON nested past Python's
stack: each is refused with a 400 that names the parameter where one can be named. Every test runs
on SQLite and on PostgreSQL, the production database, where most of these used to be 500s.

The API is the real application in this process (``tests.in_process``); no worker runs, so the
videos these tests create stay queued.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import assert_error, scratch_database
from tests.in_process import ADMIN_TOKEN, SMALL_QUOTA_TIER, InProcessApi, in_process_api

NUL = "\x00"
SURROGATE = "\ud800"  # a lone high surrogate: json.dumps writes it as the escape \ud800
MANY_DIGITS = "9" * 5000
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApi]:
    data_dir = Path(tmp_path_factory.mktemp(f"hostile-{request.param}"))
    if request.param == "sqlite":
        with in_process_api(data_dir) as api:
            yield api
        return
    with scratch_database("videogen_in_process") as url, in_process_api(data_dir, url) as api:
        yield api


@pytest.fixture
def http(api: InProcessApi) -> TestClient:
    return api.client()


def send_json(http: TestClient, method: str, path: str, body: Any, **headers: str) -> Any:
    """``body`` as JSON text, non-ASCII written as escapes (a lone surrogate as ``\\ud800``)."""
    return http.request(method, path, content=json.dumps(body), headers={"Content-Type": "application/json", **headers})


def refused(response: Any, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """A 400 in our error format, naming ``param`` (when given) and with ``code`` (when given)."""
    error = assert_error(response, 400, "invalid_request_error", code)
    if param is not None:
        assert error["param"] == param, error
    return error


# --- strings that cannot be stored ---------------------------------------------------------------


@pytest.mark.parametrize("character", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": "a {}"}, "prompt"),
        ({"negative_prompt": "{}"}, "negative_prompt"),
        ({"metadata": {"key{}": "value"}}, "metadata"),
        ({"metadata": {"key": "value{}"}}, "metadata"),
        ({"model": "hunyuanvideo-tiny{}"}, "model"),
        ({"size": "128x128{}"}, "size"),
        ({"seconds": "1{}"}, "seconds"),
        ({"input_fit": "crop{}"}, "input_fit"),
    ],
)
def test_a_create_with_nul_or_a_lone_surrogate_in_a_string_is_refused_naming_it(
    http: TestClient, character: str, fields: dict[str, Any], param: str
) -> None:
    body = json.loads(json.dumps({"prompt": "a cat", **fields}).replace("{}", json.dumps(character)[1:-1]))
    refused(send_json(http, "POST", "/v1/videos", body), param)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"webhook_url": f"https://hooks.example.com/{SURROGATE}"}, "webhook_url"),
        ({"input_reference": {"image_url": f"https://images.example.com/{SURROGATE}.png"}}, "input_reference"),
    ],
)
def test_a_url_with_a_lone_surrogate_is_refused_naming_it(http: TestClient, fields: dict[str, Any], param: str) -> None:
    refused(send_json(http, "POST", "/v1/videos", {"prompt": "a cat", **fields}), param)


def test_a_url_with_nul_is_refused_by_the_url_policy_with_its_own_code(http: TestClient) -> None:
    image = {"image_url": "https://images.example.com/a.png\x00"}
    response = send_json(http, "POST", "/v1/videos", {"prompt": "a cat", "input_reference": image})
    refused(response, "input_reference.image_url", "invalid_image_url")


def test_an_unknown_field_whose_name_is_a_lone_surrogate_is_refused(http: TestClient) -> None:
    # The error cannot quote the name back: it could not be written into the response.
    refused(send_json(http, "POST", "/v1/videos", {"prompt": "a cat", SURROGATE: 1}))


def test_a_multipart_create_with_nul_in_a_metadata_key_is_refused_naming_metadata(http: TestClient) -> None:
    refused(http.post("/v1/videos", data={"prompt": "a cat", "metadata[key\x00]": "value"}), "metadata")


@pytest.mark.parametrize("character", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/v1/videos/video_x/remix", {"prompt": "a {}"}, "prompt"),
        ("POST", "/v1/webhook_endpoints", {"url": "https://hooks.example.com/", "name": "{}"}, "name"),
        ("POST", "/v1/webhook_endpoints", {"url": "https://hooks.example.com/", "event_types": ["{}"]}, "event_types"),
        ("POST", "/v1/webhook_endpoints/whep_x", {"name": "{}"}, "name"),
        ("POST", "/v1/webhook_endpoints/whep_x/test", {"event_type": "video.completed{}"}, "event_type"),
    ],
)
def test_other_bodies_with_nul_or_a_lone_surrogate_are_refused_naming_the_field(
    http: TestClient, character: str, method: str, path: str, body: dict[str, Any], param: str
) -> None:
    body = json.loads(json.dumps(body).replace("{}", json.dumps(character)[1:-1]))
    refused(send_json(http, method, path, body), param)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/admin/organizations", {"name": "acme\x00", "tier": "unhindered"}, "name"),
        ("/v1/admin/organizations/org_x/keys", {"name": "ci\x00"}, "name"),
        (
            "/v1/admin/access_requests/areq_x/approve",
            {"tier": "unhindered", "organization_name": "a\x00"},
            "organization_name",
        ),
        ("/v1/admin/access_requests/areq_x/reject", {"reason": "no\x00"}, "reason"),
    ],
)
def test_admin_bodies_with_nul_are_refused_naming_the_field(
    http: TestClient, path: str, body: dict[str, Any], param: str
) -> None:
    refused(send_json(http, "POST", path, body, **ADMIN), param)


def test_an_access_request_with_nul_is_refused_naming_the_field(http: TestClient) -> None:
    body = {"company": "Acme\x00", "contact_email": "ops@acme.example.com", "use_case": "ads"}
    refused(send_json(http, "POST", "/v1/access_requests", body), "company")


def test_an_access_request_with_a_lone_surrogate_is_refused(http: TestClient) -> None:
    body = {"company": "Acme", "contact_email": "ops@acme.example.com", "use_case": f"ads {SURROGATE}"}
    refused(send_json(http, "POST", "/v1/access_requests", body))


# --- ids, cursors and headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "param", "credential"),
    [
        ("GET", "/v1/videos/video_%00", "video_id", None),
        ("DELETE", "/v1/videos/video_%00", "video_id", None),
        ("POST", "/v1/videos/video_%00/cancel", "video_id", None),
        ("GET", "/v1/videos/video_%00/content", "video_id", None),
        ("GET", "/v1/videos/video_%00/webhook_deliveries", "video_id", None),
        ("GET", "/v1/models/hunyuanvideo-tiny%00", "model_id", None),
        ("GET", "/v1/webhook_endpoints/whep_%00", "webhook_endpoint_id", None),
        ("DELETE", "/v1/webhook_endpoints/whep_%00", "webhook_endpoint_id", None),
        ("POST", "/v1/webhook_endpoints/whep_%00/rotate_secret", "webhook_endpoint_id", None),
        ("GET", "/v1/webhook_endpoints/whep_%00/deliveries", "webhook_endpoint_id", None),
        ("GET", "/v1/webhook_deliveries/whdel_%00", "delivery_id", None),
        ("POST", "/v1/webhook_deliveries/whdel_%00/redeliver", "delivery_id", None),
        ("GET", "/v1/admin/organizations/org_%00", "organization", ADMIN_TOKEN),
        ("GET", "/v1/admin/organizations/org_%00/keys", "organization", ADMIN_TOKEN),
        ("GET", "/v1/admin/organizations/org_%00/usage", "organization", ADMIN_TOKEN),
        ("POST", "/v1/admin/keys/key_%00/rotate", "key_id", ADMIN_TOKEN),
        ("POST", "/v1/admin/keys/key_%00/revoke", "key_id", ADMIN_TOKEN),
    ],
)
def test_an_id_with_nul_in_the_path_is_refused_naming_it(
    http: TestClient, method: str, path: str, param: str, credential: str | None
) -> None:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    refused(http.request(method, path, headers=headers), param)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/videos/video_%00/remix", {"prompt": "a dog"}),
        ("/v1/webhook_endpoints/whep_%00", {"name": "renamed"}),
        ("/v1/webhook_endpoints/whep_%00/test", {"event_type": "video.completed"}),
    ],
)
def test_an_id_with_nul_in_the_path_of_a_request_with_a_body_is_refused_naming_it(
    http: TestClient, path: str, body: dict[str, Any]
) -> None:
    param = "video_id" if path.startswith("/v1/videos") else "webhook_endpoint_id"
    refused(http.post(path, json=body), param)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/videos",
        "/v1/webhook_endpoints",
        "/v1/webhook_endpoints/whep_x/deliveries",
        "/v1/videos/v/webhook_deliveries",
    ],
)
def test_a_cursor_with_nul_is_refused_naming_after(http: TestClient, path: str) -> None:
    refused(http.get(path, params={"after": "video_\x00"}), "after")


@pytest.mark.parametrize("path", ["/v1/videos", "/v1/videos/video_x/remix"])
def test_an_idempotency_key_with_nul_is_refused_naming_it(http: TestClient, path: str) -> None:
    refused(http.post(path, json={"prompt": "a cat"}, headers={"Idempotency-Key": "retry\x00-1"}), "Idempotency-Key")


# --- numbers past any float ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds",
    ["1e400", MANY_DIGITS, f"0.{MANY_DIGITS}", "1e-400", "1e999999999", "-1e400", "NaN", "Infinity", "sNaN", " "],
)
def test_seconds_that_no_float_holds_are_refused_naming_seconds(http: TestClient, seconds: str) -> None:
    refused(http.post("/v1/videos", json={"prompt": "a cat", "seconds": seconds}), "seconds")


@pytest.mark.parametrize("raw", ["1e400", MANY_DIGITS])
def test_seconds_as_a_json_number_past_any_float_is_refused(http: TestClient, raw: str) -> None:
    response = http.post("/v1/videos", content=f'{{"prompt": "a cat", "seconds": {raw}}}')
    assert_error(response, 400, "invalid_request_error")


@pytest.mark.parametrize("param", ["seed", "num_inference_steps", "fps", "guidance_scale"])
def test_numbers_of_five_thousand_digits_are_refused(http: TestClient, param: str) -> None:
    as_json = http.post("/v1/videos", content=f'{{"prompt": "a cat", "{param}": {MANY_DIGITS}}}')
    assert_error(as_json, 400, "invalid_request_error")
    refused(http.post("/v1/videos", data={"prompt": "a cat", param: MANY_DIGITS}), param)


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "NaN", "Infinity"])
def test_a_guidance_scale_past_any_float_is_refused_naming_it(http: TestClient, raw: str) -> None:
    refused(http.post("/v1/videos", content=f'{{"prompt": "a cat", "guidance_scale": {raw}}}'), "guidance_scale")


def test_a_seed_beyond_63_bits_is_refused_naming_seed(http: TestClient) -> None:
    refused(http.post("/v1/videos", json={"prompt": "a cat", "seed": 2**63}), "seed")


@pytest.mark.parametrize("path", ["/v1/webhook_secret", "/v1/webhook_endpoints/whep_x/rotate_secret"])
def test_a_rotation_overlap_past_any_duration_is_refused_naming_it(http: TestClient, path: str) -> None:
    refused(http.post(path, json={"overlap_seconds": 10**300}), "overlap_seconds")


def test_a_key_lifetime_past_the_calendar_is_refused_naming_it(http: TestClient) -> None:
    created = send_json(http, "POST", "/v1/admin/organizations", {"name": "lifetimes", "tier": "unhindered"}, **ADMIN)
    organization = created.json()["id"]
    response = send_json(
        http, "POST", f"/v1/admin/organizations/{organization}/keys", {"expires_in_seconds": 10**18}, **ADMIN
    )
    refused(response, "expires_in_seconds")


@pytest.mark.parametrize("end_date", ["0001-01-01", "9999-12-31"])
def test_usage_at_the_ends_of_the_calendar_is_refused_naming_end_date(http: TestClient, end_date: str) -> None:
    refused(http.get("/v1/usage", params={"end_date": end_date}), "end_date")


# --- nesting ------------------------------------------------------------------------------------

DEEP = "[" * 30_000  # far past Python's recursion limit, well inside every body limit


@pytest.mark.parametrize(
    "path",
    ["/v1/videos", "/v1/videos/video_x/remix", "/v1/webhook_endpoints", "/v1/webhook_secret", "/v1/access_requests"],
)
def test_json_nested_past_the_stack_is_refused(http: TestClient, path: str) -> None:
    assert_error(
        http.post(path, content=DEEP, headers={"Content-Type": "application/json"}), 400, "invalid_request_error"
    )


def test_a_deep_create_body_says_its_json_could_not_be_read(http: TestClient) -> None:
    response = http.post("/v1/videos", content='{"prompt": "a cat", "metadata": ' + DEEP, headers={})
    assert_error(response, 400, "invalid_request_error", "invalid_json")


@pytest.mark.parametrize("metadata", [DEEP, "[1]", '"a string"'])
def test_multipart_metadata_that_is_not_an_object_is_refused_naming_metadata(http: TestClient, metadata: str) -> None:
    # Alone, or merged with a bracketed metadata[key] field as the openai SDK sends them.
    refused(http.post("/v1/videos", data={"prompt": "a cat", "metadata": metadata}), "metadata")
    refused(http.post("/v1/videos", data={"prompt": "a cat", "metadata": metadata, "metadata[k]": "v"}), "metadata")


# --- unknown fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "admin"),
    [
        ("POST", "/v1/videos", {"prompt": "a cat"}, False),
        ("POST", "/v1/videos/video_x/remix", {"prompt": "a cat"}, False),
        ("POST", "/v1/webhook_endpoints", {"url": "https://hooks.example.com/"}, False),
        ("POST", "/v1/webhook_endpoints/whep_x", {}, False),
        ("PATCH", "/v1/webhook_endpoints/whep_x", {}, False),
        ("POST", "/v1/webhook_endpoints/whep_x/rotate_secret", {}, False),
        ("POST", "/v1/webhook_endpoints/whep_x/test", {"event_type": "video.completed"}, False),
        ("POST", "/v1/webhook_secret", {}, False),
        ("POST", "/v1/access_requests", {"company": "A", "contact_email": "a@a.example.com", "use_case": "x"}, False),
        ("POST", "/v1/admin/organizations", {"name": "unknowns", "tier": "unhindered"}, True),
        ("PATCH", "/v1/admin/organizations/org_x", {}, True),
        ("POST", "/v1/admin/organizations/org_x/keys", {}, True),
        ("POST", "/v1/admin/access_requests/areq_x/approve", {"tier": "unhindered"}, True),
        ("POST", "/v1/admin/access_requests/areq_x/reject", {}, True),
    ],
)
def test_every_request_body_refuses_an_unknown_field_naming_it(
    http: TestClient, method: str, path: str, body: dict[str, Any], admin: bool
) -> None:
    response = send_json(http, method, path, {**body, "surprise": 1}, **(ADMIN if admin else {}))
    refused(response, "surprise", "unknown_parameter")


def test_an_unknown_field_of_input_reference_is_refused_naming_it(http: TestClient) -> None:
    image = {"image_url": "https://images.example.com/a.png", "surprise": 1}
    refused(http.post("/v1/videos", json={"prompt": "a cat", "input_reference": image}), "input_reference.surprise")


def test_a_multipart_create_refuses_an_unknown_field_naming_it(http: TestClient) -> None:
    refused(http.post("/v1/videos", data={"prompt": "a cat", "surprise": "1"}), "surprise", "unknown_parameter")


# --- billing: what is rendered is what is billed -------------------------------------------------


def billed_today(http: TestClient) -> float:
    return float(http.get("/v1/usage").json()["today"]["video_seconds"])


@pytest.mark.parametrize(("seconds", "fps"), [("0.9", 8), ("0.1", 8), ("0.001", 24), ("1.3", 12), ("2", 24)])
def test_a_video_is_billed_for_the_clip_it_renders(http: TestClient, seconds: str, fps: int) -> None:
    before = billed_today(http)
    response = http.post("/v1/videos", json={"prompt": "a cat", "seconds": seconds, "fps": fps})
    assert response.status_code == 200, response.text
    video = response.json()
    rendered = (video["num_frames"] - 1) / video["fps"]  # ModelLimits.max_seconds' measure of a clip
    assert rendered > 0
    assert billed_today(http) == pytest.approx(before + rendered)
    assert video["seconds"] == seconds  # the request is still reported as sent (OpenAI's format)


def test_seconds_too_small_to_write_are_refused_instead_of_billed_as_nothing(http: TestClient) -> None:
    before = billed_today(http)
    refused(http.post("/v1/videos", json={"prompt": "a cat", "seconds": "1e-400"}), "seconds", "invalid_seconds")
    assert billed_today(http) == before


def test_the_daily_quota_counts_what_is_rendered(api: InProcessApi) -> None:
    """One second a day: 0.9 s renders 9 frames at 8 fps, one second, which uses the quota up."""
    with api.client(Authorization=f"Bearer {api.new_key(SMALL_QUOTA_TIER)}") as http:
        first = http.post("/v1/videos", json={"prompt": "a cat", "seconds": "0.9", "fps": 8})
        assert first.status_code == 200, first.text
        assert http.get("/v1/usage").json()["today"]["video_seconds_remaining"] == 0
        second = http.post("/v1/videos", json={"prompt": "a cat", "seconds": "0.05", "fps": 8})
        assert_error(second, 429, "insufficient_quota", "quota_exceeded")


def test_a_client_that_hangs_up_mid_body_is_not_logged_as_an_error(
    api: InProcessApi, caplog: pytest.LogCaptureFixture
) -> None:
    """A load generator stopping, or a closed tab, leaves requests half read: nothing went wrong
    here, and the log must not cry "unhandled error" once per connection."""
    sent: list[dict[str, Any]] = []
    arriving = iter(
        [{"type": "http.request", "body": b'{"prompt": "half a', "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive() -> dict[str, Any]:
        return next(arriving)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/videos",
        "raw_path": b"/v1/videos",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {api.api_key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"1000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    with caplog.at_level(logging.WARNING):
        asyncio.run(api.app(scope, receive, send))

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert not [m for m in sent if m["type"] == "http.response.start" and m["status"] >= 500]
