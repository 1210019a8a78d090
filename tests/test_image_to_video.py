"""The HunyuanVideo family through the API: image-to-video with OpenAI's ``input_reference``,
remix, spritesheets, capabilities, and OpenAI endpoints we do not offer."""

from __future__ import annotations

import base64
import io
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import openai
import pytest
from PIL import Image

from model.encoding import spritesheet_layout
from tests.helpers import (
    IMAGE_TO_VIDEO_TWINS,
    INPUT_IMAGE_MAX_BYTES,
    LONG_JOB,
    assert_error,
    finished,
    keyed_client,
    wait_for,
)
from tests.stack import ServiceStack, videogen_cli
from tests.webhook_receiver import HOST as RECEIVER_HOST

I2V = IMAGE_TO_VIDEO_TWINS[0]
SMALL = {"size": "128x128", "seconds": "1", "num_inference_steps": 2}


def png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30), pattern: bool = True) -> bytes:
    """A PNG the size asked for; with ``pattern``, a stripe so crops and pads are distinguishable."""
    image = Image.new("RGB", (width, height), color)
    if pattern:
        for x in range(width // 3, 2 * width // 3):
            for y in range(height):
                image.putpixel((x, y), (20, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def frames_of(content: bytes) -> np.ndarray:
    with av.open(io.BytesIO(content)) as container:
        return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])


def create(http: httpx.Client, image: bytes | None = None, **fields: Any) -> dict[str, Any]:
    """A create as the openai SDK sends it when there is a file: multipart, the image as the
    ``input_reference`` file part."""
    files = {"input_reference": ("image.png", image, "image/png")} if image is not None else None
    data = {k: str(v) for k, v in {"prompt": "a paper boat", **fields}.items()}
    response = http.post("/videos", data=data, files=files)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def completed(http: httpx.Client, video_id: str) -> dict[str, Any]:
    video = wait_for(http, video_id, finished)
    assert video["status"] == "completed", video
    return video


@pytest.mark.parametrize("model", IMAGE_TO_VIDEO_TWINS)
def test_each_image_to_video_kind_animates_an_uploaded_image_through_the_sdk(
    client: openai.OpenAI, http: httpx.Client, model: str
) -> None:
    image = png(128, 128)
    video = client.videos.create(
        prompt="the boat drifts",
        model=model,
        size="128x128",  # type: ignore[arg-type]
        seconds="1",  # type: ignore[arg-type]
        input_reference=("boat.png", image, "image/png"),
        extra_body={"seed": 7, "num_inference_steps": 2},
    )
    done = completed(http, video.id)
    assert done["model"] == model
    assert done["input_reference"]["size"] == "128x128" and done["input_reference"]["fit"] == "exact"
    assert done["input_reference"]["bytes"] == len(image)
    import hashlib

    assert done["input_reference"]["sha256"] == hashlib.sha256(image).hexdigest()
    frames = frames_of(client.videos.download_content(video.id).read())
    assert frames.shape == (done["num_frames"], 128, 128, 3)


def test_the_image_reaches_the_pipeline_same_image_same_frames_other_image_other_frames(
    embedded_stack: ServiceStack,
) -> None:
    http = keyed_client(embedded_stack, "enterprise")
    red, blue = png(128, 128, (200, 30, 30)), png(128, 128, (30, 30, 200))
    ids = [create(http, image, model=I2V, seed=3, **SMALL)["id"] for image in (red, red, blue)]
    contents = [http.get(f"/videos/{completed(http, i)['id']}/content").content for i in ids]
    first, again, other = (frames_of(c) for c in contents)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_an_image_given_as_a_json_data_url_is_animated(http: httpx.Client) -> None:
    body = {"prompt": "a boat", "model": I2V, **SMALL, "input_reference": {"image_url": data_url(png(128, 128))}}
    video = http.post("/videos", json=body).json()
    assert completed(http, video["id"])["input_reference"]["size"] == "128x128"


def test_without_a_model_an_image_goes_to_the_default_image_to_video_model(http: httpx.Client) -> None:
    video = create(http, png(128, 128), **SMALL)
    assert video["model"] == I2V


@pytest.mark.parametrize("fit", ["crop", "pad"])
def test_input_fit_crop_or_pad_makes_an_image_of_another_size_fit(http: httpx.Client, fit: str) -> None:
    video = create(http, png(200, 100), model=I2V, input_fit=fit, **SMALL)
    done = completed(http, video["id"])
    assert done["input_reference"] == {**done["input_reference"], "size": "200x100", "fit": fit}
    assert frames_of(http.get(f"/videos/{video['id']}/content").content).shape[1:3] == (128, 128)


def _bomb() -> bytes:
    """A valid PNG header declaring 50000x50000 pixels: decoding it would need 7.5 GB."""
    header = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat_data = zlib.compress(b"\0" * 1000)
    idat = struct.pack(">I", len(idat_data)) + b"IDAT" + idat_data + struct.pack(">I", zlib.crc32(b"IDAT" + idat_data))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat


def _noise_png(min_bytes: int) -> bytes:
    side = int((min_bytes / 3) ** 0.5) + 64
    pixels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    assert len(buffer.getvalue()) > min_bytes
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image", "fields", "param", "code"),
    [
        (b"this is not an image", {}, "input_reference", "invalid_image"),
        (png(128, 128)[:200], {}, "input_reference", "invalid_image"),
        (_noise_png(INPUT_IMAGE_MAX_BYTES), {}, "input_reference", "image_too_large"),
        (_bomb(), {}, "input_reference", "image_too_large"),
        (png(200, 100), {}, "input_reference", "input_reference_size_mismatch"),
        (png(128, 128), {"model": "hunyuanvideo-tiny"}, "model", "model_not_image_to_video"),
        (png(128, 128), {"input_fit": "stretch"}, "input_fit", None),
    ],
    ids=["not-an-image", "truncated", "too-many-bytes", "decompression-bomb", "wrong-size", "t2v-model", "bad-fit"],
)
def test_every_bad_image_gets_a_400_naming_the_parameter(
    http: httpx.Client, image: bytes, fields: dict[str, str], param: str, code: str | None
) -> None:
    files = {"input_reference": ("image.png", image, "image/png")}
    data = {"prompt": "a boat", "model": I2V, **SMALL, **fields}
    response = http.post("/videos", data=data, files=files)
    error = assert_error(response, 400, "invalid_request_error", code)
    assert error["param"] == param


def test_an_image_to_video_model_without_an_image_is_refused(http: httpx.Client) -> None:
    error = assert_error(http.post("/videos", json={"prompt": "a boat", "model": I2V}), 400, "invalid_request_error")
    assert (error["param"], error["code"]) == ("input_reference", "input_reference_required")


def test_a_tier_without_image_to_video_refuses_images(stack: ServiceStack) -> None:
    http = keyed_client(stack, "text-only")
    files = {"input_reference": ("image.png", png(128, 128), "image/png")}
    response = http.post("/videos", data={"prompt": "a boat", "model": I2V, **SMALL}, files=files)
    assert assert_error(response, 403, "permission_error", "capability_not_allowed")["param"] == "input_reference"
    # The tier is checked before the image is looked at: even unreadable bytes get the 403.
    files = {"input_reference": ("image.png", b"not an image", "image/png")}
    response = http.post("/videos", data={"prompt": "a boat", "model": I2V, **SMALL}, files=files)
    assert_error(response, 403, "permission_error", "capability_not_allowed")


def test_models_show_their_capabilities(client: openai.OpenAI, http: httpx.Client) -> None:
    models = {m["id"]: m for m in http.get("/models").json()["data"]}
    assert models["hunyuanvideo-tiny"]["capabilities"] == ["text_to_video"]
    for name in IMAGE_TO_VIDEO_TWINS:
        assert models[name]["capabilities"] == ["image_to_video"]


def test_a_remix_keeps_the_seed_parameters_and_image_with_a_new_prompt(
    stack: ServiceStack, client: openai.OpenAI, http: httpx.Client
) -> None:
    source = completed(http, create(http, png(128, 128), model=I2V, seed=11, **SMALL)["id"])
    remix = client.videos.remix(source["id"], prompt="the boat sinks")
    assert remix.remixed_from_video_id == source["id"]
    done = completed(http, remix.id)
    keep = ("model", "size", "seconds", "seed", "fps", "num_frames", "num_inference_steps", "guidance_scale")
    assert {k: done[k] for k in keep} == {k: source[k] for k in keep}
    assert done["prompt"] == "the boat sinks" and done["input_reference"] == source["input_reference"]
    stranger = keyed_client(stack, "enterprise").post(f"/videos/{source['id']}/remix", json={"prompt": "mine"})
    assert_error(stranger, 404, "invalid_request_error", "not_found")  # another organization's video is absent
    nul = http.post(f"/videos/{source['id']}/remix", json={"prompt": "a\u0000b"})
    assert assert_error(nul, 400, "invalid_request_error")["param"] == "prompt"
    # An Idempotency-Key makes a retried remix safe, as it does a create.
    again = [
        http.post(f"/videos/{source['id']}/remix", json={"prompt": "once"}, headers={"Idempotency-Key": "remix-1"})
        for _ in range(2)
    ]
    assert again[0].json()["id"] == again[1].json()["id"] and again[1].headers["Idempotent-Replayed"] == "true"


def test_only_a_completed_video_can_be_remixed(http: httpx.Client) -> None:
    running = create(http, model="hunyuanvideo-tiny", prompt="long", **LONG_JOB)
    response = http.post(f"/videos/{running['id']}/remix", json={"prompt": "again"})
    assert assert_error(response, 400, "invalid_request_error", "video_not_ready")["param"] == "video_id"
    http.post(f"/videos/{running['id']}/cancel")


def test_the_spritesheet_is_the_documented_grid_of_frames(client: openai.OpenAI, http: httpx.Client) -> None:
    video = completed(http, create(http, model="hunyuanvideo-tiny", size="256x144", seconds="2")["id"])
    sheet = Image.open(io.BytesIO(client.videos.download_content(video["id"], variant="spritesheet").read()))
    layout = spritesheet_layout(video["num_frames"], 256, 144)
    assert sheet.format == "JPEG"
    assert sheet.size == (layout.columns * layout.tile_width, layout.rows * layout.tile_height)
    assert len(layout.indices) == min(16, video["num_frames"])


@pytest.mark.parametrize("model", ["hunyuanvideo-1.5-tiny", *IMAGE_TO_VIDEO_TWINS])
def test_every_kind_can_be_cancelled_mid_denoise(embedded_stack: ServiceStack, model: str) -> None:
    http = keyed_client(embedded_stack, "enterprise")
    image = png(128, 128) if model in IMAGE_TO_VIDEO_TWINS else None
    video = create(http, image, model=model, size="128x128", seconds="2", num_inference_steps=200)
    wait_for(http, video["id"], lambda v: v["status"] == "in_progress" and v["progress"] > 0)
    assert http.post(f"/videos/{video['id']}/cancel").json()["status"] == "cancelled"
    wait_for(http, video["id"], finished)
    # The worker stopped: it takes the next job at once instead of finishing 200 steps.
    assert completed(http, create(http, model="hunyuanvideo-tiny", **SMALL)["id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/videos/edits"),
        ("POST", "/videos/extensions"),
        ("POST", "/videos/characters"),
        ("GET", "/videos/characters/char_1"),
    ],
)
def test_openai_endpoints_we_do_not_offer_say_so(http: httpx.Client, method: str, path: str) -> None:
    error = assert_error(http.request(method, path, json={}), 404, "invalid_request_error", "unsupported_endpoint")
    assert "does not offer" in error["message"]


def test_the_sdk_sees_unsupported_endpoints_as_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.videos.edit(prompt="x", video=("clip.mp4", b"not a video", "video/mp4"))


def test_an_image_url_is_fetched_under_the_url_policy(http: httpx.Client) -> None:
    """An http(s) image_url is fetched by the API; the test service allows http to the receiver's
    address (127.0.0.2), as an operator allows an internal host. 127.0.0.1 stays forbidden."""
    image = png(128, 128)

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((RECEIVER_HOST, 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{RECEIVER_HOST}:{server.server_address[1]}/boat.png"
        body = {"prompt": "a boat", "model": I2V, **SMALL, "input_reference": {"image_url": url}}
        video = http.post("/videos", json=body).json()
        assert completed(http, video["id"])["input_reference"]["bytes"] == len(image)
        forbidden = {**body, "input_reference": {"image_url": url.replace(RECEIVER_HOST, "127.0.0.1")}}
        error = assert_error(http.post("/videos", json=forbidden), 400, "invalid_request_error", "invalid_image_url")
        assert error["param"] == "input_reference.image_url"
    finally:
        server.shutdown()
        server.server_close()


def test_the_cli_animates_an_image(embedded_stack: ServiceStack, tmp_path: Path) -> None:
    env = {
        **embedded_stack.env,
        "VIDEOGEN_API_KEY": embedded_stack.create_key("cli-i2v"),
        "VIDEOGEN_BASE_URL": embedded_stack.base_url,
    }
    image, out = tmp_path / "boat.png", tmp_path / "boat.mp4"
    image.write_bytes(png(200, 100))
    args = ["--image", str(image), "--input-fit", "pad", "--seconds", "1", "-o", str(out)]
    result = videogen_cli(env, "generate", "the boat drifts", *args)
    assert I2V in result.stdout and "saved" in result.stdout
    assert "9 frames, 128x128" in videogen_cli(env, "probe", str(out)).stdout
