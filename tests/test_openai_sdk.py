"""The official ``openai`` SDK works against videogen unchanged, in both configurations."""

from __future__ import annotations

import io

import av
import openai
import pytest
from PIL import Image

from model import frames_for


def decode(mp4: bytes) -> tuple[int, int, int, str]:
    """(frames, width, height, pixel format) of an MP4, decoded with PyAV."""
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return len(frames), frames[0].width, frames[0].height, stream.codec_context.pix_fmt


def test_create_poll_download_list_delete(client: openai.OpenAI) -> None:
    created = client.videos.create(
        prompt="a red fox runs through snow", model="hunyuanvideo-tiny", seconds="2", size="256x144"
    )
    assert created.id.startswith("video_")
    assert created.object == "video"
    assert created.status in ("queued", "in_progress")
    assert created.model == "hunyuanvideo-tiny"
    assert (created.seconds, created.size) == ("2", "256x144")

    video = client.videos.poll(created.id, poll_interval_ms=200)
    assert video.status == "completed", video.error
    assert video.progress == 100
    assert video.completed_at is not None and video.completed_at >= video.created_at
    assert video.expires_at is not None and video.expires_at > video.completed_at
    assert video.error is None

    mp4 = client.videos.download_content(video.id).read()
    frames, width, height, pix_fmt = decode(mp4)
    assert frames == frames_for(2, 8) == 17  # model default fps is 8
    assert (width, height) == (256, 144)
    assert pix_fmt == "yuv420p"

    thumbnail = client.videos.download_content(video.id, variant="thumbnail").read()
    assert Image.open(io.BytesIO(thumbnail)).size == (256, 144)

    listed = client.videos.list(limit=100)
    assert video.id in [v.id for v in listed.data]

    deleted = client.videos.delete(video.id)
    assert deleted.id == video.id and deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(video.id)


def test_extensions_ride_along_in_extra_body(client: openai.OpenAI) -> None:
    created = client.videos.create(
        prompt="waves crash on rocks",
        extra_body={"seed": 1234, "fps": 12, "num_inference_steps": 3, "metadata": {"customer": "acme"}},
    )
    video = client.videos.poll(created.id, poll_interval_ms=200)
    assert video.status == "completed", video.error
    extra = video.model_extra or {}
    assert extra["seed"] == 1234
    assert extra["fps"] == 12
    assert extra["num_inference_steps"] == 3
    assert extra["metadata"] == {"customer": "acme"}
    assert extra["num_frames"] == frames_for(2, 12)
    frames, *_ = decode(client.videos.download_content(video.id).read())
    assert frames == extra["num_frames"]


def test_list_paginates_with_cursor(client: openai.OpenAI) -> None:
    ids = [client.videos.create(prompt=f"page test {i}", extra_body={"num_inference_steps": 1}).id for i in range(3)]
    newest_first = client.videos.list(limit=2, order="desc")
    assert newest_first.has_more is True
    seen = [v.id for v in client.videos.list(limit=100, order="desc")]  # the SDK follows `after` cursors
    assert seen.index(ids[2]) < seen.index(ids[1]) < seen.index(ids[0])
    ascending = [v.id for v in client.videos.list(limit=100, order="asc")]
    assert ascending == sorted(ascending)
    for video_id in ids:
        client.videos.poll(video_id, poll_interval_ms=200)


def test_same_seed_and_parameters_reproduce_the_same_frames(client: openai.OpenAI) -> None:
    def frames_of(seed: int) -> list[bytes]:
        video = client.videos.create_and_poll(
            prompt="reproducible",
            seconds="1",
            extra_body={"seed": seed, "num_inference_steps": 2},
            poll_interval_ms=200,
        )
        assert video.status == "completed", video.error
        with av.open(io.BytesIO(client.videos.download_content(video.id).read())) as container:
            return [frame.to_ndarray(format="rgb24").tobytes() for frame in container.decode(video=0)]

    first, again, other = frames_of(99), frames_of(99), frames_of(100)
    assert first == again
    assert first != other
