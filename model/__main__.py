"""Use the model layer on its own, without the service::

python -m model build-tiny ./models/hunyuanvideo-tiny
python -m model build-tiny ./models/hunyuanvideo-i2v-tiny --model hunyuanvideo-i2v-tiny
python -m model generate "a cat" --models-dir ./models -o cat.mp4 --seed 1
python -m model generate "it blinks" --model hunyuanvideo-i2v-tiny --image cat.png --models-dir ./models -o b.mp4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from model.registry import ModelRegistry
from model.spec import Size, frames_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-tiny", help="write a tiny twin (random weights) to a directory")
    build.add_argument("out", type=Path)
    build.add_argument("--model", default="hunyuanvideo-tiny", help="which tiny twin (default: hunyuanvideo-tiny)")
    build.add_argument("--seed", type=int, default=0)

    gen = commands.add_parser("generate", help="generate one video to an MP4 file")
    gen.add_argument("prompt")
    gen.add_argument("-o", "--output", type=Path, required=True)
    gen.add_argument("--model", default="hunyuanvideo-tiny")
    gen.add_argument("--models-dir", type=Path, required=True)
    gen.add_argument("--models-file", type=Path)
    gen.add_argument("--size")
    gen.add_argument("--seconds", type=float)
    gen.add_argument("--fps", type=int)
    gen.add_argument("--steps", type=int)
    gen.add_argument("--guidance-scale", type=float)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--image", type=Path, help="the first frame to animate (image-to-video models)")
    gen.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    if args.command == "build-tiny":
        from model.tiny import build_tiny

        print(build_tiny(ModelRegistry.from_file(None).get(args.model), args.out, seed=args.seed))
        return 0

    from model.encoding import encode_mp4
    from model.generation import GenerationRequest, VideoGenerator
    from model.loading import load_pipeline

    spec = ModelRegistry.from_file(args.models_file).get(args.model)
    size = Size.parse(args.size) if args.size else spec.defaults.size
    fps = args.fps or spec.defaults.fps
    request = GenerationRequest(
        prompt=args.prompt,
        width=size.width,
        height=size.height,
        num_frames=frames_for(args.seconds or spec.defaults.seconds, fps),
        num_inference_steps=args.steps or spec.defaults.num_inference_steps,
        guidance_scale=args.guidance_scale if args.guidance_scale is not None else spec.defaults.guidance_scale,
        seed=args.seed,
        image=_first_frame(args.image, size) if args.image else None,
    )
    print(f"{spec.name}: options {spec.options.summary()}", file=sys.stderr)
    generator = VideoGenerator(spec, load_pipeline(spec, args.models_dir, args.device))
    video = generator.generate(request, on_step=lambda done, total: print(f"step {done}/{total}", file=sys.stderr))
    encode_mp4(video.frames, fps, args.output)
    print(f"{args.output}: {video.num_frames} frames, {size}, {fps} fps, seed {video.seed}")
    return 0


def _first_frame(path: Path, size: Size) -> Any:
    """The image to animate, scaled and center-cropped to the video's size."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), (size.width, size.height))


if __name__ == "__main__":
    sys.exit(main())
