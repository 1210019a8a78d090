"""An ``input_reference`` image, decoded, checked and fitted (``videogen.videos.reference_images``),
and the image URLs it may come from: data: URLs, and http(s) URLs fetched from a real local server
through ``videogen.outbound.transport.fetch`` (no redirects, a total timeout, a size cap).

Images are real ones, made by Pillow in memory. The server listens on 127.0.0.2 (loopback, so
nothing leaves the machine); the policy allows exactly that address, so 127.0.0.1 stays forbidden.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from model import Size
from videogen.errors import InvalidRequestError
from videogen.outbound.transport import fetch
from videogen.outbound.url_policy import WebhookResolutionError, WebhookURLPolicy
from videogen.videos.reference_images import (
    ImageLimits,
    InputFit,
    ReferenceImage,
    decode_image_url,
    prepare_reference_image,
)

LIMITS = ImageLimits(max_bytes=1_000_000, max_pixels=4_000_000)
HOST = "127.0.0.2"
URL_PARAM = "input_reference.image_url"
RED, GREEN, BLUE, BLACK, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 0, 0), (255, 255, 255)
Color = tuple[int, ...]


def encode(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def solid(width: int, height: int, color: Color = RED, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, (width, height), color)


def noise() -> Image.Image:
    """64x48 of noise: it does not compress, so cutting the file cuts pixel data."""
    return Image.effect_noise((64, 48), 50).convert("RGB")


def decoded(result: ReferenceImage) -> Image.Image:
    image = Image.open(io.BytesIO(result.png))
    assert image.format == "PNG"
    return image


def near(pixel: Any, color: Color, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=True))


def refused(call: Callable[[], object], code: str, param: str = "input_reference") -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    assert caught.value.param == param
    assert caught.value.status_code == 400
    return caught.value


def prepare(data: bytes, size: str = "64x48", fit: InputFit = InputFit.EXACT, limits: ImageLimits = LIMITS) -> Any:
    return prepare_reference_image(data, Size.parse(size), fit, limits)


def png_with_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring ``width``x``height``, with no pixel data: a few
    dozen bytes that would ask a naive decoder for gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


# --- what is accepted, and what comes out ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"), [("PNG", {}), ("JPEG", {"quality": 95}), ("WEBP", {"lossless": True})], ids=str
)
def test_png_jpeg_and_webp_of_the_exact_size_become_an_rgb_png_of_that_size(fmt: str, options: dict[str, Any]) -> None:
    data = encode(solid(64, 48, BLUE), fmt, **options)
    result = prepare(data)
    image = decoded(result)
    assert (image.mode, image.size) == ("RGB", (64, 48))
    assert near(image.getpixel((32, 24)), BLUE, tolerance=8)
    assert (result.width, result.height, result.fit) == (64, 48, InputFit.EXACT)
    assert result.sha256 == hashlib.sha256(data).hexdigest()  # of what the client sent, not the PNG
    assert result.bytes == len(data)


def test_the_declared_content_type_is_ignored_the_data_decides() -> None:
    """A PNG sent as data:image/jpeg is a PNG; a text file sent as data:image/png is not an image."""
    png = encode(solid(64, 48))
    url = "data:image/jpeg;base64," + base64.b64encode(png).decode()
    assert decoded(prepare(decode_image_url(url, strict_policy(), LIMITS, 5))).size == (64, 48)
    text = decode_image_url("data:image/png;base64," + base64.b64encode(b"hello").decode(), strict_policy(), LIMITS, 5)
    refused(lambda: prepare(text), "invalid_image")


def test_an_exact_fit_refuses_another_size_naming_both_and_the_way_out() -> None:
    error = refused(lambda: prepare(encode(solid(100, 50)), "64x48"), "input_reference_size_mismatch")
    assert "100x50" in error.message and "64x48" in error.message
    assert '"crop"' in error.message and '"pad"' in error.message


def stripe_image() -> bytes:
    """200x100, red, with a green vertical stripe in the middle (columns 90 to 109)."""
    image = solid(200, 100, RED)
    image.paste(GREEN, (90, 0, 110, 100))
    return encode(image)


def test_crop_covers_the_frame_and_keeps_the_center() -> None:
    result = prepare(stripe_image(), "64x64", InputFit.CROP)
    image = decoded(result)
    assert image.size == (64, 64)
    assert near(image.getpixel((32, 32)), GREEN)  # the center survives
    assert near(image.getpixel((2, 32)), RED) and near(image.getpixel((61, 32)), RED)
    assert near(image.getpixel((32, 1)), GREEN) and near(image.getpixel((32, 62)), GREEN)  # no bars
    assert (result.width, result.height, result.fit) == (200, 100, InputFit.CROP)


def test_pad_fits_inside_with_black_bars_centered() -> None:
    image = decoded(prepare(stripe_image(), "64x64", InputFit.PAD))
    assert image.size == (64, 64)
    # 200x100 scaled to 64x32, rows 16 to 47; black above and below.
    assert near(image.getpixel((32, 32)), GREEN)
    assert near(image.getpixel((2, 32)), RED) and near(image.getpixel((61, 32)), RED)
    assert image.getpixel((32, 4)) == BLACK and image.getpixel((32, 59)) == BLACK
    assert image.getpixel((2, 10)) == BLACK and near(image.getpixel((2, 20)), RED)


@pytest.mark.parametrize("fit", [InputFit.CROP, InputFit.PAD])
def test_crop_and_pad_also_scale_up_and_keep_an_exact_size_unchanged(fit: InputFit) -> None:
    assert decoded(prepare(encode(solid(10, 30)), "64x48", fit)).size == (64, 48)
    exact = decoded(prepare(encode(solid(64, 48, BLUE)), "64x48", fit))
    assert exact.size == (64, 48) and exact.getpixel((0, 0)) == BLUE


def test_exif_orientation_is_applied_before_the_size_is_looked_at() -> None:
    """40x20 stored, orientation 6 (display rotated 90 degrees clockwise): the client sees 20x40,
    with the stored left half (red) on top."""
    stored = solid(40, 20, BLUE)
    stored.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).size == (40, 20)

    result = prepare(data, "20x40")  # exact: so the rotated size is what counts
    image = decoded(result)
    assert (result.width, result.height) == (20, 40) and image.size == (20, 40)
    assert near(image.getpixel((10, 5)), RED) and near(image.getpixel((10, 34)), BLUE)
    refused(lambda: prepare(data, "40x20"), "input_reference_size_mismatch")


def rgba_half_transparent() -> Image.Image:
    image = Image.new("RGBA", (64, 48), (0, 0, 0, 0))  # transparent black
    image.paste((255, 0, 0, 255), (0, 0, 32, 48))  # opaque red on the left
    image.paste((255, 0, 0, 128), (32, 0, 64, 10))  # half-transparent red, top right
    return image


def palette_with_transparency() -> bytes:
    image = Image.new("P", (64, 48), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 32, 48))
    return encode(image, transparency=0)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encode(rgba_half_transparent()), id="RGBA-png"),
        pytest.param(encode(rgba_half_transparent(), "WEBP", lossless=True), id="RGBA-webp"),
        pytest.param(palette_with_transparency(), id="P-png-tRNS"),
    ],
)
def test_transparency_is_flattened_onto_white(data: bytes) -> None:
    image = decoded(prepare(data))
    assert image.mode == "RGB"
    assert image.getpixel((50, 40)) == WHITE  # transparent black became white, not black
    assert image.getpixel((10, 10)) == RED


def test_half_transparency_blends_with_white_and_grey_alpha_flattens_too() -> None:
    assert near(decoded(prepare(encode(rgba_half_transparent()))).getpixel((50, 5)), (255, 127, 127), 3)
    la = Image.new("LA", (64, 48), (0, 0))
    la.paste((0, 255), (0, 0, 32, 48))
    image = decoded(prepare(encode(la)))
    assert image.getpixel((50, 10)) == WHITE and image.getpixel((10, 10)) == BLACK


def test_a_16_bit_greyscale_png_is_scaled_to_8_bits_not_clipped_to_white() -> None:
    image = decoded(prepare(encode(Image.new("I;16", (64, 48), 40000))))
    assert near(image.getpixel((0, 0)), (155, 155, 155), 2)


def test_metadata_of_the_clients_file_is_not_carried_into_the_png() -> None:
    source = solid(64, 48)
    result = prepare(encode(source, icc_profile=b"\0" * 200))
    assert "icc_profile" not in decoded(result).info


# --- what is refused ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [("GIF", "GIF"), ("BMP", "BMP"), ("TIFF", "TIFF")])
def test_other_image_formats_are_refused_by_name(fmt: str, name: str) -> None:
    error = refused(lambda: prepare(encode(solid(64, 48), fmt)), "invalid_image_format")
    assert name in error.message and "PNG, JPEG and WebP" in error.message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, I am text", id="text"),
        pytest.param(b'{"image": "no"}' * 100, id="json"),
        pytest.param(encode(noise())[:2000], id="truncated-png"),
        pytest.param(encode(noise(), "JPEG")[:600], id="truncated-jpeg"),
        pytest.param(encode(noise(), "WEBP")[:600], id="truncated-webp"),
        pytest.param(png_with_header_only(64, 48), id="png-without-pixels"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, id="png-signature-then-garbage"),
    ],
)
def test_what_is_not_a_readable_image_is_invalid_image(data: bytes) -> None:
    refused(lambda: prepare(data), "invalid_image")


def test_too_many_bytes_are_refused_before_decoding() -> None:
    """Garbage over the limit is 'too large', not 'invalid': the size is checked first."""
    error = refused(lambda: prepare(b"x" * 2001, limits=ImageLimits(2000, 4_000_000)), "image_too_large")
    assert "2001" in error.message and "2000" in error.message
    data = encode(solid(64, 48))
    assert prepare(data, limits=ImageLimits(len(data), 4_000_000)).bytes == len(data)  # the limit itself is fine


def test_too_many_pixels_are_refused_from_the_header() -> None:
    error = refused(lambda: prepare(encode(solid(64, 48)), limits=ImageLimits(10**6, 64 * 48 - 1)), "image_too_large")
    assert "64x48" in error.message
    assert prepare(encode(solid(64, 48)), limits=ImageLimits(10**6, 64 * 48)).width == 64


@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [
        pytest.param(50_000, 50_000, LIMITS.max_pixels, id="over-our-limit"),
        pytest.param(50_000, 50_000, 10**12, id="over-pillows-bomb-error"),
        pytest.param(10_000, 10_000, 10**12, id="over-pillows-bomb-warning"),
    ],
)
def test_a_decompression_bomb_is_refused_fast_without_allocating(width: int, height: int, max_pixels: int) -> None:
    """A 60-byte PNG declaring 50000x50000 (7.5 GB of RGB). Whether our limit or Pillow's own bomb
    check catches it, it is 'too large', in milliseconds, and no pixel buffer is allocated."""
    data = png_with_header_only(width, height)
    tracemalloc.start()
    started = time.monotonic()
    try:
        refused(lambda: prepare(data, limits=ImageLimits(10**6, max_pixels)), "image_too_large")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 1.0
    assert peak < 5_000_000


# --- data: URLs -----------------------------------------------------------------------------------


def strict_policy() -> WebhookURLPolicy:
    return WebhookURLPolicy(allow_http=False, allowed_hosts=[])


@pytest.mark.parametrize("media_type", ["image/png", "image/jpeg", "image/webp", "IMAGE/PNG"])
def test_base64_data_urls_decode_to_the_exact_bytes(media_type: str) -> None:
    data = encode(solid(64, 48))
    encoded = base64.b64encode(data).decode()
    url = f"data:{media_type};base64,{encoded}"
    assert decode_image_url(url, strict_policy(), LIMITS, 5) == data
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))  # MIME line breaks
    assert decode_image_url(f"  DATA:{media_type};base64,{wrapped}\n", strict_policy(), LIMITS, 5) == data


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("data:image/png;base64,iVBOR!!not*base64", "malformed"),
        ("data:image/png;base64,iVBORw0KGgo", "malformed"),  # bad padding
        ("data:image/png;base64,", "no data"),
        ("data:text/plain;base64,aGVsbG8=", "text/plain"),
        ("data:;base64,aGVsbG8=", "text/plain"),
        ("data:image/png,rawbytes", "not base64"),
        ("data:image/png;base64", "comma"),
    ],
)
def test_malformed_data_urls_are_invalid_image_url(url: str, says: str) -> None:
    error = refused(lambda: decode_image_url(url, strict_policy(), LIMITS, 5), "invalid_image_url", URL_PARAM)
    assert says in error.message


def test_an_oversized_data_url_is_refused_before_and_after_decoding() -> None:
    limits = ImageLimits(max_bytes=3000, max_pixels=LIMITS.max_pixels)
    big = "data:image/png;base64," + base64.b64encode(b"\0" * 3001).decode()
    refused(lambda: decode_image_url(big, strict_policy(), limits, 5), "image_too_large", URL_PARAM)
    just = "data:image/png;base64," + base64.b64encode(b"\0" * 3000).decode()
    assert len(decode_image_url(just, strict_policy(), limits, 5)) == 3000


# --- http(s) URLs: the policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.png", "file:///etc/passwd", "javascript:alert(1)", "/relative/a.png", "example.com/a.png"],
)
def test_other_schemes_are_invalid_image_url(url: str) -> None:
    error = refused(lambda: decode_image_url(url, strict_policy(), LIMITS, 5), "invalid_image_url", URL_PARAM)
    assert "data:" in error.message and "https://" in error.message


def test_http_is_refused_unless_the_policy_allows_it() -> None:
    error = refused(
        lambda: decode_image_url("http://example.com/a.png", strict_policy(), LIMITS, 5), "invalid_image_url", URL_PARAM
    )
    assert "must use https" in error.message and "image URLs" in error.message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/a.png", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.5/a.png", "private"),
        ("https://[::1]/a.png", "loopback"),
        ("https://internal.example/a.png", "private"),
        ("https://user:pw@images.example/a.png", "credentials"),
    ],
)
def test_ssrf_refusals_are_invalid_image_url_with_the_policys_reason(url: str, reason: str) -> None:
    policy = WebhookURLPolicy(False, [], resolver=lambda host, port: ["10.1.2.3"])
    error = refused(lambda: decode_image_url(url, policy, LIMITS, 5), "invalid_image_url", URL_PARAM)
    assert reason in error.message and "webhook" not in error.message


def test_a_name_that_does_not_resolve_is_unreachable() -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise WebhookResolutionError(f"cannot resolve host {host!r}")

    policy = WebhookURLPolicy(False, [], resolver=no_dns)
    error = refused(
        lambda: decode_image_url("https://gone.example/a.png", policy, LIMITS, 5), "image_url_unreachable", URL_PARAM
    )
    assert "gone.example" in error.message


# --- http(s) URLs: fetching from a real server -----------------------------------------------------


@dataclass
class ImageServer:
    """Answers each path with a handler of the test's choosing; records the requests."""

    server: ThreadingHTTPServer
    routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str, host: str = HOST) -> str:
        return f"http://{host}:{self.server.server_address[1]}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for seen_path, headers in self.seen if seen_path == path]


@pytest.fixture(scope="module")
def image_server() -> Iterator[ImageServer]:
    state: ImageServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.seen.append((self.path, dict(self.headers)))
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            try:
                route(self)
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: as it should
                pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    state = ImageServer(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def serve(body: bytes, status: int = 200, headers: dict[str, str] | None = None, length: bool = True) -> Any:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "image/png")
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        if length:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()  # HTTP/1.0: without a length, the body ends when the server closes
        request.wfile.write(body)

    return handle


def local_policy(**resolved: str) -> WebhookURLPolicy:
    return WebhookURLPolicy(allow_http=True, allowed_hosts=[HOST], resolver=lambda host, port: [resolved[host]])


def test_an_image_url_is_fetched_from_the_vetted_address_with_the_name_kept(image_server: ImageServer) -> None:
    """`images.test` exists only in our resolver: the image can only arrive if the fetch connected
    to the address the policy vetted, and the server sees the name in Host."""
    data = encode(solid(64, 48))
    image_server.routes["/ok.png"] = serve(data)
    url = image_server.url("/ok.png", host="images.test")
    assert decode_image_url(url, local_policy(**{"images.test": HOST}), LIMITS, 5) == data
    headers = image_server.hits("/ok.png")[-1]
    assert headers["Host"] == f"images.test:{image_server.server.server_address[1]}"
    assert "image/png" in headers["Accept"] and headers["Accept-Encoding"] == "identity"
    assert decoded(prepare(data)).size == (64, 48)


def test_fetch_reports_status_content_type_and_body(image_server: ImageServer) -> None:
    image_server.routes["/plain"] = serve(b"0123456789", length=False)
    result = fetch(local_policy().resolve(image_server.url("/plain")), connect_timeout=5, total_timeout=5, max_bytes=10)
    assert result.ok and (result.status_code, result.content_type, result.body) == (200, "image/png", b"0123456789")
    assert result.error is None and not result.too_large


def test_a_127_0_0_1_url_stays_forbidden_though_127_0_0_2_is_allowed(image_server: ImageServer) -> None:
    image_server.routes["/ok.png"] = serve(encode(solid(64, 48)))
    url = image_server.url("/ok.png", host="127.0.0.1")
    refused(lambda: decode_image_url(url, local_policy(), LIMITS, 5), "invalid_image_url", URL_PARAM)


@pytest.mark.parametrize("status", [404, 500, 204])
def test_an_answer_other_than_200_is_unreachable_with_the_status(image_server: ImageServer, status: int) -> None:
    image_server.routes[f"/status/{status}"] = serve(b"" if status == 204 else b"nope", status=status)
    error = refused(
        lambda: decode_image_url(image_server.url(f"/status/{status}"), local_policy(), LIMITS, 5),
        "image_url_unreachable",
        URL_PARAM,
    )
    assert f"HTTP {status}" in error.message


def test_a_redirect_is_not_followed(image_server: ImageServer) -> None:
    image_server.routes["/elsewhere.png"] = serve(encode(solid(64, 48)))
    image_server.routes["/moved"] = serve(b"", status=302, headers={"Location": image_server.url("/elsewhere.png")})
    before = len(image_server.hits("/elsewhere.png"))
    error = refused(
        lambda: decode_image_url(image_server.url("/moved"), local_policy(), LIMITS, 5),
        "image_url_unreachable",
        URL_PARAM,
    )
    assert "redirect" in error.message and "/elsewhere.png" in error.message
    assert len(image_server.hits("/elsewhere.png")) == before


ENDLESS_WRITTEN: list[int] = []  # bytes the endless handler got out before the client hung up


def endless(request: BaseHTTPRequestHandler) -> None:
    """50 MB with no Content-Length: only the reader's cap can stop it."""
    request.send_response(200)
    request.send_header("Content-Type", "image/png")
    request.end_headers()
    written = 0
    try:
        for _ in range(800):
            request.wfile.write(b"\0" * 65536)
            written += 65536
    finally:
        ENDLESS_WRITTEN.append(written)


def declared_big(request: BaseHTTPRequestHandler) -> None:
    """Declares 10 GB, then sends nothing: refused on the header alone, not after a timeout."""
    request.send_response(200)
    request.send_header("Content-Length", str(10**10))
    request.end_headers()
    time.sleep(3)


@pytest.mark.parametrize("path", ["/endless", "/declared-big"])
def test_more_than_max_bytes_is_too_large_and_the_download_stops_at_the_limit(
    image_server: ImageServer, path: str
) -> None:
    image_server.routes["/endless"] = endless
    image_server.routes["/declared-big"] = declared_big
    limits = ImageLimits(max_bytes=200_000, max_pixels=LIMITS.max_pixels)
    started = time.monotonic()
    error = refused(
        lambda: decode_image_url(image_server.url(path), local_policy(), limits, 10), "image_too_large", URL_PARAM
    )
    assert "200000" in error.message
    assert time.monotonic() - started < 2.0
    if path == "/endless":  # the client hung up soon after the limit: the server could not send it all
        deadline = time.monotonic() + 5
        while not ENDLESS_WRITTEN and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ENDLESS_WRITTEN and ENDLESS_WRITTEN[-1] < 10_000_000


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "until-close"])
def test_a_body_of_exactly_max_bytes_is_accepted_one_more_is_not(image_server: ImageServer, length: bool) -> None:
    image_server.routes[f"/exact/{length}"] = serve(b"\1" * 5000, length=length)
    image_server.routes[f"/over/{length}"] = serve(b"\1" * 5001, length=length)
    limits = ImageLimits(max_bytes=5000, max_pixels=LIMITS.max_pixels)
    assert len(decode_image_url(image_server.url(f"/exact/{length}"), local_policy(), limits, 5)) == 5000
    refused(
        lambda: decode_image_url(image_server.url(f"/over/{length}"), local_policy(), limits, 5),
        "image_too_large",
        URL_PARAM,
    )


def trickle(request: BaseHTTPRequestHandler) -> None:
    """Headers at once, then 10 bytes every 0.1 s: each read is quick, the whole is not."""
    request.send_response(200)
    request.send_header("Content-Length", "1000")
    request.end_headers()
    for _ in range(100):
        request.wfile.write(b"\0" * 10)
        request.wfile.flush()
        time.sleep(0.1)


def stall(request: BaseHTTPRequestHandler) -> None:
    time.sleep(3)


@pytest.mark.parametrize("path", ["/trickle", "/stall"])
def test_the_total_timeout_holds_against_trickling_and_stalled_servers(image_server: ImageServer, path: str) -> None:
    image_server.routes["/trickle"] = trickle
    image_server.routes["/stall"] = stall
    started = time.monotonic()
    error = refused(
        lambda: decode_image_url(image_server.url(path), local_policy(), LIMITS, 0.5),
        "image_url_unreachable",
        URL_PARAM,
    )
    assert "timed out" in error.message
    assert time.monotonic() - started < 1.5  # at most about twice the total, never the 10 s of the trickle


def test_a_compressed_answer_is_refused_not_inflated(image_server: ImageServer) -> None:
    image_server.routes["/gzipped"] = serve(zlib.compress(b"\0" * 10_000), headers={"Content-Encoding": "deflate"})
    error = refused(
        lambda: decode_image_url(image_server.url("/gzipped"), local_policy(), LIMITS, 5),
        "image_url_unreachable",
        URL_PARAM,
    )
    assert "deflate" in error.message
