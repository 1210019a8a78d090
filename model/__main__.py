"""Use the model layer on its own, without the service::

python -m model build-tiny ./models/hunyuanvideo-tiny
python -m model generate "a cat" --models-dir ./models -o cat.mp4 --seed 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.registry import ModelRegistry
from model.spec import Size, frames_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build-tiny", help="write hunyuanvideo-tiny (random weights) to a directory")
    build.add_argument("out", type=Path)
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
    gen.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    if args.command == "build-tiny":
        from model.tiny import build_tiny_model

        print(build_tiny_model(args.out, seed=args.seed))
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
    )
    generator = VideoGenerator(spec, load_pipeline(spec, args.models_dir, args.device))
    video = generator.generate(request, on_step=lambda done, total: print(f"step {done}/{total}", file=sys.stderr))
    encode_mp4(video.frames, fps, args.output)
    print(f"{args.output}: {video.num_frames} frames, {size}, {fps} fps, seed {video.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
