"""Check a video request against the chosen model's limits and fill in its defaults.

Everything a worker could not honour is refused here with the offending ``param`` named, so bad
input costs the client one round trip, not a failed job.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import TypeVar

from model import ModelSpec, Size, frames_for
from model.spec import Capability
from videogen.errors import InvalidRequestError
from videogen.text import check_storable

MAX_SEED = 2**63 - 1
# The longest ``seconds`` a video reports, written as a plain decimal (its column's width).
MAX_SECONDS_CHARS = 16
NumberT = TypeVar("NumberT", int, float)


@dataclass(frozen=True)
class VideoRequest:
    """What a client asked for, as sent: any field may be missing, nothing is checked yet."""

    prompt: str
    model: str | None = None
    seconds: str | int | float | None = None
    size: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    fps: int | None = None
    metadata: dict[str, str] | None = None
    webhook_url: str | None = None
    # Image-to-video: the image as uploaded (bytes) or as an ``image_url`` (a data: or https URL).
    input_reference: bytes | str | None = None
    input_fit: str | None = None

    def fingerprint(self) -> str:
        """The request's identity for ``Idempotency-Key`` checks: the same fields and values give
        the same fingerprint, however the client ordered or encoded them (an uploaded image counts
        by its digest)."""
        fields = asdict(self)
        if isinstance(self.input_reference, bytes):
            fields["input_reference"] = "sha256:" + hashlib.sha256(self.input_reference).hexdigest()
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class VideoParameters:
    """A request resolved against a model: every field set, every field within limits."""

    model: str
    prompt: str
    negative_prompt: str | None
    seconds: str
    size: Size
    fps: int
    num_frames: int
    num_inference_steps: int
    guidance_scale: float
    seed: int
    metadata: dict[str, str] = field(default_factory=dict)
    # What the model is asked to do: animate an image, or make a video from text alone.
    capability: Capability = Capability.TEXT_TO_VIDEO

    @property
    def rendered_seconds(self) -> float:
        """The clip's length as rendered, which is what is billed: ``num_frames - 1`` intervals
        of ``1 / fps`` (the first frame is at 0 s), as ``ModelLimits.max_seconds`` counts it.

        ``seconds`` is what the client asked for, and frames come in 4k+1: "0.9" at 8 fps renders
        9 frames, one second. Billing the request instead would let a client ask for less than it
        gets (once, "1e-400" seconds was billed nothing and rendered five frames)."""
        return (self.num_frames - 1) / self.fps


def _within(value: NumberT, low: NumberT, high: NumberT, param: str, spec: ModelSpec) -> NumberT:
    if not low <= value <= high:
        raise InvalidRequestError(f"{param} must be between {low} and {high} for {spec.name}", param=param)
    return value


def _texts(prompt: str, negative_prompt: str | None, metadata: dict[str, str] | None) -> list[tuple[str, str]]:
    """Every client-written string of a request that is stored, with the parameter it came from."""
    texts = [("prompt", prompt)] + ([("negative_prompt", negative_prompt)] if negative_prompt is not None else [])
    for key, value in (metadata or {}).items():
        texts += [("metadata", key), ("metadata", value)]
    return texts


def _parse_seconds(value: str | int | float) -> Decimal:
    try:
        seconds = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidRequestError(f"seconds must be a number, got {value!r}", param="seconds") from None
    if not seconds.is_finite() or seconds <= 0:
        raise InvalidRequestError(f"seconds must be a positive number, got {value!r}", param="seconds")
    return seconds


def _clip_frames(seconds: Decimal, fps: int, spec: ModelSpec) -> int:
    """The frames ``seconds`` at ``fps`` renders, if the model makes such a clip; 400 otherwise.

    Bounded in exact decimal arithmetic before any float is made: "1e400" or five thousand digits
    would become an infinite float (an OverflowError in ``frames_for``). A clip shorter than the
    shortest one is lengthened to it, and billed as rendered (``VideoParameters.rendered_seconds``).
    """
    limits = spec.limits
    most = f"{spec.name} makes at most {limits.max_frames} frames ({limits.max_seconds(fps)} s at {fps} fps)"
    # A quotient, not a product: 1e999999999 * fps overflows even a Decimal.
    if seconds > Decimal(limits.max_frames + 4) / fps:  # past the limit however frames_for rounds
        raise InvalidRequestError(f"seconds is too long: {most}", param="seconds", code="invalid_seconds")
    num_frames = frames_for(float(seconds), fps)
    if num_frames > limits.max_frames:
        raise InvalidRequestError(
            f"{_format_seconds(seconds)} s at {fps} fps is {num_frames} frames; {most}",
            param="seconds",
            code="invalid_seconds",
        )
    return num_frames


def _format_seconds(seconds: Decimal) -> str:
    """The shortest plain decimal: "2.50" is "2.5", "1e1" is "10" (never exponent notation)."""
    return format(seconds.normalize(), "f")


def _echoed_seconds(seconds: Decimal) -> str:
    """``seconds`` as the video reports it, short enough to store: "1e-400" is 402 digits.

    Counted on the exact value, before anything is written out: rounded to a context's 28 digits,
    five thousand nines would pass as "1", and "1e-999999999" written out is a gigabyte."""
    exact = seconds.normalize(Context(prec=max(1, len(seconds.as_tuple().digits)), Emin=MIN_EMIN, Emax=MAX_EMAX))
    _, digits, exponent = exact.as_tuple()
    if (
        len(digits) > MAX_SECONDS_CHARS
        or -int(exponent) > MAX_SECONDS_CHARS
        or len(written := format(exact, "f")) > MAX_SECONDS_CHARS
    ):
        raise InvalidRequestError(
            f"seconds has too many digits: at most {MAX_SECONDS_CHARS} characters written as a plain decimal",
            param="seconds",
            code="invalid_seconds",
        )
    return written


def resolve_video_parameters(
    spec: ModelSpec,
    *,
    prompt: str,
    seconds: str | int | float | None = None,
    size: str | None = None,
    fps: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int | None = None,
    negative_prompt: str | None = None,
    metadata: dict[str, str] | None = None,
    with_image: bool = False,
) -> VideoParameters:
    limits, defaults = spec.limits, spec.defaults
    capability = Capability.IMAGE_TO_VIDEO if with_image else Capability.TEXT_TO_VIDEO
    if not spec.can(capability):
        if with_image:
            raise InvalidRequestError(
                f"{spec.name} makes videos from text and cannot animate an input_reference image; choose an "
                "image-to-video model (see GET /v1/models, capabilities).",
                param="model",
                code="model_not_image_to_video",
            )
        raise InvalidRequestError(
            f"{spec.name} animates an image: send one as input_reference.",
            param="input_reference",
            code="input_reference_required",
        )

    for param, text in _texts(prompt, negative_prompt, metadata):
        check_storable(param, text)

    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError("prompt must not be empty", param="prompt", code="invalid_prompt")
    if len(prompt) > limits.max_prompt_chars:
        raise InvalidRequestError(
            f"prompt is {len(prompt)} characters; {spec.name} accepts at most {limits.max_prompt_chars}",
            param="prompt",
            code="invalid_prompt",
        )
    if negative_prompt is not None:
        negative_prompt = negative_prompt.strip() or None
        if negative_prompt and len(negative_prompt) > limits.max_prompt_chars:
            raise InvalidRequestError(
                f"negative_prompt accepts at most {limits.max_prompt_chars} characters", param="negative_prompt"
            )

    if size is None:
        frame_size = defaults.size
    else:
        try:
            frame_size = Size.parse(size)
        except ValueError as exc:
            raise InvalidRequestError(str(exc), param="size", code="invalid_size") from None
        if frame_size not in limits.sizes:
            allowed = ", ".join(str(s) for s in limits.sizes)
            raise InvalidRequestError(
                f"size {frame_size} is not supported by {spec.name}; choose one of: {allowed}",
                param="size",
                code="invalid_size",
            )

    fps = _within(defaults.fps if fps is None else fps, limits.min_fps, limits.max_fps, "fps", spec)

    clip_seconds = _parse_seconds(defaults.seconds if seconds is None else seconds)
    num_frames = _clip_frames(clip_seconds, fps, spec)
    echoed_seconds = _echoed_seconds(clip_seconds)

    steps = defaults.num_inference_steps if num_inference_steps is None else num_inference_steps
    steps = _within(steps, limits.min_steps, limits.max_steps, "num_inference_steps", spec)
    guidance = defaults.guidance_scale if guidance_scale is None else guidance_scale
    guidance = _within(guidance, limits.min_guidance_scale, limits.max_guidance_scale, "guidance_scale", spec)

    if seed is None:
        seed = secrets.randbelow(2**32)
    elif not 0 <= seed <= MAX_SEED:
        raise InvalidRequestError(f"seed must be between 0 and {MAX_SEED}", param="seed")

    return VideoParameters(
        model=spec.name,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seconds=echoed_seconds,
        size=frame_size,
        fps=fps,
        num_frames=num_frames,
        num_inference_steps=steps,
        guidance_scale=float(guidance),
        seed=seed,
        metadata=dict(metadata or {}),
        capability=capability,
    )
