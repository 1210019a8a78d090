"""Frames to files: an H.264 MP4 that plays everywhere, and a thumbnail."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def encode_mp4(frames: np.ndarray, fps: int, path: Path | str, crf: int = 18) -> Path:
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
        stream.options = {"crf": str(crf), "preset": "medium"}
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
