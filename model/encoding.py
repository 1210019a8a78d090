"""Frames to files: an H.264 MP4 that plays everywhere, a thumbnail and a spritesheet.

Encoding sits on every job's path between the last denoising step and the client seeing its video,
so it is made quick: x264's ``veryfast`` preset at the same CRF (the same quality target) is 2-3x
faster than ``medium`` on the tiny models' clips and on smooth synthetic motion, with files no larger
there (on typical camera footage x264's faster presets give somewhat larger files), and ``encode_all``
makes the two JPEGs in a thread while the MP4 encodes (x264 and Pillow work outside the interpreter
lock). ``scripts/bench_service.py`` measures what it adds to a job.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

# x264's speed/size trade-off: ``veryfast`` keeps CABAC and B-frames (what makes H.264 small) and drops
# the costly motion search and trellis of ``medium``; ``ultrafast`` would drop those too (files ~20% larger).
X264_PRESET = "veryfast"


def encode_mp4(frames: np.ndarray, fps: int, path: Path | str, crf: int = 18, preset: str = X264_PRESET) -> Path:
    """Encode ``(T, H, W, 3)`` uint8 RGB frames as H.264 into an MP4 file at ``path``.

    A file, not a buffer: the faststart pass rewrites the file once encoding ends.

    yuv420p is what browsers and phones decode; ``+faststart`` moves the index to the front so a
    player can start before the download ends. yuv420p needs even sizes, so odd ones are padded
    by one edge row/column (the presets are all even; this only guards custom models).
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    _, height, width, _ = frames.shape
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")

    path = Path(path)
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.width = width + pad_w
        stream.height = height + pad_h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def encode_thumbnail(frames: np.ndarray, quality: int = 85) -> bytes:
    """The middle frame as a JPEG: the first frame of a diffusion video is often the dullest."""
    frame = frames[len(frames) // 2]
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# The spritesheet: a preview strip of evenly spaced frames, for scrubbing UIs and quick review.
SPRITESHEET_FRAMES = 16
SPRITESHEET_COLUMNS = 4
SPRITESHEET_TILE_WIDTH = 256


@dataclass(frozen=True)
class SpritesheetLayout:
    """Where each frame is in a spritesheet: ``frames`` tiles of ``tile_width`` x ``tile_height``,
    left to right then top to bottom, ``columns`` per row; tile i shows video frame ``indices[i]``."""

    indices: tuple[int, ...]
    columns: int
    rows: int
    tile_width: int
    tile_height: int


def spritesheet_layout(num_frames: int, width: int, height: int) -> SpritesheetLayout:
    """Up to 16 frames evenly spaced from the first to the last, 4 per row, each scaled to at
    most 256 pixels wide (never up), keeping the aspect ratio."""
    count = min(SPRITESHEET_FRAMES, num_frames)
    indices = tuple(round(i * (num_frames - 1) / max(count - 1, 1)) for i in range(count))
    columns = min(SPRITESHEET_COLUMNS, count)
    tile_width = min(width, SPRITESHEET_TILE_WIDTH)
    tile_height = max(1, round(height * tile_width / width))
    return SpritesheetLayout(indices, columns, -(-count // columns), tile_width, tile_height)


def encode_spritesheet(frames: np.ndarray, quality: int = 85) -> bytes:
    """A JPEG grid of evenly spaced frames (``spritesheet_layout`` says where each one is)."""
    num_frames, height, width, _ = frames.shape
    layout = spritesheet_layout(num_frames, width, height)
    sheet = Image.new("RGB", (layout.columns * layout.tile_width, layout.rows * layout.tile_height))
    for tile, index in enumerate(layout.indices):
        image = Image.fromarray(frames[index]).resize((layout.tile_width, layout.tile_height), Image.Resampling.LANCZOS)
        row, column = divmod(tile, layout.columns)
        sheet.paste(image, (column * layout.tile_width, row * layout.tile_height))
    buffer = io.BytesIO()
    sheet.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@dataclass(frozen=True)
class EncodedVideo:
    """A job's three files: the MP4 on disk, the thumbnail and the spritesheet as JPEG bytes."""

    video_path: Path
    thumbnail: bytes
    spritesheet: bytes


def encode_all(frames: np.ndarray, fps: int, path: Path | str) -> EncodedVideo:
    """The MP4 at ``path``, the thumbnail and the spritesheet, the JPEGs made while the MP4 encodes."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jpeg") as pool:
        previews = pool.submit(lambda: (encode_thumbnail(frames), encode_spritesheet(frames)))
        video_path = encode_mp4(frames, fps, path)
        thumbnail, spritesheet = previews.result()
    return EncodedVideo(video_path, thumbnail, spritesheet)
