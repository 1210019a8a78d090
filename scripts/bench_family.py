"""Benchmark each pipeline kind's tiny twin on this machine: load time, a 2 s clip, peak memory.

    python scripts/bench_family.py [--models-dir var/models] [--device cpu] [--repeat 3]

Each model runs in a process of its own, so its peak RSS is its own (imports included). Builds
missing twins first. Prints a Markdown table (median of ``--repeat`` runs after a warm-up; the clip
is 2 s at 8 fps = 17 frames, 128x128, 4 steps; load includes ``from_pretrained``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from model import ModelRegistry, frames_for
from model.spec import Capability

TWINS = [
    "hunyuanvideo-tiny",
    "hunyuanvideo-i2v-tiny",
    "hunyuanvideo-i2v-33ch-tiny",
    "hunyuanvideo-1.5-tiny",
    "hunyuanvideo-1.5-i2v-tiny",
]


def measure(name: str, models_dir: Path, device: str, repeat: int) -> dict[str, float]:
    from PIL import Image

    from model.generation import GenerationRequest, VideoGenerator
    from model.loading import load_pipeline
    from model.tiny import build_missing
    from model.tiny import is_built as built

    spec = ModelRegistry().get(name)
    if not built(models_dir / spec.weights_subdir):
        build_missing([spec], models_dir)
    started = time.perf_counter()
    generator = VideoGenerator(spec, load_pipeline(spec, models_dir, device))
    load = time.perf_counter() - started
    image = Image.new("RGB", (128, 128), (180, 40, 40)) if spec.can(Capability.IMAGE_TO_VIDEO) else None
    request = GenerationRequest(
        prompt="a paper boat on a river",
        width=128,
        height=128,
        num_frames=frames_for(2, 8),
        num_inference_steps=4,
        guidance_scale=spec.defaults.guidance_scale,
        seed=0,
        image=image,
    )
    generator.generate(request)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        generator.generate(request)
        times.append(time.perf_counter() - t0)
    return {
        "load_s": load,
        "clip_s": statistics.median(times),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # measure one model, print JSON (child process)
    args = parser.parse_args()

    if args.one:
        print(json.dumps(measure(args.one, args.models_dir, args.device, args.repeat)))
        return
    print("| model | kind | load | 2 s clip (17 frames, 128x128, 4 steps) | peak RSS |")
    print("|---|---|---|---|---|")
    for name in TWINS:
        command = [sys.executable, __file__, "--one", name, "--models-dir", str(args.models_dir)]
        command += ["--device", args.device, "--repeat", str(args.repeat)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        kind = ModelRegistry().get(name).kind.value
        print(
            f"| `{name}` | {kind} | {result['load_s']:.2f} s | {result['clip_s']:.2f} s | "
            f"{result['peak_rss_mib']:.0f} MiB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
