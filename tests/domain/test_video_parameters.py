"""A request checked against the model and resolved (``resolve_video_parameters``), and its
identity for ``Idempotency-Key`` checks (``VideoRequest.fingerprint``). Pure functions: no
database, so these run once, not once per backend."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from model import ModelRegistry, ModelSpec, Size
from videogen.errors import InvalidRequestError
from videogen.videos.parameters import MAX_SEED, VideoParameters, VideoRequest, resolve_video_parameters

TINY: ModelSpec = ModelRegistry.from_file(None).get("hunyuanvideo-tiny")


def resolve(**request: Any) -> VideoParameters:
    return resolve_video_parameters(TINY, **{"prompt": "a cat", **request})


def refusal(**request: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as refused:
        resolve(**request)
    assert refused.value.status_code == 400
    return refused.value


def test_a_request_with_only_a_prompt_gets_the_models_defaults() -> None:
    params = resolve(prompt="  a cat on a skateboard \n")

    assert params.model == "hunyuanvideo-tiny"
    assert params.prompt == "a cat on a skateboard"
    assert (params.seconds, params.size, params.fps) == ("2", Size(128, 128), 8)
    assert (params.num_frames, params.num_inference_steps, params.guidance_scale) == (17, 4, 6.0)
    assert (params.negative_prompt, params.metadata) == (None, {})
    assert 0 <= params.seed < 2**32


def test_a_seed_left_out_is_drawn_afresh_for_each_request() -> None:
    assert len({resolve().seed for _ in range(20)}) > 1


def test_every_value_a_request_gives_is_kept() -> None:
    params = resolve(
        seconds="1.5",
        size="256x144",
        fps=12,
        num_inference_steps=30,
        guidance_scale=3.5,
        seed=MAX_SEED,
        negative_prompt=" blurry ",
        metadata={"customer": "7"},
    )

    assert (params.seconds, params.size, params.fps, params.num_frames) == ("1.5", Size(256, 144), 12, 17)
    assert (params.num_inference_steps, params.guidance_scale, params.seed) == (30, 3.5, MAX_SEED)
    assert (params.negative_prompt, params.metadata) == ("blurry", {"customer": "7"})


@pytest.mark.parametrize(
    ("seconds", "written"), [("2.50", "2.5"), ("2.0", "2"), (2, "2"), (1.5, "1.5"), (" 3 ", "3"), ("0.25", "0.25")]
)
def test_seconds_are_reported_in_their_shortest_form(seconds: Any, written: str) -> None:
    assert resolve(seconds=seconds).seconds == written


@pytest.mark.parametrize(("seconds", "written"), [("1e1", "10"), ("0.0000001", "0.0000001")])
def test_seconds_given_in_exponent_notation_are_reported_in_plain_digits(seconds: str, written: str) -> None:
    assert resolve(seconds=seconds, fps=4).seconds == written


@pytest.mark.parametrize(
    ("seconds", "fps", "frames"),
    [(2, 8, 17), (1, 8, 9), (1.25, 8, 9), (2.25, 8, 17), (3, 8, 25), (1, 12, 13), (8, 8, 65), (0.1, 8, 5)],
)
def test_the_clip_has_4k_plus_1_frames_nearest_to_seconds_times_fps(seconds: float, fps: int, frames: int) -> None:
    params = resolve(seconds=seconds, fps=fps)
    assert params.num_frames == frames
    assert (params.num_frames - 1) % 4 == 0


def test_the_frame_count_rounds_down_when_the_lower_4k_plus_1_is_nearer() -> None:
    cases = [(1.75, 8), (0.75, 8), (2.75, 8), (1.8, 8), (1, 14)]
    assert {(s, fps): resolve(seconds=s, fps=fps).num_frames for s, fps in cases} == {
        (1.75, 8): 13,
        (0.75, 8): 5,
        (2.75, 8): 21,
        (1.8, 8): 13,
        (1, 14): 13,
    }


def test_a_clip_longer_than_the_model_makes_is_refused_with_the_longest_it_makes() -> None:
    error = refusal(seconds="9", fps=8)  # 72 frames; the tiny model makes at most 65
    assert (error.param, error.code) == ("seconds", "invalid_seconds")
    assert "65" in error.message and "8.0 s at 8 fps" in error.message


@pytest.mark.parametrize("seconds", ["abc", "0", "-1", "nan", "inf", ""])
def test_seconds_that_are_not_a_positive_number_are_refused(seconds: str) -> None:
    assert refusal(seconds=seconds).param == "seconds"


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 4001], ids=["empty", "blank", "too-long"])
def test_a_prompt_must_have_1_to_4000_characters(prompt: str) -> None:
    error = refusal(prompt=prompt)
    assert (error.param, error.code) == ("prompt", "invalid_prompt")


def test_a_prompt_of_4000_characters_is_accepted() -> None:
    assert len(resolve(prompt="x" * 4000).prompt) == 4000


def test_a_blank_negative_prompt_counts_as_none_and_a_long_one_is_refused() -> None:
    assert resolve(negative_prompt="   ").negative_prompt is None
    assert refusal(negative_prompt="x" * 4001).param == "negative_prompt"


@pytest.mark.parametrize("size", ["big", "128", "0x128", "-128x128", "512x512", "1280x720"])
def test_a_size_that_is_not_one_of_the_models_presets_is_refused(size: str) -> None:
    error = refusal(size=size)
    assert (error.param, error.code) == ("size", "invalid_size")


def test_sizes_are_read_regardless_of_case_and_spaces() -> None:
    assert resolve(size=" 144X256 ").size == Size(144, 256)


@pytest.mark.parametrize(
    ("param", "low", "high"),
    [("fps", 4, 24), ("num_inference_steps", 1, 200), ("guidance_scale", 0.0, 20.0), ("seed", 0, MAX_SEED)],
)
def test_each_number_is_accepted_at_its_limits_and_refused_beyond_them_with_its_name(
    param: str, low: float, high: float
) -> None:
    assert getattr(resolve(**{param: low}), param) == low
    assert getattr(resolve(**{param: high}), param) == high
    step = 1 if isinstance(low, int) else 0.1
    assert refusal(**{param: low - step}).param == param
    assert refusal(**{param: high + step}).param == param


def test_a_frame_rate_that_makes_the_clip_too_long_is_refused_as_too_many_seconds() -> None:
    assert resolve(seconds="2", fps=24).num_frames == 49
    assert refusal(seconds="3", fps=24).param == "seconds"


# --- the fingerprint -----------------------------------------------------------------------------

REQUEST = VideoRequest(
    prompt="a cat",
    model="hunyuanvideo-tiny",
    seconds="2",
    size="128x128",
    negative_prompt="blurry",
    seed=1,
    num_inference_steps=4,
    guidance_scale=6.0,
    fps=8,
    metadata={"a": "1", "b": "2"},
    webhook_url="https://client.example.com/h",
)


def test_the_same_request_has_the_same_fingerprint_whatever_the_order_of_its_metadata() -> None:
    reordered = dataclasses.replace(REQUEST, metadata={"b": "2", "a": "1"})
    assert reordered.fingerprint() == REQUEST.fingerprint()
    assert len(REQUEST.fingerprint()) == 64


FIELD_CHANGES: list[tuple[str, Any]] = [
    ("prompt", "a dog"),
    ("model", "hunyuanvideo"),
    ("seconds", "3"),
    ("size", "256x256"),
    ("negative_prompt", None),
    ("seed", 2),
    ("num_inference_steps", 5),
    ("guidance_scale", 6.5),
    ("fps", 12),
    ("metadata", {"a": "1", "b": "3"}),
    ("webhook_url", None),
    ("input_reference", b"\x89PNG another image"),
    ("input_fit", "crop"),
]


def test_every_field_of_a_request_is_checked_for_its_part_in_the_fingerprint() -> None:
    assert {name for name, _ in FIELD_CHANGES} == {f.name for f in dataclasses.fields(VideoRequest)}


@pytest.mark.parametrize(("field", "other"), FIELD_CHANGES)
def test_a_request_differing_in_any_field_has_another_fingerprint(field: str, other: Any) -> None:
    changed = dataclasses.replace(REQUEST, **{field: other})
    assert changed.fingerprint() != REQUEST.fingerprint()
