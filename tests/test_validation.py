"""Bad input gets a 4xx naming the offending parameter, in OpenAI's error format; never a 500."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.helpers import INPUT_IMAGE_MAX_BYTES, assert_error

VALID = {"prompt": "a cat on a sofa", "model": "hunyuanvideo-tiny"}

BAD_JSON_BODIES = [
    pytest.param({"model": "hunyuanvideo-tiny"}, "prompt", "missing_required_parameter", id="missing-prompt"),
    pytest.param({**VALID, "prompt": ""}, "prompt", "invalid_prompt", id="empty-prompt"),
    pytest.param({**VALID, "prompt": "   \n "}, "prompt", "invalid_prompt", id="blank-prompt"),
    pytest.param({**VALID, "prompt": "x" * 10_001}, "prompt", "invalid_prompt", id="huge-prompt"),
    pytest.param({**VALID, "prompt": 42}, "prompt", "invalid_type", id="prompt-not-a-string"),
    pytest.param({**VALID, "prompt": "a\u0000b"}, "prompt", None, id="nul-in-prompt"),
    pytest.param({**VALID, "negative_prompt": "\u0000"}, "negative_prompt", None, id="nul-in-negative-prompt"),
    pytest.param({**VALID, "metadata": {"k": "v\u0000"}}, "metadata", None, id="nul-in-metadata"),
    pytest.param({**VALID, "size": "big"}, "size", "invalid_size", id="size-not-WxH"),
    pytest.param({**VALID, "size": "1920x1080"}, "size", "invalid_size", id="size-not-offered"),
    pytest.param({**VALID, "size": "0x128"}, "size", "invalid_size", id="size-zero"),
    pytest.param({**VALID, "seconds": "60"}, "seconds", "invalid_seconds", id="too-many-seconds"),
    pytest.param({**VALID, "seconds": "-1"}, "seconds", None, id="negative-seconds"),
    pytest.param({**VALID, "seconds": "soon"}, "seconds", None, id="seconds-not-a-number"),
    pytest.param({**VALID, "seconds": "NaN"}, "seconds", None, id="seconds-nan"),
    pytest.param({**VALID, "model": "sora-2"}, "model", "model_not_found", id="unknown-model"),
    pytest.param({**VALID, "num_inference_steps": 0}, "num_inference_steps", None, id="zero-steps"),
    pytest.param({**VALID, "num_inference_steps": 10_000}, "num_inference_steps", None, id="too-many-steps"),
    pytest.param({**VALID, "num_inference_steps": "many"}, "num_inference_steps", None, id="steps-not-int"),
    pytest.param({**VALID, "fps": 1000}, "fps", None, id="fps-out-of-range"),
    pytest.param({**VALID, "seed": -5}, "seed", None, id="negative-seed"),
    pytest.param({**VALID, "seed": 1.5}, "seed", None, id="fractional-seed"),
    pytest.param({**VALID, "guidance_scale": 1e9}, "guidance_scale", None, id="guidance-out-of-range"),
    pytest.param({**VALID, "metadata": {"k": 5}}, "metadata.k", None, id="metadata-not-strings"),
    pytest.param({**VALID, "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", None, id="metadata-too-big"),
    pytest.param({**VALID, "metadata": "nope"}, "metadata", None, id="metadata-not-an-object"),
    pytest.param({**VALID, "colour": "blue"}, "colour", "unknown_parameter", id="unknown-parameter"),
    pytest.param({**VALID, "input_reference": "x"}, "input_reference", "invalid_type", id="input-reference-not-object"),
    pytest.param(
        {**VALID, "input_reference": {"file_id": "file_1"}}, "input_reference", "unsupported_parameter", id="file-id"
    ),
]


@pytest.mark.parametrize(("body", "param", "code"), BAD_JSON_BODIES)
def test_bad_json_fields_are_rejected_with_param(http: httpx.Client, body: dict, param: str, code: str | None) -> None:  # type: ignore[type-arg]
    error = assert_error(http.post("/videos", json=body), 400, "invalid_request_error", code)
    assert error["param"] == param


def test_malformed_json_is_a_400(http: httpx.Client) -> None:
    response = http.post("/videos", content=b'{"prompt": "unterminated', headers={"Content-Type": "application/json"})
    assert assert_error(response, 400, "invalid_request_error", "invalid_json")


def test_json_that_is_not_an_object_is_a_400(http: httpx.Client) -> None:
    response = http.post("/videos", content=b'["prompt"]', headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_request_error", "invalid_json")


def test_oversized_body_is_a_413(http: httpx.Client) -> None:
    """A body larger than 256 KiB plus room for one input image (base64) is refused unread."""
    too_big = 256 * 1024 + INPUT_IMAGE_MAX_BYTES * 4 // 3 + 1
    response = http.post("/videos", json={**VALID, "negative_prompt": "x" * too_big})
    assert_error(response, 413, "invalid_request_error", "request_too_large")


def test_unsupported_content_type_is_a_415(http: httpx.Client) -> None:
    response = http.post("/videos", content=b"prompt", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "invalid_request_error", "unsupported_media_type")


def test_multipart_fields_are_validated_like_json(http: httpx.Client) -> None:
    response = http.post("/videos", data={"prompt": "ok", "num_inference_steps": "abc"}, files={"_": ("", b"")})
    # a stray file part is refused as well; without it the bad integer is reported
    assert response.status_code == 400
    response = http.post("/videos", data={"prompt": "ok", "num_inference_steps": "abc"})
    error = assert_error(response, 400, "invalid_request_error", "invalid_type")
    assert error["param"] == "num_inference_steps"


def test_sdk_surfaces_bad_request_with_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.videos.create(prompt="ok", size="4096x4096")  # type: ignore[arg-type]
    assert raised.value.param == "size"
    assert raised.value.code == "invalid_size"


@pytest.mark.parametrize(
    ("params", "param"),
    [({"limit": 0}, "limit"), ({"limit": 1000}, "limit"), ({"order": "sideways"}, "order"), ({"limit": "x"}, "limit")],
)
def test_bad_list_parameters(http: httpx.Client, params: dict, param: str) -> None:  # type: ignore[type-arg]
    assert assert_error(http.get("/videos", params=params), 400, "invalid_request_error")["param"] == param


def test_unknown_video_and_route_and_method(http: httpx.Client) -> None:
    assert (
        assert_error(http.get("/videos/video_doesnotexist"), 404, "invalid_request_error", "not_found")["param"]
        == "video_id"
    )
    assert_error(http.get("/nothing-here"), 404, "invalid_request_error", "unknown_url")
    not_allowed = http.put("/videos")
    assert_error(not_allowed, 405, "invalid_request_error", "method_not_allowed")
    assert not_allowed.headers["Allow"] == "GET, OPTIONS, POST"
    assert_error(http.get("/videos/video_x/content", params={"variant": "gif"}), 400, "invalid_request_error")


def test_valid_request_is_accepted_after_all_that(http: httpx.Client) -> None:
    response = http.post("/videos", json={**VALID, "seconds": 1, "seed": 7, "num_inference_steps": 1})
    assert response.status_code == 200, response.text
    assert response.json()["seconds"] == "1"
    assert response.json()["seed"] == 7
