"""A client's ``input_reference`` image: decoded, checked and fitted to the video's size.

The image arrives as an upload (bytes), a ``data:`` URL or an https URL (``decode_image_url``
turns the URLs into bytes; https is fetched through ``videogen.outbound``, SSRF rules included).
``prepare_reference_image`` then makes what the worker uses, an RGB PNG of exactly the video's
size, in this order:

1. Size in bytes, before anything is decoded (``ImageLimits.max_bytes``).
2. Format, from the data itself, never a claimed content type: PNG, JPEG or WebP
   (``invalid_image_format`` for GIF, BMP, TIFF...; ``invalid_image`` for data no image reader
   recognizes, and for a known format that is truncated or corrupt).
3. Pixels, from the header, before any pixel is decoded (``ImageLimits.max_pixels``): a tiny file
   declaring 50000x50000 (a decompression bomb) is refused without allocating anything.
4. EXIF orientation applied, so width and height are as the client sees the picture.
5. Transparency flattened onto white; the result is RGB.
6. Fit (``InputFit``): ``exact`` (the default, OpenAI's rule: the image must already be the video's
   size), ``crop`` (scale to cover, center-crop) or ``pad`` (scale to fit inside, black bars,
   centered).

Every refusal is an ``InvalidRequestError`` (400) with ``param`` ``input_reference`` (or
``input_reference.image_url``) and a specific ``code``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import io
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError

from model import Size
from videogen.errors import InvalidRequestError
from videogen.outbound.transport import fetch
from videogen.outbound.url_policy import WebhookResolutionError, WebhookURLError, WebhookURLPolicy

PARAM = "input_reference"
URL_PARAM = "input_reference.image_url"
# Pillow's format names of what we take, and how we name them to clients.
ACCEPTED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
ACCEPT_HEADER = "image/png, image/jpeg, image/webp"
MAX_CONNECT_TIMEOUT = 5.0


class InputFit(enum.StrEnum):
    """How an image that is not the video's size is made to fit."""

    EXACT = "exact"  # refuse unless already the video's size (OpenAI's rule)
    CROP = "crop"  # scale to cover the frame, center-crop the overflow
    PAD = "pad"  # scale to fit inside the frame, black bars around, centered


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class ReferenceImage:
    png: bytes  # the fitted image: RGB, exactly the video's size, PNG-encoded (what the worker uses)
    sha256: str  # hex SHA-256 of the bytes the client sent (so they can match it)
    bytes: int  # size of what the client sent
    width: int  # of the client's image after EXIF orientation, before fitting
    height: int
    fit: InputFit


def _too_large(size: int, limits: ImageLimits, param: str = PARAM) -> InvalidRequestError:
    return InvalidRequestError(
        f"The input_reference image is {size} bytes; at most {limits.max_bytes} bytes are accepted. Send a smaller "
        "or more compressed image (PNG, JPEG or WebP).",
        param=param,
        code="image_too_large",
    )


def _invalid_image(reason: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"The input_reference could not be read as an image ({reason}). Send a complete PNG, JPEG or WebP file.",
        param=PARAM,
        code="invalid_image",
    )


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    """The image with its header read and checked (format, pixel count); no pixels decoded yet."""
    try:
        with warnings.catch_warnings():
            # Pillow warns past Image.MAX_IMAGE_PIXELS and raises past twice that; both mean too large.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            except UnidentifiedImageError:
                other = _other_format(data)
                if other is None:
                    raise _invalid_image("the data is not an image in any format we recognize") from None
                raise InvalidRequestError(
                    f"The input_reference is a {other} image; only PNG, JPEG and WebP are accepted. Convert it to "
                    "one of those.",
                    param=PARAM,
                    code="invalid_image_format",
                ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None, limits) from None
    except InvalidRequestError:
        raise
    except Exception as exc:  # Pillow's header parsers raise many kinds on malformed input
        raise _invalid_image(f"unreadable header: {type(exc).__name__}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _invalid_image(f"it declares an empty size, {width}x{height}")
    if width * height > limits.max_pixels:
        raise _too_many_pixels((width, height), limits)
    return image


def _too_many_pixels(size: tuple[int, int] | None, limits: ImageLimits) -> InvalidRequestError:
    declared = f"{size[0]}x{size[1]} = {size[0] * size[1]} pixels" if size else "more pixels than we decode"
    return InvalidRequestError(
        f"The input_reference image is {declared}; at most {limits.max_pixels} pixels are accepted. Send a "
        "smaller image (the video's own size is enough).",
        param=PARAM,
        code="image_too_large",
    )


def _other_format(data: bytes) -> str | None:
    """The name of the image format ``data`` is in, if Pillow knows it (GIF, BMP...): read from the
    header only, to tell the client what they sent."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as other:
                return str(other.format or "") or None
    except Exception:  # not an image Pillow knows, or a malformed one: either way, unnamed
        return None


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white."""
    if image.mode.startswith("I"):  # 16-bit grayscale PNG: scale to 8 bits (convert() would clip)
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    return image.convert("RGB")


def _fit(image: Image.Image, size: Size, fit: InputFit) -> Image.Image:
    target = (size.width, size.height)
    if image.size == target:
        return image
    if fit is InputFit.CROP:
        return ImageOps.fit(image, target, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    if fit is InputFit.PAD:
        return ImageOps.pad(image, target, method=Image.Resampling.LANCZOS, color=(0, 0, 0), centering=(0.5, 0.5))
    width, height = image.size
    raise InvalidRequestError(
        f"The input_reference image is {width}x{height} but the video is {size}. Send an image of exactly {size}, "
        'or set input_fit to "crop" (scale to cover, then center-crop) or "pad" (scale to fit, then add black '
        "bars).",
        param=PARAM,
        code="input_reference_size_mismatch",
    )


def prepare_reference_image(data: bytes, size: Size, fit: InputFit, limits: ImageLimits) -> ReferenceImage:
    """The client's image as the worker needs it (see the module's docstring for the rules), or
    ``InvalidRequestError``."""
    if len(data) > limits.max_bytes:
        raise _too_large(len(data), limits)
    if not data:
        raise _invalid_image("it is empty")
    digest = hashlib.sha256(data).hexdigest()
    with _open(data, limits) as image:
        try:
            image.load()
            oriented = ImageOps.exif_transpose(image)
        except Exception as exc:  # truncated or corrupt pixel data, broken EXIF: Pillow raises many kinds
            raise _invalid_image(f"truncated or corrupt: {exc}"[:300]) from None
    width, height = oriented.size
    fitted = _fit(_flatten(oriented), size, fit)
    fitted.info.clear()  # no ICC profile or other metadata of the client's file travels on
    out = io.BytesIO()
    fitted.save(out, format="PNG")
    return ReferenceImage(png=out.getvalue(), sha256=digest, bytes=len(data), width=width, height=height, fit=fit)


def _invalid_url(reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"input_reference.image_url {reason}", param=URL_PARAM, code="invalid_image_url")


def _decode_data_url(url: str, limits: ImageLimits) -> bytes:
    header, comma, payload = url.partition(",")
    if not comma:
        raise _invalid_url("is a data: URL without a comma before its data (data:image/png;base64,...).")
    media_type, *options = header[len("data:") :].split(";")
    if not media_type.strip().lower().startswith("image/"):
        declared = media_type.strip()[:50] or "text/plain"
        raise _invalid_url(f"is a data: URL of type {declared!r}; it must be image/png, image/jpeg or image/webp.")
    if "base64" not in (option.strip().lower() for option in options):
        raise _invalid_url("is a data: URL that is not base64-encoded; write it as data:image/png;base64,...")
    payload = "".join(payload.split())  # line breaks some encoders add
    if len(payload) // 4 * 3 > limits.max_bytes + 3:  # refuse before decoding
        raise _too_large(len(payload) // 4 * 3, limits, URL_PARAM)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid_url("is a data: URL whose base64 data is malformed.") from None
    if not data:
        raise _invalid_url("is a data: URL with no data.")
    if len(data) > limits.max_bytes:
        raise _too_large(len(data), limits, URL_PARAM)
    return data


def decode_image_url(url: str, policy: WebhookURLPolicy, limits: ImageLimits, timeout: float) -> bytes:
    """The bytes an ``image_url`` stands for: a base64 ``data:image/...`` URL decoded, or an https
    URL (http where ``policy`` allows it) fetched from the address ``policy`` vetted, within
    ``timeout`` seconds in all and ``limits.max_bytes``, no redirects. The bytes are not checked
    as an image here: ``prepare_reference_image`` does that."""
    url = url.strip()
    scheme = urlsplit(url[:64]).scheme.lower()  # the head is enough, and a data: URL may be megabytes
    if scheme == "data":
        return _decode_data_url(url, limits)
    if scheme not in ("https", "http"):
        refused = f"; {scheme}: URLs are not accepted" if scheme else ""
        raise _invalid_url(f"must be a data: URL (data:image/png;base64,...) or an https:// URL{refused}.")
    try:
        destination = policy.resolve(url, purpose="image")
    except WebhookResolutionError as exc:
        raise InvalidRequestError(
            f"input_reference.image_url could not be fetched: {exc}.", param=URL_PARAM, code="image_url_unreachable"
        ) from None
    except WebhookURLError as exc:
        raise _invalid_url(f"is refused: {exc}.") from None
    result = fetch(
        destination,
        connect_timeout=min(MAX_CONNECT_TIMEOUT, timeout),
        total_timeout=timeout,
        max_bytes=limits.max_bytes,
        accept=ACCEPT_HEADER,
    )
    if result.too_large:
        raise InvalidRequestError(
            f"The image at input_reference.image_url is larger than {limits.max_bytes} bytes, the most accepted. "
            "Send a smaller or more compressed image.",
            param=URL_PARAM,
            code="image_too_large",
        )
    if not result.ok:
        raise InvalidRequestError(
            f"input_reference.image_url could not be fetched: {result.error or 'no answer'}. Make sure it is "
            "publicly reachable and answers 200 with the image itself (redirects are not followed), or send the "
            "image as a data: URL or a file.",
            param=URL_PARAM,
            code="image_url_unreachable",
        )
    return result.body
