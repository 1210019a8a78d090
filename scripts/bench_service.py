"""The service's own overhead (issue 11): the pipeline alone vs end to end through the API, side by side.

    python scripts/bench_service.py                                  # both configurations, every size: ~2.5 min
    python scripts/bench_service.py --configs embedded --repeat 5 --json service.json
    python scripts/bench_service.py --quick --configs embedded       # one small clip, for the test

**What is compared.** For each clip (each size ``hunyuanvideo-tiny`` offers, a clip length, a few steps),
the same request with the same seed is run (a) in this process with ``VideoGenerator.generate`` on a
warm pipeline, and (b) through the real service: ``POST /v1/videos``, then ``GET`` until the client sees
``completed``. The overhead is (b) minus (a): what the service adds to a generation. The runs are
interleaved, a repeat at a time (the order rotating within each repeat), so the machine's drift hits
every column alike; each figure is the median of ``--repeat`` runs after one warm-up round.

**The stages** split each end-to-end run into parts that sum to it exactly, from the client's clocks
and the job's own timestamps (``created_at``, ``started_at``, ``completed_at``: the same machine's
clock) and ``timings`` (``videogen.videos.objects.TimingsObject``):

- submit: the POST until the job's row exists (``created_at``);
- pickup: ``queue_seconds``, the API's commit and nudge, the broker and the worker's claim;
- pipeline: ``gpu_seconds`` in the worker (prompt encoding, denoising, decoding); its difference from
  the pipeline alone is a stage of the overhead of its own (``pipeline_vs_alone``: the worker's run
  beside the API and the client's polls, and the noise of the machine);
- encoding: the MP4, thumbnail and spritesheet; uploading: the three files to storage;
- worker_rest: the rest of the worker's run, claim to ``completed_at`` (the claim's commit, getting the
  warm pipeline, the parts of ``generate`` outside its stages, the heartbeat's checks);
- completion: ``completed_at`` until the client has the ``completed`` video: the completion's commit,
  the wait for the client's next poll and that GET.

The overhead's stages are all of them but the pipeline, plus ``pipeline_vs_alone``; per run they sum
to the overhead up to the timestamps' rounding (0.1 ms in ``timings``). The server-side view is
``completed_at`` minus the POST's start: the same without the client's polling. The service's own
time is end to end minus the worker's own pipeline: every stage but ``pipeline_vs_alone``, the figure
free of the difference between two runs of one pipeline (which on a shared machine swings by
hundreds of milliseconds either way).

**The client** polls every ``--poll-ms`` (20 ms) once the job is due: from its
``estimated_completion_at`` (whole seconds, so up to a second early) or once it is encoding or
uploading; before that every ``--wait-poll-ms`` (250 ms). A poll is a GET the API answers from the
database, and on these 2 cores its CPU is taken from the pipeline: polling every 20 ms all along
(``--wait-poll-ms 0``) slows the worker's CPU-bound VAE decode by 10-15%, which ``pipeline_vs_alone``
shows. A client that polls later than it should shows in ``completion``.

**What runs.** Stacks of the script's own: the API (``videogen serve``) and a GPU worker (``videogen
worker``, which loads and warms up the model before it consumes) started by ``tests.stack.ServiceStack``,
as the test suite starts them; no webhook worker (no endpoint is registered, so a job's end sends
nothing). embedded: a SQLite file, the filesystem broker and local storage in a temporary folder.
production: a scratch PostgreSQL database (dropped at the end), a claimed Redis database (``--redis-url``,
flushed at the end; never 0) and S3 over HTTP on a moto server of the run's own on a free port. The
reconciler is off (``RECONCILE_INTERVAL_SECONDS=0``), every other setting is the service's default.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from benchlib import (
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    ROOT,
    Deployment,
    create_account,
    embedded_deployment,
    prepare,
    production_deployment,
    report_header,
)

sys.path.insert(0, str(ROOT))  # the test suite's stack code (tests/ is not an installed package)

from model import ModelRegistry, frames_for  # noqa: E402
from model.generation import GenerationRequest, VideoGenerator  # noqa: E402
from model.loading import load_pipeline  # noqa: E402
from model.tiny import build_missing  # noqa: E402
from tests.helpers import production_env  # noqa: E402
from tests.stack import ServiceStack, moto_server, videogen_cli  # noqa: E402
from videogen.database import get_engine  # noqa: E402
from videogen.videos.tables import Video  # noqa: E402

MODEL = "hunyuanvideo-tiny"
PROMPT = "a paper boat on a river at dusk"
SEED = 1
CONFIGS = ("embedded", "production")
JOB_DEADLINE_SECONDS = 300.0  # a loaded 2-core machine is several times slower than a quiet one

# The overhead's stages, in the order a job goes through them (see the module's docstring).
OVERHEAD_STAGES = (
    "submit",
    "pickup",
    "pipeline_vs_alone",
    "encoding",
    "uploading",
    "worker_rest",
    "completion",
)
# Per run, the stages sum to the overhead within this (timings are rounded to 0.1 ms; 7 of them).
SUM_TOLERANCE_SECONDS = 0.002


@dataclass(frozen=True)
class Clip:
    """One request, as a client sends it."""

    size: str
    seconds: int
    fps: int
    steps: int

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])

    @property
    def num_frames(self) -> int:
        return frames_for(self.seconds, self.fps)

    @property
    def name(self) -> str:
        return f"{self.size} {self.seconds}s@{self.fps}fps ({self.num_frames} frames), {self.steps} steps"

    @classmethod
    def parse(cls, text: str) -> Clip:
        """``SIZE:SECONDS:FPS:STEPS``, e.g. ``256x256:4:8:4``."""
        size, seconds, fps, steps = text.split(":")
        return cls(size, int(seconds), int(fps), int(steps))

    def body(self) -> dict[str, Any]:
        return {
            "prompt": PROMPT,
            "model": MODEL,
            "size": self.size,
            "seconds": str(self.seconds),
            "fps": self.fps,
            "num_inference_steps": self.steps,
            "seed": SEED,
        }


# Every size hunyuanvideo-tiny offers, 2 s at 8 fps (17 frames), 4 steps: 1-3 s of pipeline on a
# quiet 2-core machine (``--clips`` picks others).
CLIPS = [
    Clip("128x128", 2, 8, 4),
    Clip("256x256", 2, 8, 4),
    Clip("256x144", 2, 8, 4),
    Clip("144x256", 2, 8, 4),
]
# The smallest clip that goes through every stage: a smoke run for tests, not a measurement.
QUICK_CLIPS = [Clip("128x128", 1, 4, 1)]


# --- the stacks ----------------------------------------------------------------------------------


@dataclass
class Target:
    """One configuration's running service, a client for it and a view of its database."""

    name: str
    stack: ServiceStack
    http: httpx.Client
    engine: sa.Engine

    def job_times(self, video_id: str) -> tuple[datetime, datetime, datetime]:
        """The job's ``created_at``, ``started_at`` and ``completed_at`` (the API shows whole seconds)."""
        with self.engine.connect() as conn:
            created, started, completed = conn.execute(
                sa.select(Video.created_at, Video.started_at, Video.completed_at).where(Video.id == video_id)
            ).one()
        assert started is not None and completed is not None, f"{video_id} completed without its times"
        return created, started, completed


def service_settings(models_dir: Path) -> dict[str, str]:
    """What both configurations' processes add to a benchlib deployment: the one model, on the CPU,
    logging at the service's default level (the worker's ``ready.`` line is INFO)."""
    return {
        "VIDEOGEN_MODELS_DIR": str(models_dir),
        "VIDEOGEN_MODELS": json.dumps([MODEL]),
        "VIDEOGEN_DEFAULT_MODEL": MODEL,
        "VIDEOGEN_DEVICE": "cpu",
        "VIDEOGEN_LOG_LEVEL": "INFO",
    }


@contextmanager
def deployment_for(name: str, data_dir: Path, args: argparse.Namespace) -> Iterator[tuple[Deployment, dict[str, str]]]:
    """The configuration ``name``'s deployment and the settings its processes add to it."""
    if name == "embedded":
        with embedded_deployment(data_dir) as deployment:
            yield deployment, {}
        return
    with (
        production_deployment(data_dir, args.postgres_url, args.redis_url) as deployment,
        moto_server(data_dir / "moto.log") as s3_url,
    ):
        settings = production_env(
            deployment.database_url,
            deployment.settings["VIDEOGEN_BROKER_URL"],
            s3_url,
            f"bench-service-{secrets.token_hex(4)}",
        )
        settings.pop("VIDEOGEN_SECRET_KEY")  # the deployment's own
        yield deployment, settings


@contextmanager
def running_target(name: str, root: Path, models_dir: Path, args: argparse.Namespace) -> Iterator[Target]:
    """The configuration ``name``, its API and a warm worker up, with a client on a new organization."""
    data_dir = root / name
    data_dir.mkdir()
    with deployment_for(name, data_dir, args) as (deployment, extra), ExitStack() as cleanup:
        env = deployment.process_env({**service_settings(models_dir), **extra})
        account = prepare(deployment, create_account)
        stack = ServiceStack(name, env, data_dir)
        cleanup.callback(stack.stop)
        print(f"{name}: starting the API and a worker (it warms up before it consumes)", flush=True)
        videogen_cli(env, "db", "upgrade")
        stack.start_api()
        stack.start_worker()
        engine = get_engine(deployment.database_url)
        cleanup.callback(engine.dispose)
        headers = {"Authorization": f"Bearer {account.api_key}"}
        with httpx.Client(base_url=stack.base_url, headers=headers, timeout=60) as http:
            yield Target(name, stack, http, engine)


# --- the measurements ----------------------------------------------------------------------------


@dataclass
class EndToEnd:
    """One job through the API: its seconds from the POST's start, and the stages they split into."""

    video_id: str
    end_to_end_s: float  # until the client had the completed video
    server_end_to_end_s: float  # until completed_at
    stages: dict[str, float]  # submit, pickup, pipeline, encoding, uploading, worker_rest, completion
    timings: dict[str, float | None]


def generation_request(clip: Clip) -> GenerationRequest:
    """The request the worker runs for ``clip``'s body (the API's defaults filled in as it fills them)."""
    spec = ModelRegistry().get(MODEL)
    return GenerationRequest(
        prompt=PROMPT,
        width=clip.width,
        height=clip.height,
        num_frames=clip.num_frames,
        num_inference_steps=clip.steps,
        guidance_scale=spec.defaults.guidance_scale,
        seed=SEED,
    )


@dataclass
class Alone:
    """One generation in this process: its seconds, and its stages' (the worker's ``gpu_seconds`` parts)."""

    seconds: float
    stages: dict[str, float]


def run_pipeline(generator: VideoGenerator, request: GenerationRequest) -> Alone:
    started = time.perf_counter()
    timings = generator.generate(request).timings
    return Alone(time.perf_counter() - started, {stage.value: seconds for stage, seconds in timings.seconds.items()})


@dataclass(frozen=True)
class Polling:
    """How the client waits: every ``tight`` seconds once the job is due (its ``estimated_completion_at``
    has come, in the API's whole seconds, or it is encoding or uploading), every ``waiting`` seconds
    before (0: tight all along)."""

    tight: float
    waiting: float

    def interval(self, video: dict[str, Any]) -> float:
        if not self.waiting or video.get("phase") in ("encoding", "uploading"):
            return self.tight
        due = video.get("estimated_completion_at")
        return self.tight if due is not None and time.time() >= due else self.waiting


def run_end_to_end(target: Target, clip: Clip, polling: Polling) -> EndToEnd:
    """POST the clip, poll until it is completed, and split the time by the job's own record."""
    http = target.http
    posted = time.time()
    created = http.post("/videos", json=clip.body())
    created.raise_for_status()
    video: dict[str, Any] = created.json()
    while video["status"] != "completed":
        if video["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"{target.name}: {video['id']} ended {video['status']}: {video.get('error')}")
        if time.time() - posted > JOB_DEADLINE_SECONDS:
            raise TimeoutError(f"{target.name}: {video['id']} not completed after {JOB_DEADLINE_SECONDS:g} s")
        time.sleep(polling.interval(video))
        video = http.get(f"/videos/{video['id']}").json()
    seen = time.time()
    ran = (video["size"], video["num_frames"], video["num_inference_steps"], video["seed"], video["guidance_scale"])
    request = generation_request(clip)
    alone = (clip.size, request.num_frames, request.num_inference_steps, request.seed, request.guidance_scale)
    assert ran == alone, f"{target.name} ran {ran}, the pipeline alone {alone}"
    created_at, started_at, completed_at = (t.timestamp() for t in target.job_times(video["id"]))
    timings: dict[str, float | None] = video["timings"]
    pipeline, encoding, uploading = (timings[f"{k}_seconds"] or 0.0 for k in ("gpu", "encoding", "uploading"))
    stages = {
        "submit": created_at - posted,
        "pickup": started_at - created_at,
        "pipeline": pipeline,
        "encoding": encoding,
        "uploading": uploading,
        "worker_rest": completed_at - started_at - pipeline - encoding - uploading,
        "completion": seen - completed_at,
    }
    return EndToEnd(video["id"], seen - posted, completed_at - posted, stages, timings)


@dataclass
class Sample:
    """One repeat of one clip in one configuration, beside the same repeat's pipeline alone."""

    clip: str
    config: str
    repeat: int
    pipeline_s: float
    end_to_end_s: float
    server_end_to_end_s: float
    overhead_s: float
    pipeline_stages: dict[str, float]  # the pipeline alone's stages, beside the worker's timings
    overhead_stages: dict[str, float]  # OVERHEAD_STAGES: they sum to overhead_s
    service_s: float  # the overhead's stages but pipeline_vs_alone: end to end - the worker's pipeline
    stages: dict[str, float]
    timings: dict[str, float | None]
    video_id: str


def sample(clip: Clip, config: str, repeat: int, alone: Alone, run: EndToEnd) -> Sample:
    stages, pipeline_s = run.stages, alone.seconds
    overhead_stages = {name: stages[name] for name in OVERHEAD_STAGES if name in stages}
    overhead_stages["pipeline_vs_alone"] = stages["pipeline"] - pipeline_s
    return Sample(
        clip=clip.name,
        config=config,
        repeat=repeat,
        pipeline_s=pipeline_s,
        pipeline_stages=alone.stages,
        end_to_end_s=run.end_to_end_s,
        server_end_to_end_s=run.server_end_to_end_s,
        overhead_s=run.end_to_end_s - pipeline_s,
        overhead_stages={name: overhead_stages[name] for name in OVERHEAD_STAGES},
        service_s=run.end_to_end_s - stages["pipeline"],
        stages=stages,
        timings=run.timings,
        video_id=run.video_id,
    )


def measure(
    clips: list[Clip], targets: list[Target], generator: VideoGenerator, repeat: int, polling: Polling
) -> list[Sample]:
    """One warm-up round, then ``repeat`` rounds: each clip's pipeline alone and its end-to-end run in
    every configuration, in an order that rotates every round."""
    samples: list[Sample] = []
    runners = ["pipeline", *(t.name for t in targets)]
    by_name = {t.name: t for t in targets}
    for round_ in range(repeat + 1):
        warm_up = round_ == 0
        for clip in clips:
            request = generation_request(clip)
            order = runners[round_ % len(runners) :] + runners[: round_ % len(runners)]
            alone = Alone(0.0, {})
            runs: dict[str, EndToEnd] = {}
            for runner in order:
                if runner == "pipeline":
                    alone = run_pipeline(generator, request)
                else:
                    runs[runner] = run_end_to_end(by_name[runner], clip, polling)
            label = "warm-up" if warm_up else f"repeat {round_}/{repeat}"
            results = ", ".join(f"{name} {run.end_to_end_s:.2f} s" for name, run in runs.items())
            print(f"{label}: {clip.name}: pipeline {alone.seconds:.2f} s, {results}", flush=True)
            if not warm_up:
                samples.extend(sample(clip, name, round_, alone, run) for name, run in runs.items())
    return samples


# --- the report ----------------------------------------------------------------------------------


def summarize(clips: list[Clip], configs: list[str], samples: list[Sample]) -> list[dict[str, Any]]:
    """Per clip and configuration, the medians of the samples: seconds, the overhead in ms and % of
    the pipeline alone, and each stage of the overhead in ms."""
    rows: list[dict[str, Any]] = []
    for clip in clips:
        for config in configs:
            group = [s for s in samples if s.clip == clip.name and s.config == config]
            if not group:
                continue
            pipeline = statistics.median(s.pipeline_s for s in group)
            overhead = statistics.median(s.overhead_s for s in group)
            server_overhead = statistics.median(s.server_end_to_end_s - s.pipeline_s for s in group)
            service = statistics.median(s.service_s for s in group)
            rows.append(
                {
                    "clip": clip.name,
                    "config": config,
                    "samples": len(group),
                    "pipeline_s": round(pipeline, 4),
                    "end_to_end_s": round(statistics.median(s.end_to_end_s for s in group), 4),
                    "overhead_ms": round(overhead * 1000, 1),
                    "overhead_pct": round(100 * overhead / pipeline, 2),
                    "server_overhead_ms": round(server_overhead * 1000, 1),
                    "server_overhead_pct": round(100 * server_overhead / pipeline, 2),
                    "service_ms": round(service * 1000, 1),
                    "service_pct": round(100 * service / pipeline, 2),
                    "stages_ms": {
                        name: round(statistics.median(s.overhead_stages[name] for s in group) * 1000, 1)
                        for name in OVERHEAD_STAGES
                    },
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    stage_heads = " | ".join(OVERHEAD_STAGES)
    print(
        "| clip | config | pipeline s | end to end s | overhead ms | % | server-side ms | % "
        f"| service's own ms | % | {stage_heads} (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(OVERHEAD_STAGES))
    for row in rows:
        stages = " | ".join(f"{row['stages_ms'][name]:.0f}" for name in OVERHEAD_STAGES)
        print(
            f"| {row['clip']} | {row['config']} | {row['pipeline_s']:.2f} | {row['end_to_end_s']:.2f} "
            f"| {row['overhead_ms']:.0f} | {row['overhead_pct']:.1f}% | {row['server_overhead_ms']:.0f} "
            f"| {row['server_overhead_pct']:.1f}% | {row['service_ms']:.0f} | {row['service_pct']:.1f}% | {stages} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="embedded, production or both (default)")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds after the warm-up (default 3)")
    parser.add_argument("--quick", action="store_true", help="one small clip, 2 rounds: a smoke run (for tests)")
    parser.add_argument(
        "--clips",
        type=lambda text: [Clip.parse(c) for c in text.split(",")],
        help="SIZE:SECONDS:FPS:STEPS,... instead of every size at 2 s, 8 fps, 4 steps",
    )
    parser.add_argument("--poll-ms", type=float, default=20.0, help="the client's polling once a job is due (20)")
    parser.add_argument(
        "--wait-poll-ms",
        type=float,
        default=250.0,
        help="the client's polling before a job's estimated completion (default 250; 0: --poll-ms all along)",
    )
    parser.add_argument("--json", type=Path, help="also write the report (every sample included) here")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, help="a PostgreSQL URL that may create databases")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a private Redis database (never 0), flushed at the end")
    args = parser.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not configs or set(configs) - set(CONFIGS):
        parser.error(f"--configs: a comma-separated list of {', '.join(CONFIGS)}")
    clips = args.clips or (QUICK_CLIPS if args.quick else CLIPS)
    repeat = 2 if args.quick else args.repeat
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    # A SIGTERM unwinds like Ctrl-C does, so every process, database and folder is cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-service-")))
        models_dir = root / "models"
        spec = ModelRegistry().get(MODEL)
        print(f"building {MODEL} into {models_dir}", flush=True)
        build_missing([spec], models_dir)
        targets = [cleanup.enter_context(running_target(name, root, models_dir, args)) for name in configs]
        print("loading the pipeline in this process", flush=True)
        generator = VideoGenerator(spec, load_pipeline(spec, models_dir, "cpu"))
        started = time.monotonic()
        polling = Polling(args.poll_ms / 1000, args.wait_poll_ms / 1000)
        samples = measure(clips, targets, generator, repeat, polling)
        elapsed = time.monotonic() - started

    rows = summarize(clips, configs, samples)
    print()
    print_table(rows)
    print(
        f"\nmedians of {repeat} rounds (after a warm-up) in {elapsed:.0f} s; overhead = end to end - pipeline alone; "
        f"server-side = completed_at - POST; the client polls every {args.wait_poll_ms:g} ms, every "
        f"{args.poll_ms:g} ms once a job is due"
    )
    if args.json:
        report = report_header(
            args,
            model=MODEL,
            clips=[{**asdict(c), "name": c.name, "num_frames": c.num_frames} for c in clips],
            overhead_stages=list(OVERHEAD_STAGES),
            sum_tolerance_seconds=SUM_TOLERANCE_SECONDS,
            rows=rows,
            samples=[asdict(s) for s in samples],
        )
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.json}")


if __name__ == "__main__":
    main()
