"""Benchmark hunyuanvideo-tiny on this machine: load time, generation and encode times, peak memory.

    python scripts/bench_tiny.py [--models-dir var/models] [--device cpu] [--repeat 3]

Builds the tiny model first if it is missing. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from model import ModelRegistry, frames_for
from model.encoding import encode_mp4
from model.generation import GenerationRequest, VideoGenerator
from model.loading import load_pipeline, resolve_device

CASES = [  # (size, seconds, fps, steps)
    ((128, 128), 2, 8, 4),
    ((256, 256), 2, 8, 4),
    ((256, 256), 4, 16, 4),
    ((256, 256), 4, 16, 50),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    spec = ModelRegistry().get("hunyuanvideo-tiny")
    if not (args.models_dir / spec.weights_subdir / "model_index.json").is_file():
        from model.tiny import build_tiny_model

        build_tiny_model(args.models_dir / spec.weights_subdir)

    started = time.perf_counter()
    generator = VideoGenerator(spec, load_pipeline(spec, args.models_dir, args.device))
    print(f"device {resolve_device(args.device)}; load {time.perf_counter() - started:.2f} s")

    for (width, height), seconds, fps, steps in CASES:
        request = GenerationRequest(
            prompt="a paper boat on a river",
            width=width,
            height=height,
            num_frames=frames_for(seconds, fps),
            num_inference_steps=steps,
            guidance_scale=6.0,
            seed=0,
        )
        generator.generate(request)  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            video = generator.generate(request)
            times.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            encode_mp4(video.frames, fps, Path(tmp) / "v.mp4")
            encode = time.perf_counter() - t0
        print(
            f"{width}x{height} {seconds}s@{fps}fps ({request.num_frames} frames) {steps} steps: "
            f"generate median {statistics.median(times):.2f} s (min {min(times):.2f}), encode {encode:.3f} s"
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
